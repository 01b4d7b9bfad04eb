"""ari_app.reports: the staffing report against hand-computed figures (no database: the facts are given)."""

from __future__ import annotations

import json
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ari_app import cli
from ari_app.registry.loader import parse_registry
from ari_app.registry.model import Registry
from ari_app.reports.orders import OrderFact, order_figures
from ari_app.reports.staffing import ReportFacts, StaffingReport, annualised, build_report, span_days
from ari_app.reports.table import display_width, format_report
from ari_app.seats.loader import parse_seats
from ari_app.seats.model import Seats
from ari_app.workorders.states import State

# 市民政局 one line, 市文化和旅游局 two, 市水务局 one, 12328 with its expert group, a sub-center (no staff).
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
      - {id: water, name: 市水务局, liaison: {name: 待定, title: 联络员, phone: "00000000"}}
      - {id: transport, name: 市交通运输局, liaison: {name: 待定, title: 联络员, phone: "00000000"}}
      - id: tax
        name: 国家税务总局菏泽市税务局
        liaison: {name: 待定, title: 联络员, phone: "00000000"}
        line: {endpoint: dept-12366, contact: "sip:12366@127.0.0.1:5099", short_code: "01"}
    hotlines:
      - {number: "12349", name: 全国统一民政服务电话, department: civil-affairs, mode: whole_merge_cancelled,
         measure: 直接取消号码, annual_volume: 800, seconded_staff: 2}
      - {number: "12301", name: 全国统一旅游资讯服务电话, department: culture-tourism, mode: whole_merge_cancelled,
         measure: 直接取消号码, annual_volume: 1500, seconded_staff: 2}
      - {number: "12318", name: 全国文化市场举报电话, department: culture-tourism, mode: whole_merge_cancelled,
         measure: 直接取消号码, annual_volume: 450, seconded_staff: 1}
      - {number: "6163116", name: 农村饮用水安全监督电话, department: water, mode: whole_merge_cancelled,
         measure: 直接取消号码, annual_volume: 260, seconded_staff: 1}
      - {number: "12328", name: 交通运输服务监督电话, department: transport, mode: dual_merged_seats,
         measure: 坐席并入12345热线, annual_volume: 9600, seconded_staff: 3, expert_group: transport-experts}
      - {number: "12366", name: 全国税务系统统一电话, department: tax, mode: subcenter,
         measure: 保留号码和坐席, annual_volume: 27000, seconded_staff: 0}
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
      - {id: "3006", name: 水务局选派一, endpoint: agent-3006, seconded_by: water}
    """
)

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))
FIRST_CALL = NOW - timedelta(days=146)  # a call to 12345 itself: the span is of any number
CALLS = {"12345": 10, "12349": 400, "12318": 300}


def registry() -> Registry:
    return parse_registry(REGISTRY, "hotlines.yaml")


def seats(text: str = SEATS) -> Seats:
    return parse_seats(text, "seats.yaml")


def report(seats_text: str = SEATS, calls: dict[str, int] | None = None, first: datetime | None = FIRST_CALL,
           orders: tuple[OrderFact, ...] = (), returns: dict[str, int] | None = None) -> StaffingReport:
    facts = ReportFacts(NOW, CALLS if calls is None else calls, first, orders, returns or {})
    return build_report(registry(), seats(seats_text), facts)


def lines_of(r: StaffingReport) -> dict[str, tuple[int, int, str, int, int]]:
    """number -> (calls, volume, source, required, registry staff)."""
    return {
        line.number: (line.calls, line.volume, "calls" if line.from_calls else "sample", line.required,
                      line.registry_staff)
        for d in r.departments for line in d.lines
    }


def departments_of(r: StaffingReport) -> dict[str, tuple[int, int, int, str]]:
    """department id -> (required, registry staff, agents, status)."""
    return {d.department: (d.required, d.registry_staff, d.agents, d.status) for d in r.departments}


def test_annualisation_over_the_span_rounds_half_up() -> None:
    assert annualised(400, 146.0) == 1000  # 400 x 365 / 146
    assert annualised(200, 146.0) == 500  # exactly 500: the 500-1999 band
    assert annualised(199, 146.0) == 498  # 497.5 rounds up
    assert annualised(3, 365.0) == 3
    assert span_days(FIRST_CALL, NOW) == 146.0
    assert span_days(NOW - timedelta(hours=1), NOW) == 1.0  # at least one day
    assert span_days(None, NOW) == 1.0


def test_hand_computed_report() -> None:
    r = report()
    # 12349: 400 calls in 146 days -> 1000 a year -> 2.  12301: no calls, sample 1500 -> 2.
    # 12318: 300 calls -> 750 a year -> 2 (the registry says 1).  6163116: sample 260 -> 1.
    # 12328: sample 9600 -> 3, and the expert seats need 3 anyway.  12366 (sub-center) is no merged number.
    assert lines_of(r) == {
        "12349": (400, 1000, "calls", 2, 2),
        "12301": (0, 1500, "sample", 2, 2),
        "12318": (300, 750, "calls", 2, 1),
        "6163116": (0, 260, "sample", 1, 1),
        "12328": (0, 9600, "sample", 3, 3),
    }
    # 市文化和旅游局: 2 + 2 = 4 required for its two lines, its 3 agents counted once: short by 1.
    assert departments_of(r) == {
        "civil-affairs": (2, 2, 2, "ok"),
        "culture-tourism": (4, 3, 3, "short by 1"),
        "water": (1, 1, 1, "ok"),
        "transport": (3, 3, 3, "ok"),
    }
    assert (r.total_calls, r.days, r.first_call) == (710, 146.0, FIRST_CALL)


def test_without_calls_every_number_keeps_its_sample() -> None:
    r = report(calls={}, first=None)
    assert {n: v[1:3] for n, v in lines_of(r).items()} == {
        "12349": (800, "sample"), "12301": (1500, "sample"), "12318": (450, "sample"),
        "6163116": (260, "sample"), "12328": (9600, "sample"),
    }
    assert departments_of(r)["culture-tourism"] == (3, 3, 3, "ok")  # 2 + 1 by the samples
    assert r.days is None and r.to_json()["calls"]["span_days"] is None


def test_a_short_span_counts_as_one_day() -> None:
    r = report(calls={"12349": 3}, first=NOW - timedelta(hours=1))
    assert lines_of(r)["12349"] == (3, 1095, "calls", 2, 2)  # 3 x 365 / 1


def test_a_low_volume_line_needs_one() -> None:
    r = report(calls={"12349": 199})
    assert lines_of(r)["12349"] == (199, 498, "calls", 1, 2)  # 199 x 365 / 146 = 497.5 -> 498: under 500


def test_12328_is_staffed_by_its_expert_group() -> None:
    two_experts = SEATS.replace(
        "agent-2003, groups: [transport-experts], seconded_by: transport", "agent-2003, seconded_by: transport"
    )
    assert two_experts != SEATS
    r = report(two_experts)
    transport = next(d for d in r.departments if d.department == "transport")
    # 3 seconded by 市交通运输局, but only 2 of them on the expert seats: 3 required there, short by 1.
    assert (transport.agents, transport.lines[0].expert_seats, transport.status) == (3, 2, "short by 1")

    own_agent_as_expert = two_experts.replace(
        "endpoint: agent-1001}", "endpoint: agent-1001, groups: [transport-experts]}"
    )
    assert own_agent_as_expert != two_experts
    transport = next(d for d in report(own_agent_as_expert).departments if d.department == "transport")
    # 12345's own 1001 takes the third expert seat: 4 agents (2001-2003 and 1001), 3 expert seats, ok.
    assert (transport.agents, transport.lines[0].expert_seats, transport.status) == (4, 3, "ok")


def test_missing_seconded_staff_are_a_shortfall() -> None:
    second = '  - {id: "3002", name: 民政局选派二, endpoint: agent-3002, seconded_by: civil-affairs}\n'
    assert second in SEATS
    r = report(SEATS.replace(second, ""))
    assert departments_of(r)["civil-affairs"] == (2, 2, 1, "short by 1")
    assert r.to_json()["departments"][0]["short"] == 1


def _order(state: State, deadline_days: float | None, done_days: float | None = None, extensions: int = 0,
           department: str = "civil-affairs") -> OrderFact:
    """An order with its deadline and reply ``*_days`` from NOW (negative: in the past)."""
    def at(days: float | None) -> datetime | None:
        return None if days is None else NOW + timedelta(days=days)
    return OrderFact(department, state, at(deadline_days), at(done_days), extensions)


ORDERS = (
    _order(State.CLOSED, -10, done_days=-12, extensions=1),  # replied 2 days early: met
    _order(State.ACCEPTED, -1),  # reworked and not replied again, deadline passed: due, not met
    _order(State.REPLIED, 3, done_days=-0.5, extensions=2),  # replied, deadline ahead: met
    _order(State.DISPATCHED, 5),  # still running: neither
    _order(State.RETURN_VISIT, -5, done_days=-4),  # replied a day late: due, not met
    _order(State.SENT_BACK, -2),  # not the department's any more: neither
    _order(State.MERGED, -3),  # a duplicate: neither
    _order(State.REPLIED, None, done_days=-1),  # no deadline: neither
    _order(State.ACCEPTED, 1, department="water"),
)


def test_work_order_figures_per_department() -> None:
    names = {"civil-affairs": "市民政局", "culture-tourism": "市文化和旅游局", "water": "市水务局"}
    figures = order_figures(names, ORDERS, {"civil-affairs": 1, "culture-tourism": 2, "gone": 1}, NOW)
    by_id = {f.department: (f.orders, f.met, f.due, f.on_time_rate, f.extensions, f.returns) for f in figures}
    assert by_id == {
        "civil-affairs": (8, 2, 4, 0.5, 3, 1),  # met: the closed and the early reply; due: those and 2 late
        "culture-tourism": (0, 0, 0, None, 0, 2),
        "water": (1, 0, 0, None, 0, 0),
        "gone": (0, 0, 0, None, 0, 1),  # a department the registry no longer has, by its id
    }
    assert [f.name for f in figures] == ["市民政局", "市文化和旅游局", "市水务局", "gone"]


def test_a_deadline_met_exactly_is_on_time() -> None:
    figures = order_figures({"civil-affairs": "市民政局"}, [_order(State.REPLIED, -1, done_days=-1)], {}, NOW)
    assert (figures[0].met, figures[0].due) == (1, 1)


def test_json_holds_every_figure() -> None:
    data = json.loads(json.dumps(report(orders=ORDERS, returns={"civil-affairs": 1}).to_json(), ensure_ascii=False))
    culture = data["departments"][1]
    assert (culture["name"], culture["required"], culture["agents"], culture["status"]) == ("市文化和旅游局", 4, 3,
                                                                                             "short by 1")
    assert [(line["number"], line["volume"], line["volume_source"], line["required"]) for line in culture["lines"]] == [
        ("12301", 1500, "sample", 2), ("12318", 750, "calls", 2)]
    civil = next(o for o in data["work_orders"] if o["department"] == "civil-affairs")
    assert civil == {"department": "civil-affairs", "name": "市民政局", "orders": 8,
                     "on_time": {"met": 2, "due": 4, "rate": 0.5}, "extensions": 3, "returns": 1,
                     "ratings_after_call": {}, "return_visits": {"ratings": {}, "manual": 0, "satisfaction": None}}
    assert data["calls"]["total"] == 710 and data["calls"]["span_days"] == 146.0


def test_table_fits_120_columns_and_shows_each_line() -> None:
    text = format_report(report(orders=ORDERS, returns={"civil-affairs": 1}))
    assert max(display_width(line) for line in text.splitlines()) <= 120
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}
    assert rows["12349"] == ["12349", "全国统一民政服务电话", "市民政局", "400", "1000", "calls", "2", "2"]
    assert rows["12301"] == ["12301", "全国统一旅游资讯服务电话", "市文化和旅游局", "0", "1500", "sample", "2", "2"]
    departments = [line.split() for line in text.splitlines() if line.startswith("市文化和旅游局")]
    assert ["市文化和旅游局", "12301", "12318", "4", "3", "3", "-", "short", "by", "1"] in departments
    assert ["市民政局", "8", "50.0%", "(2/4)", "3", "1", "-", "0"] in [line.split() for line in text.splitlines()]


def test_cli_without_a_database_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "hotlines.yaml").write_text(REGISTRY, encoding="utf-8")
    (tmp_path / "seats.yaml").write_text(SEATS, encoding="utf-8")
    monkeypatch.setenv("HOTLINE_DSN", "postgresql://hotline:not-this-one@127.0.0.1:1/hotline")
    files = ["--registry", str(tmp_path / "hotlines.yaml"), "--seats", str(tmp_path / "seats.yaml")]
    assert cli.main(["report", "staffing", *files]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hotline: cannot reach the database (HOTLINE_DSN)") and err.count("\n") == 1
    assert "not-this-one" not in err
