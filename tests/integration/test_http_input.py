"""Bad input on the HTTP API of a real `hotline serve` (with Asterisk and PostgreSQL): every bad
body, field, id or query gets its 4xx with a JSON error and changes nothing, in memory or in the
database; a fuzz run over every route never gets a 5xx and leaves memory and database agreeing."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ari_app.registry.holder import RegistryHolder
from ari_app.settings import REPO_ROOT
from tests.harness.agents import AgentSpec, agent_action, agents_state
from tests.harness.records import calls_from
from tests.harness.services import ServeProcess
from tests.harness.wait import wait_for
from tests.integration.conftest import QueueStack

pytestmark = pytest.mark.integration

FIELDS = ("reason", "group", "department", "note", "action")
PARTY_ACTIONS = ("add", "drop", "leave", "blind", "attended", "complete")
ERROR_STATUSES = (400, 409, 413, 422)  # answered by our routes, always with a JSON error


# -- helpers -----------------------------------------------------------------------------------
def request(serve: ServeProcess, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
    """One HTTP request; the answer's status and its JSON (or text when it is not JSON)."""
    sent = urllib.request.Request(serve.http + path, method=method, data=body)
    try:
        with urllib.request.urlopen(sent, timeout=10) as response:
            status, raw = int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def post_json(serve: ServeProcess, path: str, body: object) -> tuple[int, Any]:
    return request(serve, "POST", path, json.dumps(body).encode())


def quoted(value: str) -> str:
    return urllib.parse.quote(value.encode("utf-8", "surrogatepass"), safe="")


async def _agent_rows(dsn: str) -> dict[str, dict[str, Any]]:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return {r["agent_id"]: dict(r) for r in await conn.fetch("SELECT * FROM agent_states")}
    finally:
        await conn.close()


def _memory_vs_database(serve: ServeProcess) -> list[str]:
    """Where `GET /agents` (memory) and agent_states differ (never written: logged out)."""
    memory = agents_state(serve.http)
    rows = asyncio.run(_agent_rows(serve.dsn))
    differences = []
    for agent_id, agent in memory.items():
        row = rows.get(agent_id)
        if row is None:
            if (agent["state"], agent["pause_reason"], agent["call_id"]) != ("logged_out", "", ""):
                differences.append(f"agent {agent_id}: memory {agent}, database none")
            continue
        stored = {"state": row["state"], "since": row["state_since"], "pause_reason": row["pause_reason"],
                  "call_id": row["call_id"]}
        if {k: agent[k] for k in stored} != stored:
            differences.append(f"agent {agent_id}: memory {agent}, database {row}")
    return differences


def assert_memory_is_database(serve: ServeProcess) -> None:
    """Every agent as `GET /agents` shows it (memory) is as agent_states holds it, once the writes behind
    the calls are stored (a moment: they are queued, not waited for)."""
    last: list[str] = []

    def same() -> bool:
        last[:] = _memory_vs_database(serve)
        return not last

    try:
        wait_for(same, 10, "agent_states to hold what memory holds")
    except AssertionError:
        raise AssertionError("\n".join(last)) from None


def restore(serve: ServeProcess, before: dict[str, dict[str, Any]]) -> None:
    """Put every agent back in the state it had (as far as HTTP can: logged out, ready, paused)."""
    for agent_id, was in before.items():
        now = agents_state(serve.http)[agent_id]
        if (now["state"], now["pause_reason"]) == (was["state"], was["pause_reason"]):
            continue
        if was["state"] == "logged_out":
            agent_action(serve.http, agent_id, "logout")
        elif was["state"] in ("ready", "paused"):
            agent_action(serve.http, agent_id, "ready")
            if was["state"] == "paused":
                agent_action(serve.http, agent_id, "pause", {"reason": was["pause_reason"]})


@pytest.fixture
def api(live: ServeProcess) -> Iterator[ServeProcess]:
    """The shared `hotline serve`; its agents are put back as they were afterwards."""
    before = agents_state(live.http)
    yield live
    restore(live, before)
    assert_memory_is_database(live)


