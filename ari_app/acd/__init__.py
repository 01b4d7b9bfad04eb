"""Automatic call distribution: agents, the queue, who gets which call, and the figures."""
