"""`hotline report staffing` against a real PostgreSQL: call records and work orders put in with SQL,
the command run as a process, its figures checked against hand-computed ones."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest

from ari_app.sandbox.postgres import PostgresCluster
from ari_app.store.db import connect_pool
from tests.harness.services import REPO

pytestmark = pytest.mark.integration

REGISTRY = textwrap.dedent(
    """\
    platform:
      number: "12345"
      name: 菏泽市12345政务服务便民热线
      timezone: Asia/Shanghai
      service_hours: 7x24
      plan: 菏政办字〔2021〕27号
      merger_deadline: 2021-09-30
    expert_groups:
      transport-experts: [transport]
    departments:
      - {id: civil-affairs, name: 市民政局, liaison: {name: 待定, title: 联络员, phone: "00000000"}}
      - {id: culture-tourism, name: 市文化和旅游局, liaison: {name: 待定, title: 联络员, phone: "00000000"}}
      - {id: transport, name: 市交通运输局, liaison: {name: 待定, title: 联络员, phone: "00000000"}}
    hotlines:
      - {number: "12349", name: 全国统一民政服务电话, department: civil-affairs, mode: whole_merge_cancelled,
         measure: 直接取消号码, annual_volume: 800, seconded_staff: 2}
      - {number: "12301", name: 全国统一旅游资讯服务电话, department: culture-tourism, mode: whole_merge_cancelled,
         measure: 直接取消号码, annual_volume: 1500, seconded_staff: 2}
      - {number: "12318", name: 全国文化市场举报电话, department: culture-tourism, mode: whole_merge_cancelled,
         measure: 直接取消号码, annual_volume: 450, seconded_staff: 1}
      - {number: "12328", name: 交通运输服务监督电话, department: transport, mode: dual_merged_seats,
         measure: 坐席并入12345热线, annual_volume: 9600, seconded_staff: 3, expert_group: transport-experts}
    """
)

SEATS = textwrap.dedent(
    """\
    agents:
      - {id: "1001", name: 坐席一, endpoint: agent-1001}
      - {id: "2001", name: 交通专家一, endpoint: agent-2001, groups: [transport-experts], seconded_by: transport}
      - {id: "2002", name: 交通专家二, endpoint: agent-2002, groups: [transport-experts], seconded_by: transport}
      - {id: "2003", name: 交通专家三, endpoint: agent-2003, groups: [transport-experts], seconded_by: transport}
      - {id: "3001", name: 民政局选派一, endpoint: agent-3001, seconded_by: civil-affairs}
      - {id: "3002", name: 民政局选派二, endpoint: agent-3002, seconded_by: civil-affairs}
      - {id: "3003", name: 文化和旅游局选派一, endpoint: agent-3003, seconded_by: culture-tourism}
      - {id: "3004", name: 文化和旅游局选派二, endpoint: agent-3004, seconded_by: culture-tourism}
      - {id: "3005", name: 文化和旅游局选派三, endpoint: agent-3005, seconded_by: culture-tourism}
    """
)

CIVIL, CULTURE = "civil-affairs", "culture-tourism"
History = list[tuple[str, str, float, dict[str, str]]]  # (action, to state, days from now, detail)
# number, state, department, deadline (days from now), extensions granted, history after create
ORDERS: list[tuple[str, str, str, float | None, int, History]] = [
    # replied 2 days before the deadline, then closed: met
    ("20260101-000001", "closed", CIVIL, -10, 1, [
        ("dispatch", "dispatched", -15, {"department": CIVIL}), ("accept", "accepted", -14, {}),
        ("reply", "replied", -12, {}), ("start_return_visit", "return_visit", -11, {}), ("close", "closed", -9, {})]),
    # replied, found unsatisfying, reworked and not replied again; deadline passed: due, not met
    ("20260101-000002", "accepted", CIVIL, -1, 0, [
        ("dispatch", "dispatched", -25, {"department": CIVIL}), ("accept", "accepted", -24, {}),
        ("reply", "replied", -20, {}), ("start_return_visit", "return_visit", -19, {}),
        ("rework", "accepted", -18, {"department": CIVIL})]),
    # replied, deadline still ahead, after two extensions: met
    ("20260101-000003", "replied", CIVIL, 3, 2, [
        ("dispatch", "dispatched", -9, {"department": CIVIL}), ("accept", "accepted", -8, {}),
        ("reply", "replied", -0.5, {})]),
    # still running: neither met nor due
    ("20260101-000004", "dispatched", CIVIL, 5, 0, [("dispatch", "dispatched", -1, {"department": CIVIL})]),
    # replied a day late: due, not met
    ("20260101-000005", "return_visit", CIVIL, -5, 0, [
        ("dispatch", "dispatched", -10, {"department": CIVIL}), ("accept", "accepted", -9, {}),
        ("reply", "replied", -4, {}), ("start_return_visit", "return_visit", -3, {})]),
    # sent back by 市民政局, waiting for a supervisor: its order still, but no on-time figure; one return
    ("20260101-000006", "sent_back", CIVIL, -2, 0, [
        ("dispatch", "dispatched", -6, {"department": CIVIL}),
        ("send_back", "sent_back", -5, {"department": CIVIL, "reason": "不属于本单位"})]),
    # sent back by 市文化和旅游局 (its return), re-dispatched to 市民政局
    ("20260101-000007", "dispatched", CIVIL, 4, 0, [
        ("dispatch", "dispatched", -3, {"department": CULTURE}),
        ("send_back", "sent_back", -2, {"department": CULTURE, "reason": "不属于本单位"}),
        ("redispatch", "dispatched", -1, {"department": CIVIL, "previous_department": CULTURE})]),
    # answered directly by the agent: no department, in no figure
    ("20260101-000008", "closed", "", None, 0, []),
    # 市文化和旅游局 replied a day early: met
    ("20260101-000009", "closed", CULTURE, -3, 0, [
        ("dispatch", "dispatched", -8, {"department": CULTURE}), ("accept", "accepted", -7, {}),
        ("reply", "replied", -4, {}), ("start_return_visit", "return_visit", -2.5, {}), ("close", "closed", -2, {})]),
    # replied in time, reworked with a new deadline, replied again too late: the last reply counts, due not met
    ("20260101-000010", "replied", CIVIL, -8, 0, [
        ("dispatch", "dispatched", -30, {"department": CIVIL}), ("accept", "accepted", -29, {}),
        ("reply", "replied", -20, {}), ("start_return_visit", "return_visit", -19, {}),
        ("rework", "accepted", -18, {"department": CIVIL}), ("reply", "replied", -6, {})]),
]


async def _insert(dsn: str) -> None:
    pool = await connect_pool(dsn)  # applies the migrations
    try:
        async with pool.acquire() as conn:
            now: datetime = await conn.fetchval("SELECT now()")
            await _insert_calls(conn, now)
            for number, state, department, deadline, extensions, history in ORDERS:
                await _insert_order(conn, now, number, state, department, deadline, extensions, history)
            await _insert_ratings_and_callbacks(conn, now)
    finally:
        await pool.close()


async def _insert_ratings_and_callbacks(conn: asyncpg.Connection, now: datetime) -> None:
    """Return-visit ratings on 1 (满意), 9 (基本满意), 2 and 10 (不满意, reworked); callers' ratings after
    the call on 1 (满意) and 3 (不满意); a visit of 5 on the manual list, one of 1 done; queue
    callbacks: one waiting, one connected, one failed, and a plain queued call that is none."""
    for number, rating in (("000001", "satisfied"), ("000009", "basically_satisfied"), ("000002", "unsatisfied"),
                           ("000010", "unsatisfied")):
        await conn.execute("UPDATE work_orders SET rating = $2 WHERE number = $1", f"20260101-{number}", rating)
    for number, rating in (("000001", "satisfied"), ("000003", "unsatisfied")):
        await conn.execute("UPDATE work_orders SET call_rating = $2 WHERE number = $1", f"20260101-{number}", rating)
    for number, state in (("000005", "manual"), ("000001", "done")):
        await conn.execute(
            "INSERT INTO return_visits (number, phone, department, state, attempts, next_at)"
            " VALUES ($1, '13900000000', $2, $3, 3, $4)", f"20260101-{number}", CIVIL, state, now)
    for seq, (status, number) in enumerate((("callback", "139"), ("ended", "138"), ("callback_failed", "137"),
                                            ("ended", ""))):
        await conn.execute(
            "INSERT INTO queue_calls (call_id, channel_id, hotline, queue, enqueued_at, seq, status, callback_to)"
            " VALUES ($1, $1, '12345', 'intake', 0, $2, $3, $4)", f"c-12345-{seq}", seq, status, number)


async def _insert_calls(conn: asyncpg.Connection, now: datetime) -> None:
    """10 calls to 12345 (the first 146 days ago), 400 to 12349 and 300 to 12318 since; none to 12301 or 12328."""
    rows = [(f"c-12345-{i}", "12345", now - timedelta(days=146 - i)) for i in range(10)]
    rows += [(f"c-12349-{i}", "12349", now - timedelta(days=140, hours=-i)) for i in range(400)]
    rows += [(f"c-12318-{i}", "12318", now - timedelta(days=100, hours=-i)) for i in range(300)]
    await conn.executemany(
        "INSERT INTO calls (call_id, channel_id, hotline, caller, started_at) VALUES ($1, $1, $2, '13900000000', $3)",
        rows,
    )


async def _insert_order(conn: asyncpg.Connection, now: datetime, number: str, state: str, department: str,
                        deadline: float | None, extensions: int, history: History) -> None:
    def at(days: float) -> datetime:
        return now + timedelta(days=days)

    registered = at(-40)
    await conn.execute(
        "INSERT INTO work_orders (number, state, category, content, department, direct, registered_at, deadline,"
        " extensions, updated_at) VALUES ($1, $2, '求助', '路灯不亮', $3, $4, $5, $6, $7, $5)",
        number, state, department, not department, registered, None if deadline is None else at(deadline), extensions,
    )
    created: History = [("create", "registered" if department else "closed", -40.0, {})]
    previous: str | None = None
    for action, to_state, days, detail in created + history:
        await conn.execute(
            "INSERT INTO work_order_history (number, at, action, from_state, to_state, actor, role, detail)"
            " VALUES ($1, $2, $3, $4, $5, 'tester', 'supervisor', $6)",
            number, at(days), action, previous, to_state, json.dumps(detail, ensure_ascii=False),
        )
        previous = to_state


@pytest.fixture(scope="module")
def report_env(postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    dsn = postgres.create_database("report_staffing")
    asyncio.run(_insert(dsn))
    config = tmp_path_factory.mktemp("report-config")
    (config / "hotlines.yaml").write_text(REGISTRY, encoding="utf-8")
    (config / "seats.yaml").write_text(SEATS, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    return {**env, "HOTLINE_DSN": dsn, "HOTLINE_REGISTRY": str(config / "hotlines.yaml"),
            "HOTLINE_SEATS": str(config / "seats.yaml"), "HOTLINE_STATE_DIR": str(config / "state")}


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ari_app.cli", "report", "staffing", *args],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=60,
    )


def _by(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def test_report_json_matches_hand_computed_figures(report_env: dict[str, str]) -> None:
    out = _run(report_env, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)

    calls = data["calls"]
    assert calls["total"] == 710 and abs(calls["span_days"] - 146) < 0.01  # the first call: 12345's, 146 days ago
    departments = _by(data["departments"], "department")
    lines = {line["number"]: line for d in data["departments"] for line in d["lines"]}
    # 12349: 400 x 365 / 146 = 1000 a year -> 2.  12318: 300 x 365 / 146 = 750 -> 2 (the registry has 1).
    # 12301 and 12328 have no calls: samples 1500 -> 2, 9600 -> 3.
    assert {n: (v["calls"], v["volume"], v["volume_source"], v["required"], v["registry_staff"])
            for n, v in lines.items()} == {
        "12349": (400, 1000, "calls", 2, 2),
        "12301": (0, 1500, "sample", 2, 2),
        "12318": (300, 750, "calls", 2, 1),
        "12328": (0, 9600, "sample", 3, 3),
    }
    assert lines["12328"]["expert_seats"] == 3
    assert {d: (v["required"], v["registry_staff"], v["agents"], v["status"]) for d, v in departments.items()} == {
        "civil-affairs": (2, 2, 2, "ok"),
        "culture-tourism": (4, 3, 3, "short by 1"),  # 2 + 2 required, 3 seconded
        "transport": (3, 3, 3, "ok"),
    }

    orders = _by(data["work_orders"], "department")
    # 市民政局: 8 orders (1-7 and 10). Met: 1 and 3. Due: those, 2 (reworked, past), 5 (late), 10 (late again).
    # Return visits: 1 satisfied, 2 and 10 unsatisfied: 1/3; one visit on the manual list.
    assert orders["civil-affairs"] == {
        "department": "civil-affairs", "name": "市民政局", "orders": 8,
        "on_time": {"met": 2, "due": 5, "rate": 0.4}, "extensions": 3, "returns": 1,
        "ratings_after_call": {"satisfied": 1, "unsatisfied": 1},
        "return_visits": {"ratings": {"satisfied": 1, "unsatisfied": 2}, "manual": 1, "satisfaction": 0.3333},
    }
    # 市文化和旅游局: its one order replied early; it sent order 7 back once.
    assert orders["culture-tourism"] == {
        "department": "culture-tourism", "name": "市文化和旅游局", "orders": 1,
        "on_time": {"met": 1, "due": 1, "rate": 1.0}, "extensions": 0, "returns": 1, "ratings_after_call": {},
        "return_visits": {"ratings": {"basically_satisfied": 1}, "manual": 0, "satisfaction": 1.0},
    }
    assert data["callbacks"] == {"requested": 3, "waiting": 1, "connected": 1, "failed": 1}
    assert orders["transport"]["orders"] == 0 and orders["transport"]["on_time"]["rate"] is None


def test_report_table_has_a_row_per_line(report_env: dict[str, str]) -> None:
    out = _run(report_env)
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()]
    assert ["12349", "全国统一民政服务电话", "市民政局", "400", "1000", "calls", "2", "2"] in rows
    assert ["市文化和旅游局", "12301", "12318", "4", "3", "3", "-", "short", "by", "1"] in rows
    assert ["市民政局", "8", "40.0%", "(2/5)", "3", "1", "33.3%", "(3)", "1"] in rows
    assert ["回拨", "Queue", "callbacks:", "requested", "3,", "waiting", "1,", "connected", "1,", "failed", "1"] in rows


def test_report_without_a_database_is_one_line_and_exit_1(report_env: dict[str, str]) -> None:
    env = {**report_env, "HOTLINE_DSN": "postgresql://hotline:secret-here@127.0.0.1:1/hotline"}
    out = _run(env, "--json")
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("hotline: cannot reach the database") and out.stderr.count("\n") == 1, out.stderr
    assert "Traceback" not in out.stderr and "secret-here" not in out.stderr