def groups_of(serve: ServeProcess) -> dict[str, list[str]]:
    """Every group some agent serves (expert group or seconding department) -> its agents."""
    groups: dict[str, list[str]] = {}
    for agent in agents_state(serve.http).values():
        for group in [*agent["groups"], *([agent["seconded_by"]] if agent["seconded_by"] else [])]:
            groups.setdefault(group, []).append(agent["id"])
    return groups


def departments() -> tuple[str, str]:
    """A department with seats of its own (short code) and one without (id), from the registry."""
    registry = RegistryHolder(REPO_ROOT / "config" / "hotlines.yaml").current
    with_line = next(d.line.short_code for d in registry.departments.values() if d.line is not None)
    without = next(d.id for d in registry.departments.values() if d.line is None)
    return with_line, without


# -- each bad input: its 4xx, and nothing changes ----------------------------------------------
def _bad_inputs(agent: str, short_code: str, no_line: str) -> list[tuple[str, str, bytes | None, int, str]]:
    def body(value: object) -> bytes:
        return json.dumps(value).encode()

    pause, call = f"/agents/{agent}/pause", "/calls/no-such-call"
    return [
        ("POST", pause, body({"reason": "午\x00休"}), 400, "reason contains a control character"),
        ("POST", pause, body({"reason": "午休\n"}), 400, "reason contains a control character"),
        ("POST", pause, body({"reason": "x\ud800"}), 400, "reason contains a lone surrogate"),
        ("POST", pause, body({"reason": "x" * 201}), 400, "reason is longer"),
        ("POST", pause, body({"reason": 5}), 400, "reason must be a string, not a number"),
        ("POST", pause, body({"reason": {"a": 1}}), 400, "reason must be a string, not an object"),
        ("POST", pause, body(["reason"]), 400, "JSON object"),
        ("POST", pause, b'{"reason": "x"', 400, "not valid JSON"),
        ("POST", pause, b'{"reason": "\xff"}', 400, "not UTF-8"),
        ("POST", pause, b'{"reason": "' + b"x" * 70_000 + b'"}', 413, "larger than"),
        ("POST", f"/agents/{agent}/login", body("login"), 400, "JSON object"),
        ("POST", "/agents/10%0001/login", None, 400, "agent_id contains a control character"),
        ("POST", f"{call}/escalate", body({"group": "no-such-group"}), 422, "'no-such-group'"),
        ("POST", f"{call}/escalate", body({"group": 7}), 400, "group must be a string"),
        ("POST", f"{call}/escalate", body({"group": "transport\x00"}), 400, "group contains a control character"),
        ("POST", f"{call}/escalate", None, 400, "group is required"),
        ("POST", f"{call}/party", body({"action": "add", "department": "99"}), 422, "'99'"),
        ("POST", f"{call}/party", body({"action": "blind", "department": no_line}), 422, "keeps no seats"),
        ("POST", f"{call}/party", body({"action": "add", "department": [short_code]}), 400, "department must be"),
        ("POST", f"{call}/party", body({"action": "add"}), 400, "department"),
        ("POST", f"{call}/party", body({"action": "join", "department": short_code}), 400, "action must be"),
        ("POST", f"{call}/party", body({"action": "add", "department": short_code}), 404, "no such call"),
        ("POST", f"{call}/work-order", body({"department": "nowhere"}), 422, "'nowhere'"),
        ("POST", f"{call}/work-order", body({"department": no_line, "note": "请\x00回电"}), 400, "note contains"),
        ("POST", f"{call}/work-order", body({"department": no_line, "note": 1}), 400, "note must be a string"),
        ("POST", f"{call}/work-order", body({"department": no_line, "note": "请\n回电"}), 404, "no call"),
        ("GET", "/calls/a%00b", None, 400, "call_id contains a control character"),
        ("GET", "/calls?limit=%C2%B2", None, 400, "limit must be an integer"),
        ("GET", "/calls?limit=" + "9" * 5000, None, 400, "limit must be an integer"),
    ]


