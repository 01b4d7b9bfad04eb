"""ari_app.ami.security: failed SIP authentications counted per kind, account and address, 24 hours."""

from __future__ import annotations

from ari_app.ami.security import SecurityFailures, address_of


def test_counts_by_kind_account_and_address_and_forgets_after_a_day() -> None:
    failures = SecurityFailures()
    failures.add(1000.0, "ChallengeResponseFailed", "agent-1001", "198.18.77.9")
    failures.add(1001.0, "ChallengeResponseFailed", "agent-1001", "127.0.0.1")
    failures.add(1002.0, "InvalidAccountID", "", "198.18.77.9")
    summary = failures.summary(1003.0)
    assert summary == {"last_24h": 3, "since_start": 3,
                       "by_kind": {"ChallengeResponseFailed": 2, "InvalidAccountID": 1},
                       "by_account": {"agent-1001": 2}, "by_address": {"198.18.77.9": 2, "127.0.0.1": 1}}
    later = failures.summary(1001.5 + 24 * 3600)
    assert later["last_24h"] == 1 and later["since_start"] == 3 and later["by_kind"] == {"InvalidAccountID": 1}


def test_address_of_a_remote_address() -> None:
    assert address_of("IPV4/UDP/198.18.77.9/5060") == "198.18.77.9"
    assert address_of("IPV6/UDP/::1/5060") == "::1"
    assert address_of("odd") == "odd"
