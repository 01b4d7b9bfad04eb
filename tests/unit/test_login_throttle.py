"""The login throttle's decisions: counts per name and per address, doubling lockouts, the bound."""

from __future__ import annotations

from ari_app.accounts.throttle import LoginThrottle, ThrottlePolicy

POLICY = ThrottlePolicy(name_failures=3, address_failures=5, window_seconds=100, lockout_seconds=10,
                        max_lockout_seconds=35, max_keys=50)


def test_a_name_is_locked_after_its_failures_and_the_lockout_doubles_to_the_ceiling() -> None:
    guard = LoginThrottle(POLICY)
    assert [guard.failed("zhao", "10.0.0.1", t) for t in (0, 1)] == [0, 0]
    assert guard.wait_seconds("zhao", "10.0.0.1", 1.5) == 0
    assert guard.failed("zhao", "10.0.0.1", 2) == 10
    assert guard.wait_seconds("zhao", "10.0.0.9", 5) == 7  # the name, from any address
    assert guard.wait_seconds("li", "10.0.0.1", 5) == 0  # another name from the same address: free
    assert guard.wait_seconds("zhao", "10.0.0.1", 12) == 0
    lockouts = []
    now = 12.0
    for round_ in range(3):  # each lockout in a row doubles: 20, 40 -> the ceiling 35
        for _ in range(3):
            lockouts.append(guard.failed("zhao", f"10.0.1.{round_}", now))
            now += 1
        now += 40
    assert [x for x in lockouts if x] == [20, 35, 35]


def test_failures_outside_the_window_do_not_count_and_a_quiet_window_starts_over() -> None:
    guard = LoginThrottle(POLICY)
    guard.failed("zhao", "a", 0)
    guard.failed("zhao", "a", 50)
    assert guard.failed("zhao", "a", 120) == 0  # the first one is out of the window
    assert guard.failed("zhao", "a", 121) == 10
    for t in (400, 401):
        guard.failed("zhao", "a", t)
    assert guard.failed("zhao", "a", 402) == 10, "after a quiet window the lockout starts small again"


def test_success_clears_the_name() -> None:
    guard = LoginThrottle(POLICY)
    guard.failed("zhao", "a", 0)
    guard.failed("zhao", "a", 1)
    guard.succeeded("zhao")
    assert guard.failed("zhao", "a", 2) == 0


def test_an_address_spraying_names_is_locked_for_every_name() -> None:
    guard = LoginThrottle(POLICY)
    started = [guard.failed(f"user{i}", "10.9.9.9", i) for i in range(5)]
    assert started == [0, 0, 0, 0, 10]
    assert guard.wait_seconds("sup-zhao", "10.9.9.9", 6) == 8
    assert guard.wait_seconds("sup-zhao", "10.0.0.1", 6) == 0


def test_the_table_stays_bounded() -> None:
    guard = LoginThrottle(POLICY)
    for i in range(1000):
        guard.failed(f"made-up-{i}", f"10.0.{i // 250}.{i % 250}", i * 0.001)
    assert len(guard._records) <= POLICY.max_keys