def test_each_bad_input_gets_its_4xx_and_changes_nothing(api: ServeProcess) -> None:
    agent = sorted(agents_state(api.http))[0]
    assert agent_action(api.http, agent, "login")["state"] == "ready"  # so a bad pause would otherwise pause
    short_code, no_line = departments()
    for method, path, body, status, words in _bad_inputs(agent, short_code, no_line):
        before = agents_state(api.http)
        got, answer = request(api, method, path, body)
        assert (got, words in str(answer.get("error") if isinstance(answer, dict) else answer)) == (status, True), (
            f"{method} {path[:80]} {(body or b'')[:80]!r}: {got} {answer}")
        assert agents_state(api.http) == before, f"{method} {path[:80]} changed an agent"
        assert_memory_is_database(api)


def test_a_null_reason_is_an_absent_reason(api: ServeProcess) -> None:
    agent = sorted(agents_state(api.http))[0]
    agent_action(api.http, agent, "login")
    status, answer = post_json(api, f"/agents/{agent}/pause", {"reason": None})
    assert status == 200 and answer["pause_reason"] == "paused", answer
    # stored behind the change (the write journal's linger), not before the answer
    wait_for(lambda: asyncio.run(_agent_rows(api.dsn)).get(agent, {}).get("pause_reason") == "paused", 10,
             "the pause stored")


def test_escalation_to_a_group_with_nobody_logged_in_is_a_conflict(api: ServeProcess) -> None:
    group, members = next(iter(sorted(groups_of(api).items())))
    for agent in members:
        agent_action(api.http, agent, "logout")
    status, answer = post_json(api, "/calls/no-such-call/escalate", {"group": group})
    assert status == 409 and group in answer["error"] and "logged in" in answer["error"], answer
    agent_action(api.http, members[0], "login")
    agent_action(api.http, members[0], "pause", {"reason": "培训"})
    assert post_json(api, "/calls/no-such-call/escalate", {"group": group})[0] == 409  # paused is not there
    agent_action(api.http, members[0], "ready")
    status, answer = post_json(api, "/calls/no-such-call/escalate", {"group": group})
    assert status == 404 and "no such call" in answer["error"], answer  # staffed: only the call is missing
    assert_memory_is_database(api)


def test_an_unknown_group_is_named_and_the_valid_ones_listed(api: ServeProcess) -> None:
    status, answer = post_json(api, "/calls/no-such-call/escalate", {"group": "交通专家"})
    assert status == 422 and "'交通专家'" in answer["error"]
    assert sorted(answer["valid"]) == sorted(groups_of(api))


# -- fuzz ----------------------------------------------------------------------------------------
# Each route with the fields it reads; the fuzz sends them (and anything else) with arbitrary values.
ROUTES = {
    **{f"POST /agents/{{id}}/{action}": ("reason",) if action == "pause" else ()
       for action in ("login", "logout", "pause", "ready")},
    "POST /calls/{id}/escalate": ("group",), "POST /calls/{id}/party": ("action", "department"),
    "POST /calls/{id}/work-order": ("department", "note"),
    "GET /calls/{id}": (), "GET /calls?limit={id}": (), "GET /queues": (), "GET /agents": (),
}
# Values that mean something to the service, and known troublemakers (NUL, Unicode digits, BOM, ...).
MEANINGFUL = ("transport-experts", "transport", "01", "12333", "12366", "water", "paused", "", " ", "None", "1001",
              "add", "drop", "\x00", "午\x00休", "a\nb", "\t", "\r\n", "\x7f", "\ud800", "\ufeff", "²", "١٢", "0",
              "-1", "1e3")
spiked = st.builds(  # text with one control character or lone surrogate in it
    lambda before, bad, after: before + bad + after,
    st.text(max_size=8), st.sampled_from("\x00\ud800\udfff\x7f\r\x1b") | st.characters(max_codepoint=0x1F),
    st.text(max_size=8),
)
short_text = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(categories=["Cc", "Cs", "Zs", "Zl", "Cf", "Lo", "So", "Nd", "No"]), max_size=10),
    st.sampled_from(MEANINGFUL),
    spiked,
)
# Around the length limits (64, 200, 2000 characters); not for ids: aiohttp itself refuses request
# lines over 8 KiB, with a plain-text 400.
nasty_text = short_text | st.integers(min_value=60, max_value=2100).map(lambda n: "长" * n)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | nasty_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=4),
                                                                    children, max_size=3),
    max_leaves=8,
)
field_values = st.one_of(spiked, short_text, nasty_text, json_values)  # mostly text: past the type check


