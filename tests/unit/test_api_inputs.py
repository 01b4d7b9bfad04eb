"""ari_app.web.inputs and the routes that use it: bodies, typed text fields, control characters,
ids and query integers; lookups against seats and registry; a failed database write changes nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any, cast

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from ari_app.acd.engine import Acd
from ari_app.acd.model import AgentSeat, AgentState
from ari_app.acd.store import AcdPersistence
from ari_app.api.app import build_app
from ari_app.calls.control import staffed_groups
from ari_app.registry.holder import ReloadOutcome
from ari_app.registry.model import Department, DepartmentLine, Liaison
from ari_app.seats.model import Agent, Seats, agent_seats
from ari_app.web.inputs import (
    MAX_BODY,
    Handler,
    InputError,
    check_text,
    choice,
    json_type,
    parse_object,
    path_id,
    query_int,
    text,
)
from ari_app.web.principal import KEY, Principal

EXAMPLE = '{"reason": "..."}'


@contextmanager
def refused(status: int, *words: str) -> Iterator[None]:
    """The block raises InputError with ``status`` whose error holds ``words``."""
    with pytest.raises(InputError) as caught:
        yield
    assert caught.value.status == status, (caught.value.status, caught.value.error)
    for word in words:
        assert word in caught.value.error, (word, caught.value.error)


# -- bodies ------------------------------------------------------------------------------------
def test_an_empty_body_is_an_empty_object() -> None:
    assert parse_object(b"", EXAMPLE) == {}
    assert parse_object(b" \r\n", EXAMPLE) == {}


def test_a_json_object_is_returned_as_is() -> None:
    assert parse_object('{"reason": "午休", "x": [1]}'.encode(), EXAMPLE) == {"reason": "午休", "x": [1]}


@pytest.mark.parametrize(
    ("raw", "kind"),
    [(b"[]", "an array"), (b'"x"', "a string"), (b"null", "null"), (b"5", "a number"), (b"true", "a boolean")],
)
def test_a_body_that_is_not_an_object_is_refused_with_its_type(raw: bytes, kind: str) -> None:
    with refused(400, "JSON object", kind, EXAMPLE):
        parse_object(raw, EXAMPLE)


@pytest.mark.parametrize(
    "raw",
    [b"{", b"reason=x", b'{"a": NaN}', b'{"a": Infinity}', b'{"a": 1' + b"1" * 5000 + b"}",
     b"[" * 100_000, b'\xef\xbb\xbf{"a": 1}'],
    ids=["truncated", "form", "nan", "infinity", "huge-int", "deep-nesting", "bom"],
)
def test_a_body_that_is_not_json_is_refused(raw: bytes) -> None:
    with refused(400, "not valid JSON", EXAMPLE):
        parse_object(raw, EXAMPLE)


def test_a_body_that_is_not_utf8_is_refused_with_the_offset() -> None:
    with refused(400, "not UTF-8", "offset 12"):
        parse_object(b'{"reason": "\xff"}', EXAMPLE)


# -- text fields -------------------------------------------------------------------------------
def test_an_absent_or_null_field_is_none() -> None:
    assert text({}, "reason", 10) is None
    assert text({"reason": None}, "reason", 10) is None


def test_a_required_field_must_be_there_and_not_blank() -> None:
    for body in ({}, {"group": None}):
        with refused(400, "group is required"):
            text(body, "group", 10, required=True)
    with refused(400, "group must not be empty"):
        text({"group": "  "}, "group", 10, required=True)


@pytest.mark.parametrize(
    ("value", "kind"), [(5, "a number"), (1.5, "a number"), (True, "a boolean"), ([], "an array"), ({}, "an object")]
)
def test_a_field_of_another_type_is_refused_naming_field_and_type(value: object, kind: str) -> None:
    with refused(400, "reason must be a string", kind):
        text({"reason": value}, "reason", 10)
    assert json_type(value) == kind


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x1f", "\r", "\x7f"])
def test_control_characters_are_refused_everywhere(char: str) -> None:
    for multiline in (False, True):
        with refused(400, "note contains a control character", f"U+{ord(char):04X}", "position 2"):
            check_text("note", f"ab{char}cd", 100, multiline)


@pytest.mark.parametrize("char", ["\n", "\t"])
def test_newline_and_tab_only_in_long_text(char: str) -> None:
    assert check_text("note", f"请{char}回电", 100, multiline=True) == f"请{char}回电"
    with refused(400, "reason contains a control character"):
        check_text("reason", f"午{char}休", 100)


def test_a_lone_surrogate_is_refused() -> None:
    with refused(400, "lone surrogate", "U+D800"):
        check_text("note", "x\ud800", 100, multiline=True)


def test_unicode_text_passes_unchanged() -> None:
    value = "交通专家 🚌 ½ é \u3000 \u200b"
    assert text({"note": value}, "note", 100, multiline=True) == value


def test_text_longer_than_the_limit_is_refused() -> None:
    assert text({"reason": "x" * 10}, "reason", 10) == "x" * 10
    with refused(400, "reason is longer than 10 characters"):
        text({"reason": "x" * 11}, "reason", 10)


def test_choice_accepts_only_the_listed_values() -> None:
    assert choice({"action": "drop"}, "action", ("add", "drop")) == "drop"
    with refused(400, "action must be one of add, drop"):
        choice({"action": "Drop"}, "action", ("add", "drop"))
    with refused(400, "action is required"):
        choice({}, "action", ("add", "drop"))


# -- ids and query integers --------------------------------------------------------------------
def test_a_path_id_with_a_control_character_or_too_long_is_refused() -> None:
    assert path_id(make_mocked_request("GET", "/", match_info={"call_id": "1700.12"}), "call_id") == "1700.12"
    with refused(400, "call_id contains a control character"):
        path_id(make_mocked_request("GET", "/", match_info={"call_id": "a\x00"}), "call_id")
    with refused(400, "agent_id is longer"):
        path_id(make_mocked_request("GET", "/", match_info={"agent_id": "1" * 500}), "agent_id")


@pytest.mark.parametrize(
    "raw", ["abc", "0", "1001", "-1", "+5", " 5", "5.0", "%C2%B2", "%D9%A1%D9%A2", "9" * 5000, ""],
    ids=["letters", "zero", "too-big", "negative", "plus", "space", "float", "superscript", "arabic-indic",
         "5000-digits", "empty"],
)
def test_a_query_integer_must_be_ascii_digits_in_range(raw: str) -> None:
    with refused(400, "limit must be an integer from 1 to 1000"):
        query_int(make_mocked_request("GET", f"/calls?limit={raw}"), "limit", 20, 1, 1000)


def test_a_query_integer_in_range_or_absent() -> None:
    assert query_int(make_mocked_request("GET", "/calls?limit=1000"), "limit", 20, 1, 1000) == 1000
    assert query_int(make_mocked_request("GET", "/calls"), "limit", 20, 1, 1000) == 20


# -- groups ------------------------------------------------------------------------------------
def test_groups_are_expert_groups_and_seconding_departments_with_staffed_counts() -> None:
    agents = [
        AgentSeat("1001", "agent-1001", state=AgentState.READY),
        AgentSeat("2001", "agent-2001", frozenset({"transport-experts"}), "transport", state=AgentState.PAUSED),
        AgentSeat("2002", "agent-2002", frozenset({"transport-experts"}), "transport", state=AgentState.WRAP_UP),
        AgentSeat("3001", "agent-3001", seconded_by="civil-affairs", state=AgentState.LOGGED_OUT),
    ]
    assert staffed_groups(agents) == {"civil-affairs": 0, "transport": 1, "transport-experts": 1}


# -- the routes, with a real ACD on a fake store -----------------------------------------------
class FakeStore:
    """Records agent writes; ``fail`` makes the next writes raise like PostgreSQL refusing them."""

    def __init__(self) -> None:
        self.saved: list[tuple[str, str, str, str]] = []
        self.fail = False

    async def save_agent(self, agent: AgentSeat) -> None:
        if self.fail:
            raise asyncpg.exceptions.CharacterNotInRepertoireError('invalid byte sequence for encoding "UTF8"')
        self.saved.append((agent.id, agent.state.value, agent.pause_reason, agent.call_id))

    async def talking(self, *_args: object) -> None:
        return None

    async def finish(self, *_args: object) -> None:
        return None


def _department(dept_id: str, short_code: str | None = None) -> Department:
    line = DepartmentLine(f"dept-{dept_id}", f"sip:{dept_id}@127.0.0.1", short_code) if short_code else None
    return Department(dept_id, f"{dept_id} 局", Liaison("联络人", "科长", "0530-0000000"), line)


class FakeProbe:
    """What the HTTP API asks of the service: one live call ``c1`` talking to an agent."""

    def __init__(self, acd: Acd) -> None:
        self.acd: Acd | None = acd
        self.registry = {d.id: d for d in (_department("human-resources", "01"), _department("water"))}
        self.numbers = {"12333": "human-resources", "6163116": "water"}
        self.escalated: list[tuple[str, str]] = []
        self.parties: list[tuple[str, str, str]] = []
        self.work_orders: list[tuple[str, str, str]] = []
        self.department_on_call = False

    async def queue_figures(self) -> str:
        return "{}"

    def escalate(self, call_id: str, group: str) -> bool:
        self.escalated.append((call_id, group))
        return call_id == "c1"

    def party(self, call_id: str, action: str, target: str) -> bool:
        self.parties.append((call_id, action, target))
        return call_id == "c1"

    def call_state(self, call_id: str) -> dict[str, object] | None:
        if call_id != "c1":
            return None
        department = {"id": "human-resources"} if self.department_on_call else None
        return {"call_id": call_id, "talking": True, "agent": "1001", "department": department}

    def department(self, target: str) -> Department | None:
        for d in self.registry.values():
            if d.line is not None and d.line.short_code == target:
                return d
        return self.registry.get(target) or self.registry.get(self.numbers.get(target, ""))

    def departments(self) -> list[Department]:
        return list(self.registry.values())

    async def request_work_order(self, call_id: str, department: Department, note: str) -> str | None:
        self.work_orders.append((call_id, department.id, note))
        return "20261130-000001" if call_id == "c1" else None

    async def readiness(self) -> dict[str, object]:
        return {"ready": True}

    async def latest_calls(self, limit: int) -> list[dict[str, object]] | None:
        return [{"limit": limit}]

    def reload_registry(self, force: bool = False, dry_run: bool = False) -> ReloadOutcome:
        return ReloadOutcome(applied=True)

    def registry_summary(self) -> dict[str, object]:
        return {}

    def security_summary(self) -> dict[str, object]:
        return {"watching": False}


@web.middleware
async def as_admin(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every request of these tests comes from a logged-in admin (accounts are tested elsewhere)."""
    request[KEY] = Principal("test-admin", "admin")
    return await handler(request)


