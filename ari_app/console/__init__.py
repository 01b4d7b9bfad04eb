"""The web console: agent desk, department desk and supervisor wallboard, served by the service."""
