"""Test harness: real Asterisk, PostgreSQL, `hotline serve` and SIPp, with deadline-based waits."""
