"""Scenario steps: how expect.yaml writes them (problems with file, line and field), and the pure
parts of running them (keywords, answer fields, call records)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ari_app.configcheck.problems import ConfigError
from ari_app.scenarios.command import CATALOGUE, PEERS
from ari_app.scenarios.loader import load_catalogue, load_scenario
from ari_app.scenarios.model import CallStep, HttpStep, Login, LogInStep, RecordStep
from ari_app.scenarios.records import CallSeen
from ari_app.scenarios.steps import mismatches, pick, record_matches, status_ok, substitute

GOOD = """\
description: A callback, then an order.
dial: "12345"
caller: caller-presses-key.xml
agents:
  - {id: "1001", log_in: later, rings: 1}
citizen: {phone: answer-press-key.xml, rings: 1, values: {key_after_ms: 500}}
needs: callback_after 3
steps:
  - call
  - log_in: "1001"
  - record: {route: callback, outcome: answered}
    events: [callback_agent_answered, agent_connected]
    within: 30
  - http: POST /work-orders
    as: agent 1001
    body: {caller: "[caller]", urgent: true, count: 2, tags: [a, b], note: null}
    status: 201
    keep: {order: number}
  - http: GET /work-orders/[order]
    as: department human-resources
    expect: {state: closed, rework_count: 1}
    until: 15
