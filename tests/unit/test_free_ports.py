"""Free ports for the sandbox and the tests: chosen below the ephemeral range, never twice in a
process, and from HOTLINE_FREE_PORTS when set (each test process side by side has its own range)."""

from __future__ import annotations

import pytest

from ari_app.sandbox import proc


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ports handed out by other tests of this process do not count here."""
    monkeypatch.setattr(proc, "_issued", set())


def test_ports_come_from_the_range_set_and_are_not_handed_out_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(proc.PORTS_ENV, "26000-26100")
    ports = [proc.free_port() for _ in range(20)]
    assert all(26000 <= p < 26100 for p in ports)
    assert len(set(ports)) == 20


@pytest.mark.parametrize("raw", ["", "junk", "20000-10000", "80-90", "30000-40000", "10000-"])
def test_an_unsound_range_falls_back_to_the_default(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(proc.PORTS_ENV, raw)
    assert proc.port_range() == (10000, 20000)


def test_a_block_is_handed_out_whole_and_misses_ports_handed_out_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(proc.PORTS_ENV, "26100-26300")
    earlier = {proc.free_port() for _ in range(10)}  # e.g. phones' SIP ports, bound only later
    for _ in range(5):
        start = proc.free_port_block(4)
        block = set(range(start, start + 4))
        assert not block & earlier
        earlier |= block
    assert all(proc.free_port() not in earlier for _ in range(5))  # the blocks are never handed out again
