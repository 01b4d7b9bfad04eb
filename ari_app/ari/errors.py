"""Errors raised by the ARI client. Their text names the operation, never a credential."""

from __future__ import annotations


class AriError(Exception):
    """An ARI request failed: ``status`` is the HTTP status, 0 when Asterisk was not reached."""

    def __init__(self, operation: str, status: int, detail: str) -> None:
        self.operation = operation
        self.status = status
        self.detail = detail
        super().__init__(f"ARI {operation} failed ({status or 'unreachable'}): {detail}")


class AriTimeout(AriError):
    """Asterisk did not answer within the request's time (status 0). Unlike a refused connection, the
    request may have reached Asterisk and may still be carried out: an overloaded Asterisk runs a
    channel's commands late, in the order they came."""


class AriNotFound(AriError):
    """The channel, bridge or playback is gone (404), usually because the caller hung up."""


class AriUnauthorized(AriError):
    """Asterisk refused the ARI user or password (401)."""
