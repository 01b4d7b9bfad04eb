"""Unified return visits (统一回访): the app calls the citizen back about a replied work order."""
