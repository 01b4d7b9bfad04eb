"""Satisfaction surveys by phone: the rating after a call (and, later, the return visit's)."""
