"""Queue callback: a caller who waited long presses 1, keeps the place and hangs up; when the turn
comes the agent is connected first, hears who is called back, then the caller is dialled."""
