"""``hotline doctor``: check a live deployment and say what to fix.

:mod:`.checks` and :mod:`.service_checks` are pure functions from what was observed (Asterisk CLI
output, an HTTP status, an exception) to a :class:`~.model.Check`; :mod:`.probe` observes (AMI, ARI,
TCP, PostgreSQL) and :mod:`.runner` puts the two together.
"""
