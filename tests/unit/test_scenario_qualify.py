"""When the runner takes a department line for qualified: not on answers to OPTIONS the target
sent before the peer listened (retransmissions of qualifies that had already timed out)."""

from __future__ import annotations

from datetime import datetime

from ari_app.scenarios.qualify import options_times, qualified


def _trace(*entries: tuple[str, str]) -> str:
    blocks = []
    for stamp, first_line in entries:
        blocks.append(f"----------------------------------------------- 2026-11-30 {stamp}\n"
                      f"UDP message received [415] bytes :\n\n{first_line}\nCall-ID: x\n\n")
    blocks.append("----------------------------------------------- 2026-11-30 19:18:28.300000\n"
                  "UDP message sent (346 bytes):\n\nOPTIONS sip:12333@127.0.0.1:5099 SIP/2.0\n\n")
    return "".join(blocks)


def _at(stamp: str) -> float:
    return datetime.strptime(f"2026-11-30 {stamp}", "%Y-%m-%d %H:%M:%S.%f").timestamp()


def test_options_times_reads_received_options_of_the_line_only() -> None:
    trace = _trace(("19:18:27.307708", "OPTIONS sip:12319@127.0.0.1:5099 SIP/2.0"),
                   ("19:18:28.290113", "OPTIONS sip:12333@127.0.0.1:5099 SIP/2.0"),
                   ("19:18:29.000000", "INVITE sip:12333@127.0.0.1:5099 SIP/2.0"))
    assert options_times(trace, "12333") == [_at("19:18:28.290113")]
    assert options_times("", "12333") == []


def test_retransmissions_right_after_the_peer_started_do_not_count() -> None:
    # The failing run: the peer listened at 27.3; old qualifies' retransmissions came at 28.3,
    # 29.3, 30.3 and 31.3 (the old rule, two OPTIONS seen, called at 28.3: the line was still
    # unreachable until the fresh qualify of 30.8 was answered).
    listening = _at("19:18:27.300000")
    early = [_at(s) for s in ("19:18:28.290113", "19:18:29.287175", "19:18:30.290311", "19:18:30.788463",
                              "19:18:31.287834")]
    assert not qualified(early, listening)
    assert not qualified([*early, _at("19:18:35.787861")], listening), "one fresh OPTIONS: asked again?"
    assert qualified([*early, _at("19:18:35.787861"), _at("19:18:40.787478")], listening)


def test_nothing_received_is_not_qualified() -> None:
    assert not qualified([], 0.0)
