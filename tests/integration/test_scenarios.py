"""Every folder under tests/scenarios/ is a SIPp call against the real Asterisk and `hotline serve`,
checked against its expect.yaml (see tests/scenarios/README.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ari_app.sandbox.proc import free_port_both
from tests.harness.records import call_events, closed_call_from
from tests.harness.rtp import RtpSink
from tests.harness.services import ServeProcess, Stack
from tests.harness.sipp import SCENARIOS, start_sipp, with_timing
from tests.harness.wait import wait_for

SCENARIO_DIRS = sorted(p for p in SCENARIOS.iterdir() if (p / "scenario.xml").exists())


def _in_order(wanted: list[str], seen: list[str]) -> bool:
    it = iter(seen)
    return all(any(kind == w for kind in it) for w in wanted)


@pytest.mark.parametrize("folder", SCENARIO_DIRS, ids=[p.name for p in SCENARIO_DIRS])
def test_scenario(folder: Path, live: ServeProcess, stack: Stack, postgres: Any, artifacts: Path,
                  caller_number: str) -> None:
    expect = yaml.safe_load((folder / "expect.yaml").read_text(encoding="utf-8"))
    sink = RtpSink().start()
    try:
        call = start_sipp(
            with_timing(folder / "scenario.xml", artifacts / "sipp", listen_ms=int(expect.get("listen_ms", 30000))),
            target_port=stack.asterisk.sip_port,
            local_port=free_port_both(),
            service=str(expect["dial"]),
            trace_dir=artifacts / "sipp",
            keys={"caller": caller_number, "rtp_port": str(sink.port)},
        )
        result = call.wait(60)
    finally:
        sink.stop()
    assert result.returncode == expect.get("sipp_exit", 0), result.output[-2000:] + result.message_log()[-3000:]

    record = wait_for(lambda: closed_call_from(postgres.dsn, caller_number), 10, "the closed call record")
    for field, value in expect.get("record", {}).items():
        assert record[field] == value, f"record.{field}: {record[field]!r} != {value!r} in {record}"
    assert record["answered_at"] is not None

    events = call_events(postgres.dsn, record["call_id"])
    kinds = [e["kind"] for e in events]
    assert _in_order(expect.get("events", []), kinds), f"events {kinds} lack {expect['events']} in order"
    if "prompt" in expect:
        prompts = [e["detail"] for e in events if e["kind"] == "prompt"]
        assert {"name": expect["prompt"], "completed": True} in prompts, prompts
    min_voiced = float(expect.get("min_voiced_seconds", 0))
    assert sink.voiced_seconds >= min_voiced, (
        f"caller heard {sink.voiced_seconds:.2f}s of audio ({sink.packets} RTP packets), expected >= {min_voiced}s"
    )