def _encode(value: object, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def bodies(fields: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    """Objects with the route's fields (or others), any JSON value, any bytes, nothing."""
    values = {name: st.sampled_from(PARTY_ACTIONS) | field_values if name == "action" else field_values
              for name in fields or FIELDS}
    objects = st.fixed_dictionaries(values) | st.fixed_dictionaries({}, optional=values)
    return st.one_of(
        st.builds(_encode, objects, st.booleans()),
        st.builds(_encode, objects, st.booleans()),
        st.builds(_encode, objects, st.booleans()),
        st.builds(_encode, json_values, st.booleans()),
        st.binary(max_size=64),
        st.just(b""),
    )


@pytest.mark.parametrize("route", list(ROUTES))
def test_fuzz_a_route_never_fails_and_memory_stays_the_database(api: ServeProcess, route: str) -> None:
    agent_ids = sorted(agents_state(api.http))
    for agent in agent_ids:  # logged in, so that a pause or logout reaches the database
        agent_action(api.http, agent, "login")
    method, template = route.split(" ")
    known = st.sampled_from(agent_ids) if "/agents/" in template else st.sampled_from(("1", "20", "1000"))
    bad_ids = st.one_of(short_text, st.integers().map(str), st.just("1" * 200))

    @settings(max_examples=100, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(known_id=st.booleans(), good=known, bad=bad_ids, body=bodies(ROUTES[route]))
    def one_request(known_id: bool, good: str, bad: str, body: bytes) -> None:
        some_id = good if known_id else bad
        path = template.replace("{id}", quoted(some_id))
        status, answer = request(api, method, path, body if method == "POST" else None)
        assert status < 500, f"{method} {path[:100]} {body[:100]!r}: {status} {answer}"
        if status in ERROR_STATUSES:
            assert isinstance(answer, dict) and isinstance(answer.get("error"), str), (status, answer)
        assert_memory_is_database(api)

    for field in ROUTES[route]:  # always tried, besides what hypothesis draws: NUL and a lone surrogate
        for value in ("午\x00休", "\ud800"):
            one_request = example(known_id=True, good=agent_ids[0] if "/agents/" in template else "1", bad="",
                                  body=_encode({field: value}, True))(one_request)
    one_request()
    assert api.get("/healthz") == (200, {"alive": True})
    assert api.ready()
    assert_memory_is_database(api)


# -- with a real call ----------------------------------------------------------------------------
def test_escalation_nobody_can_take_leaves_the_caller_with_the_agent(queue_stack: Callable[..., QueueStack]) -> None:
    """The measured bug: the agent was hung up and the caller waited for an empty group forever."""
    q = queue_stack([
        AgentSpec("1001", phone="answer-wait-bye"),
        AgentSpec("2001", groups=("transport-experts",), seconded_by="transport",
                  skills={"general": 3, "transport": 5}),
    ])
    q.login("1001")  # 2001, the only transport expert, stays logged out
    caller, sipp = q.call("12345")
    q.wait_event(caller, "agent_connected")
    call_id = calls_from(q.dsn, caller)[-1]["call_id"]
    for group, status in (("transport-experts", 409), ("transport", 409), ("nobody", 422)):
        got, answer = post_json(q.serve, f"/calls/{call_id}/escalate", {"group": group})
        assert got == status and group in answer["error"], answer
    got, answer = post_json(q.serve, f"/calls/{call_id}/party", {"action": "add", "department": "99"})
    assert got == 422, answer
    status, state = q.serve.get(f"/calls/{call_id}")
    assert status == 200 and state["talking"] and state["agent"] == "1001", state
    assert agents_state(q.serve.http)["1001"]["state"] == "busy"
    assert "escalated" not in [e["kind"] for e in q.events(caller)]
    assert_memory_is_database(q.serve)
    q.stack.ari.delete(f"/channels/{call_id}")  # the caller hangs up
    assert sipp.wait(60).returncode == 0
    assert q.record(caller)["outcome"] == "answered"