SEATS = Seats((
    Agent("1001", "坐席一", "agent-1001", skills={"general": 5}),
    Agent("2001", "交通专家一", "agent-2001", ("transport-experts",), "transport", {"transport": 5}),
))


@pytest.fixture
async def api() -> AsyncIterator[tuple[TestClient[web.Request, web.Application], FakeProbe, FakeStore]]:
    store = FakeStore()
    probe = FakeProbe(Acd(agent_seats(SEATS), SEATS.policy, cast(AcdPersistence, store), clock=lambda: 1000.0))
    app = build_app(probe, probe, lambda: probe.acd, lambda _acd: probe.queue_figures(), authenticate=as_admin)
    async with TestClient(TestServer(app)) as client:
        yield client, probe, store


Api = tuple[TestClient[web.Request, web.Application], FakeProbe, FakeStore]


async def post(client: TestClient[web.Request, web.Application], path: str, body: object = None,
               raw: bytes | None = None) -> tuple[int, Any]:
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    async with client.post(path, data=data) as response:
        return response.status, await response.json(content_type=None)


async def test_pause_with_a_nul_reason_is_refused_before_the_database(api: Api) -> None:
    client, probe, store = api
    assert (await post(client, "/agents/1001/login"))[0] == 200
    status, answer = await post(client, "/agents/1001/pause", {"reason": "午\x00休"})
    assert status == 400 and "reason" in answer["error"] and "U+0000" in answer["error"]
    assert store.saved == [("1001", "ready", "", "")]
    assert probe.acd is not None and probe.acd.agents["1001"].state is AgentState.READY


