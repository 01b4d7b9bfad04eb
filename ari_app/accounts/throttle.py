"""Slowing down password guessing at ``POST /login``: a pure decision, no I/O.

Failed logins are counted per account name and per client address within a window. When either
count reaches its limit, further attempts with that name (or from that address) are refused for
a lockout that doubles with each lockout in a row, up to a ceiling, without checking the password
(an argon2 check costs real CPU: a guesser must not be able to spend it). A successful login
clears the name's count. The table is bounded: the oldest keys are forgotten first, so a flood of
made-up names cannot grow memory without end.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ThrottlePolicy:
    name_failures: int = 5  # failed logins for one name within the window before it is locked
    address_failures: int = 30  # from one address (an office behind one NAT makes more honest mistakes)
    window_seconds: float = 300.0
    lockout_seconds: float = 60.0  # the first lockout; each one in a row doubles it
    max_lockout_seconds: float = 900.0
    max_keys: int = 10_000


@dataclass
class _Record:
    failures: list[float] = field(default_factory=list)  # times of failures within the window
    locked_until: float = 0.0
    lockouts: int = 0  # lockouts in a row (cleared by a success or a quiet window)


class LoginThrottle:
    def __init__(self, policy: ThrottlePolicy | None = None) -> None:
        self.policy = policy or ThrottlePolicy()
        self._records: OrderedDict[tuple[str, str], _Record] = OrderedDict()

    def wait_seconds(self, name: str, address: str, now: float) -> float:
        """How long before ``name`` may try again from ``address``: 0 when it may now."""
        waits = [record.locked_until - now for record in self._lookup(name, address) if record.locked_until > now]
        return max(waits, default=0.0)

    def failed(self, name: str, address: str, now: float) -> float:
        """Count a failed login; the lockout it starts in seconds (0 when none)."""
        started = 0.0
        for key, limit in ((("name", name), self.policy.name_failures),
                           (("address", address), self.policy.address_failures)):
            record = self._record(key)
            record.failures = [t for t in record.failures if now - t < self.policy.window_seconds]
            if not record.failures and record.locked_until <= now - self.policy.window_seconds:
                record.lockouts = 0  # a quiet window: start over
            record.failures.append(now)
            if len(record.failures) >= limit:
                seconds = min(self.policy.lockout_seconds * 2 ** record.lockouts, self.policy.max_lockout_seconds)
                record.locked_until, record.lockouts, record.failures = now + seconds, record.lockouts + 1, []
                started = max(started, seconds)
        return started

    def succeeded(self, name: str) -> None:
        self._records.pop(("name", name), None)

    def _lookup(self, name: str, address: str) -> list[_Record]:
        return [r for r in (self._records.get(("name", name)), self._records.get(("address", address))) if r]

    def _record(self, key: tuple[str, str]) -> _Record:
        record = self._records.pop(key, None) or _Record()
        self._records[key] = record  # most recently used last
        while len(self._records) > self.policy.max_keys:
            self._records.popitem(last=False)
        return record
