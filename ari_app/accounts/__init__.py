"""Accounts and roles: who may log in, with which role, and their sessions.

A lower layer: it knows nothing of work orders, the ACD or HTTP; those ask it who a caller is.
"""