async def test_pause_with_a_null_reason_is_paused_without_the_text_none(api: Api) -> None:
    client, _probe, store = api
    await post(client, "/agents/1001/login")
    status, answer = await post(client, "/agents/1001/pause", {"reason": None})
    assert status == 200 and answer["pause_reason"] == "paused"
    assert store.saved[-1] == ("1001", "paused", "paused", "")


@pytest.mark.parametrize("body", [{"reason": 5}, {"reason": ["x"]}, [], "x"])
async def test_pause_with_a_body_of_the_wrong_type_is_refused(api: Api, body: object) -> None:
    client, _probe, store = api
    status, answer = await post(client, "/agents/1001/pause", body)
    assert status == 400 and isinstance(answer["error"], str)
    assert store.saved == []


async def test_a_body_that_is_not_json_or_too_large_gets_a_json_error(api: Api) -> None:
    client, _probe, store = api
    assert (await post(client, "/agents/1001/login", raw=b"\xff\xfe"))[0] == 400
    status, answer = await post(client, "/agents/1001/pause", raw=b'{"reason": "' + b"x" * MAX_BODY + b'"}')
    assert status == 413 and str(MAX_BODY) in answer["error"]
    assert store.saved == []


async def test_a_failed_write_answers_503_and_leaves_the_agent_as_it_was(api: Api) -> None:
    client, probe, store = api
    await post(client, "/agents/1001/login")
    store.fail = True
    status, answer = await post(client, "/agents/1001/pause", {"reason": "午休"})
    assert status == 503 and "nothing was changed" in answer["error"]
    assert probe.acd is not None
    agent = probe.acd.agents["1001"]
    assert (agent.state, agent.pause_reason) == (AgentState.READY, "")
    async with client.get("/agents") as response:
        shown = {a["id"]: a for a in (await response.json())["agents"]}
    assert shown["1001"]["state"] == "ready" and store.saved[-1] == ("1001", "ready", "", "")