"""


def _folder(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "expect.yaml").write_text(text, encoding="utf-8")
    return folder


def _problems(tmp_path: Path, text: str) -> list[str]:
    folder = _folder(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_scenario(folder, PEERS)
    return [line.replace(str(folder / "expect.yaml"), "F") for line in str(caught.value).splitlines()]


def test_steps_read_in_order_with_peers_that_wait(tmp_path: Path) -> None:
    s = load_scenario(_folder(tmp_path, GOOD), PEERS)
    assert s.agents[0].log_in_at_start is False and s.citizen is not None and s.citizen.rings == 1
    assert dict(s.citizen.values) == {"key_after_ms": "500"} and s.needs == "callback_after 3" and s.exclusive
    call, log_in, record, post, get = s.steps
    assert call == CallStep() and log_in == LogInStep("1001", "log in 1001") and s.calls
    assert record == RecordStep((("route", "callback"), ("outcome", "answered")), "record route=callback, "
                                "outcome=answered", ("callback_agent_answered", "agent_connected"), 30.0)
    assert isinstance(post, HttpStep) and (post.method, post.path, post.status) == ("POST", "/work-orders", 201)
    assert post.login == Login("agent", agent="1001") and post.login.name == "scenario-agent-1001"
    assert post.body == {"caller": "[caller]", "urgent": True, "count": 2, "tags": ["a", "b"], "note": None}
    assert isinstance(get, HttpStep) and get.login.name == "scenario-department-human-resources"
    assert get.expect == (("state", "closed"), ("rework_count", "1")) and get.until == 15.0


def test_a_scenario_of_http_steps_only_needs_no_dial(tmp_path: Path) -> None:
    text = "description: x\nsteps:\n  - http: GET /me\n    as: supervisor\n"
    s = load_scenario(_folder(tmp_path, text), PEERS)
    assert not s.calls and s.expect.dial == "" and not s.exclusive
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "expect.yaml").write_text('description: x\ndial: "12345"\ncaller: caller-listens.xml\n',
                                                encoding="utf-8")
    assert load_scenario(tmp_path / "t", PEERS).steps == (CallStep(),)


def test_bad_steps_are_named_by_line_and_field(tmp_path: Path) -> None:
    text = (GOOD.replace("log_in: later", "log_in: afterwards").replace("as: agent 1001", "as: agent")
            .replace("GET /work-orders/[order]", "GET /work-orders/[ordre]").replace("until: 15", "until: soon")
            .replace("  - call\n", "  - call\n  - call\n  - {http: GET /me, record: {route: x}}\n  - wait: 3\n"))
    lines = _problems(tmp_path, text)
    assert "F:5: agents[0].log_in: expected `start` (before the call, the default) or `later` (at a `log_in` " \
           "step), got 'afterwards'" in lines, lines
    assert "F:10: steps[1]: the caller calls once: at most one `call` step" in lines
    assert "F:11: steps[2]: a step has exactly one of log_in, http, record (found: http, record)" in lines
    assert any(line.startswith("F:12: steps[3]: a step has exactly one of") for line in lines)
    assert "F:13: steps[4].log_in: agent 1001 is not among `agents` with `log_in: later`" in lines
    assert "F:18: steps[6].as: an agent is `agent <seat id>`, e.g. `agent 1001`" in lines
    assert any(line.startswith("F:22: steps[7].http: [ordre] is not known here") for line in lines)
    assert any(line.startswith("F:25: steps[7].until: expected a number of seconds") for line in lines)


def test_more_bad_steps(tmp_path: Path) -> None:
    text = ("description: x\ndial: \"12345\"\nagents:\n  - {id: \"1001\", log_in: later}\nsteps:\n"
            "  - log_in: \"1002\"\n  - http: FETCH /x\n    as: boss\n  - http: GET /x\n    as: supervisor\n"
            "    until: 3\n  - record: {agent: x}\n  - 5\n")
    lines = _problems(tmp_path, text)
    assert "F:6: steps[0].log_in: agent 1002 is not among `agents` with `log_in: later`" in lines, lines
    assert "F:7: steps[1].http: must be METHOD /path, e.g. POST /work-orders, got 'FETCH /x'" in lines
    assert "F:8: steps[1].as: unknown role 'boss': one of agent, department, supervisor, admin" in lines
    assert any(line.startswith("F:11: steps[2].until: `until` repeats the request") for line in lines)
    assert any(line.startswith("F:12: steps[3].record.agent: not a call record field") for line in lines)
    assert any(line.startswith("F:13: steps[4]: expected `call` or a mapping") for line in lines)
    assert any("agent 1001 has `log_in: later` but no `log_in: \"1001\"` step" in line for line in lines)


def test_keywords_answer_fields_and_statuses() -> None:
    assert substitute({"a": ["[caller] x", 3], "b": "[unknown]"}, {"caller": "139"}) == {"a": ["139 x", 3],
                                                                                      "b": "[unknown]"}
    answer = {"state": "closed", "overdue": False, "history": [{"action": "reply"}, {"action": "close"}]}
    assert pick(answer, "history.-1.action") == "close" and pick(answer, "history.0.action") == "reply"
    assert mismatches(answer, (("state", "closed"), ("overdue", "false"), ("history.-1.action", "close"))) == []
    assert mismatches(answer, (("state", "accepted"), ("rework_count", "1"))) == [
        "state is 'closed', expected 'accepted'", "rework_count missing, expected '1'"]
    assert status_ok(204, None) and not status_ok(409, None) and status_ok(409, 409) and not status_ok(200, 201)


def test_a_record_matches_its_fields_and_events_in_order() -> None:
    call = CallSeen({"route": "callback", "outcome": "answered"}, ["callback", "callback_agent_answered",
                                                                   "agent_connected"], [])
    assert record_matches(call, (("route", "callback"),), ("callback_agent_answered", "agent_connected"))
    assert not record_matches(call, (("route", "callback"),), ("agent_connected", "callback_agent_answered"))
    assert not record_matches(call, (("outcome", "failed"),), ())


def test_the_catalogue_has_return_visits_and_the_callback() -> None:
    scenarios = {s.name: s for s in load_catalogue(CATALOGUE, PEERS)}
    for name in ("return-visit-satisfied", "return-visit-rework", "callback-agent-first"):
        assert scenarios[name].citizen is not None and scenarios[name].needs
    assert not scenarios["return-visit-satisfied"].calls and scenarios["callback-agent-first"].calls
