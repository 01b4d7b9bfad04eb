"""Local Asterisk and PostgreSQL for development, ``scripts/up`` and the test suite."""