async def test_busy_and_wrap_up_are_written_once_with_the_call(api: Api) -> None:
    _client, probe, store = api
    assert probe.acd is not None
    await probe.acd.login("1001")
    await probe.acd.connected("c1", "1001", "agent-chan", "bridge")
    await probe.acd.call_ended("c1", "1001")
    assert store.saved == [("1001", "ready", "", ""), ("1001", "busy", "", "c1"), ("1001", "wrap_up", "", "c1")]


async def test_escalation_to_an_unknown_group_names_it_and_lists_the_groups(api: Api) -> None:
    client, probe, _store = api
    status, answer = await post(client, "/calls/c1/escalate", {"group": "nobody"})
    assert status == 422 and "'nobody'" in answer["error"]
    assert answer["valid"] == ["transport", "transport-experts"]
    assert probe.escalated == []


async def test_escalation_to_a_group_nobody_staffs_is_a_conflict(api: Api) -> None:
    client, probe, _store = api
    status, answer = await post(client, "/calls/c1/escalate", {"group": "transport-experts"})
    assert status == 409 and "logged in" in answer["error"]
    await post(client, "/agents/2001/login")
    await post(client, "/agents/2001/pause", {"reason": "培训"})
    assert (await post(client, "/calls/c1/escalate", {"group": "transport"}))[0] == 409
    assert probe.escalated == []


