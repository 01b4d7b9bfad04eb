"""The queue survives `hotline serve` being killed, and holds a burst of callers."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta

from tests.harness.agents import AgentSpec, agents_state
from tests.harness.records import calls_from, timed_events
from tests.harness.wait import wait_for
from tests.integration.conftest import QueueStack


def test_sigkill_restart_keeps_waiting_order_and_the_talking_pair(queue_stack: Callable[..., QueueStack]) -> None:
    q = queue_stack([AgentSpec("1001", phone="answer-wait-bye"), AgentSpec("1002", hold_ms=700)])
    q.login("1001")
    talking, talking_sipp = q.call(listen_ms=40000)  # stays with agent 1001 until it hangs up at 40 s
    assert q.wait_event(talking, "agent_connected")["detail"]["agent"] == "1001"
    # Three callers, each dialling once the one before is answered: they hear the greeting together
    # and queue in that order (one after the other, each would cost the greeting's 8 s of the 40).
    waiting = []
    for _ in range(3):
        caller, sipp = q.call()
        wait_for(lambda c=caller: q.stack.ari.answered_caller(c), 10, f"Asterisk to answer {caller}", interval=0.05)
        waiting.append((caller, sipp))
    for caller, _ in waiting:
        q.wait_event(caller, "queued")

    q.serve.kill()  # SIGKILL: no goodbye, no cleanup
    bridge = f"talk-{calls_from(q.dsn, talking)[-1]['call_id']}"
    assert len(q.stack.ari.get(f"/bridges/{bridge}")["channels"]) == 2
    q.serve.start()
    q.serve.wait_ready(20)

    # Everybody is still there: the talking pair in its bridge, the three callers on the line.
    assert len(q.stack.ari.get(f"/bridges/{bridge}")["channels"]) == 2
    assert talking_sipp.process.poll() is None and all(s.process.poll() is None for _, s in waiting)
    assert agents_state(q.serve.http)["1001"]["state"] == "busy"

    q.login("1002")
    for _caller, sipp in waiting:
        assert sipp.wait(60).returncode == 0
    connected = [q.wait_event(c, "agent_connected") for c, _ in waiting]
    assert [e["detail"]["agent"] for e in connected] == ["1002"] * 3
    assert [e["at"] for e in connected] == sorted(e["at"] for e in connected), "original order lost"
    for caller, _ in waiting:
        kinds = [e["kind"] for e in q.events(caller)]
        assert "readopted" in kinds and q.record(caller)["outcome"] == "answered"

    assert talking_sipp.wait(60).returncode == 0  # the caller hung up at 40 s, as planned
    record = q.record(talking)
    assert record["outcome"] == "answered"
    assert record["ended_at"] - record["started_at"] >= timedelta(seconds=39)


def test_a_second_conversation_has_a_bridge_of_its_own_and_survives_a_restart(
    queue_stack: Callable[..., QueueStack],
) -> None:
    q = queue_stack([AgentSpec("1001", phone="answer-wait-bye"),
                     AgentSpec("2001", phone="answer-wait-bye", groups=("transport-experts",),
                               skills={"general": 3, "transport": 5})])
    q.login("1001")
    caller, sipp = q.call(listen_ms=25000)  # hangs up at 25 s
    assert q.wait_event(caller, "agent_connected")["detail"]["agent"] == "1001"
    q.login("2001")
    call_id = calls_from(q.dsn, caller)[-1]["call_id"]
    status, _ = q.serve.send("POST", f"/calls/{call_id}/escalate", {"group": "transport-experts"})
    assert status == 202

    def connected() -> list[str]:
        return [e["detail"]["agent"] for e in timed_events(q.dsn, call_id) if e["kind"] == "agent_connected"]

    wait_for(lambda: connected() == ["1001", "2001"], 30, "the expert talking")
    second = f"talk-{call_id}~2"  # the first conversation's bridge id is never taken again
    assert len(q.stack.ari.get(f"/bridges/{second}")["channels"]) == 2
    assert all(b["id"] != f"talk-{call_id}" for b in q.stack.ari.get("/bridges"))

    q.serve.kill()
    q.serve.start()
    q.serve.wait_ready(20)
    assert len(q.stack.ari.get(f"/bridges/{second}")["channels"]) == 2
    assert agents_state(q.serve.http)["2001"]["state"] == "busy"

    assert sipp.wait(60).returncode == 0
    kinds = [e["kind"] for e in q.events(caller)]
    assert "conversation_resumed" in kinds and "caller_hung_up" in kinds, kinds
    assert q.record(caller)["outcome"] == "answered"
    wait_for(lambda: agents_state(q.serve.http)["2001"]["state"] != "busy", 10, "2001 free again")


def test_burst_of_30_callers_and_10_agents(queue_stack: Callable[..., QueueStack]) -> None:
    agents = [AgentSpec(str(1001 + i), hold_ms=1500) for i in range(10)]
    q = queue_stack(agents, wrap_up=0)
    q.login(*(a.id for a in agents))
    calls = [q.call(listen_ms=90000) for _ in range(30)]
    for _caller, sipp in calls:
        result = sipp.wait(120)
        assert result.returncode == 0, result.output[-1500:]
    per_agent: dict[str, list[tuple[float, float]]] = {}
    for caller, _ in calls:
        record = q.record(caller)
        assert record["outcome"] == "answered", record
        events = timed_events(q.dsn, record["call_id"])
        connected = [e for e in events if e["kind"] == "agent_connected"]
        assert len(connected) == 1, f"{caller} answered {len(connected)} times"
        agent = connected[0]["detail"]["agent"]
        end = next(e["at"] for e in events if e["kind"] in ("agent_hung_up", "caller_hung_up"))
        per_agent.setdefault(agent, []).append((connected[0]["at"].timestamp(), end.timestamp()))
    assert sum(len(v) for v in per_agent.values()) == 30
    for agent, spans in per_agent.items():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end, f"agent {agent} double-booked: {spans}"
    wait_for(lambda: all(a["state"] == "ready" for a in agents_state(q.serve.http).values()), 10, "agents ready")
