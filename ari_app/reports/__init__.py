"""Reports from the records (``hotline report ...``).

The arithmetic is pure (:mod:`.staffing`, :mod:`.orders`): it takes the registry, the seats and the
facts read from PostgreSQL; :mod:`.queries` reads those facts, :mod:`.table` prints the result.
"""