async def test_escalation_when_staffed_reaches_the_call_and_a_missing_call_is_404(api: Api) -> None:
    client, probe, _store = api
    await post(client, "/agents/2001/login")
    assert (await post(client, "/calls/c1/escalate", {"group": "transport-experts"}))[0] == 202
    assert (await post(client, "/calls/c2/escalate", {"group": "transport-experts"}))[0] == 404
    probe.department_on_call = True
    assert (await post(client, "/calls/c1/escalate", {"group": "transport-experts"}))[0] == 409
    assert probe.escalated == [("c1", "transport-experts")]


@pytest.mark.parametrize(
    ("body", "status", "word"),
    [
        ({"action": "add", "department": "99"}, 422, "'99'"),
        ({"action": "blind", "department": "water"}, 422, "keeps no seats"),
        ({"action": "attended", "department": "6163116"}, 422, "keeps no seats"),
        ({"action": "add"}, 400, "department"),
        ({"action": "add", "department": 1}, 400, "department must be a string"),
        ({"action": "drop", "department": ["01"]}, 400, "department must be a string"),
        ({"action": "shout"}, 400, "action must be one of"),
        ({"action": None}, 400, "action is required"),
        ({"action": "add", "department": "0\x001"}, 400, "control character"),
    ],
)
async def test_party_refuses_bad_departments_and_actions(api: Api, body: object, status: int, word: str) -> None:
    client, probe, _store = api
    got, answer = await post(client, "/calls/c1/party", body)
    assert got == status and word in answer["error"], answer
    assert probe.parties == []


async def test_party_accepts_short_code_number_or_id_and_404s_a_missing_call(api: Api) -> None:
    client, probe, _store = api
    for target in ("01", "12333", "human-resources"):
        assert (await post(client, "/calls/c1/party", {"action": "add", "department": target}))[0] == 202
    assert (await post(client, "/calls/c1/party", {"action": "drop", "department": None}))[0] == 202
    assert (await post(client, "/calls/c9/party", {"action": "add", "department": "01"}))[0] == 404
    assert probe.parties == [("c1", "add", "01"), ("c1", "add", "12333"), ("c1", "add", "01"), ("c1", "drop", ""),
                             ("c9", "add", "01")]


async def test_work_order_keeps_unknown_department_and_missing_call_apart(api: Api) -> None:
    client, probe, _store = api
    status, answer = await post(client, "/calls/c1/work-order", {"department": "nowhere"})
    assert status == 422 and "'nowhere'" in answer["error"] and "water" in answer["valid"]
    status, answer = await post(client, "/calls/c9/work-order", {"department": "water"})
    assert status == 404 and "c9" in answer["error"]
    assert (await post(client, "/calls/c1/work-order", {"department": "6163116", "note": "请\n回电\t"}))[0] == 202
    assert (await post(client, "/calls/c1/work-order", {"department": "water", "note": None}))[0] == 202
    for bad in ({"department": "water", "note": "a\x00"}, {"department": "water", "note": 3},
                {"department": "water", "note": "x" * 2001}, {"note": "x"}):
        assert (await post(client, "/calls/c1/work-order", bad))[0] == 400
    assert probe.work_orders == [("c9", "water", ""), ("c1", "water", "请\n回电\t"), ("c1", "water", "")]


async def test_ids_and_limits_in_the_url_are_checked(api: Api) -> None:
    client, _probe, _store = api
    async with client.get("/calls/a%00b") as response:
        assert response.status == 400 and "call_id" in (await response.json())["error"]
    async with client.get("/calls?limit=%C2%B2") as response:
        assert response.status == 400
    async with client.get("/calls?limit=7") as response:
        assert response.status == 200 and (await response.json()) == {"calls": [{"limit": 7}]}
    assert (await post(client, "/agents/10%0001/login"))[0] == 400
    assert (await post(client, "/agents/9999/login"))[0] == 404
