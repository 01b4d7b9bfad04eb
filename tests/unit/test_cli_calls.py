"""`hotline calls --events` without --json prints each call's events under its row."""

from __future__ import annotations

from ari_app.cli_calls import format_calls

RECORD = {"started_at": "2026-11-30 16:00:00.123456+00:00", "hotline": "12345", "caller": "13700000001",
          "route": "intake", "outcome": "answered", "call_id": "c-1"}
EVENTS = [{"at": "2026-11-30T16:00:00.200000+00:00", "kind": "queued", "detail": {"position": 1}},
          {"at": "2026-11-30T16:00:03.500000+00:00", "kind": "agent_answered", "detail": {"agent": "1001"}}]


def test_events_are_printed_in_the_table() -> None:
    text = format_calls([{**RECORD, "events": EVENTS}], events=True)
    lines = text.splitlines()
    assert lines[1].endswith("c-1") and "answered" in lines[1]
    assert "queued" in lines[2] and "position=1" in lines[2] and lines[2].startswith("    16:00:00.200")
    assert "agent_answered" in lines[3] and "agent=1001" in lines[3]
    assert "queued" not in format_calls([RECORD], events=False)
    assert "(no events)" in format_calls([{**RECORD, "events": []}], events=True)
    assert format_calls([], events=True) == "no calls recorded"
