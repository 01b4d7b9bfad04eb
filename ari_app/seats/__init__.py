"""Seats: the 12345 agents, their groups and skills (config/seats.yaml)."""
