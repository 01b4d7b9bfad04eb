"""ari_app.seats.crosscheck: the seats file against the registry (departments, expert groups, staff)."""

from __future__ import annotations

import textwrap

from ari_app.registry.loader import load_registry, parse_registry
from ari_app.registry.model import Registry
from ari_app.seats.crosscheck import Shortfall, crosscheck, describe_seats, required_staff, shortfalls
from ari_app.seats.loader import parse_seats
from ari_app.settings import REPO_ROOT

SEATS_SOURCE = "config/seats.yaml"

# Two merged lines of one department (1 + 2 seconded), one of another (1), 12328 with its experts
# (3), and a kept-seat line (0).
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
      - id: culture-tourism
        name: 市文化和旅游局
        liaison: {name: 待定, title: 联络员, phone: "00000000"}
      - id: water
        name: 市水务局
        liaison: {name: 待定, title: 联络员, phone: "00000000"}
      - id: transport
        name: 市交通运输局
        liaison: {name: 待定, title: 联络员, phone: "00000000"}
      - id: tax
        name: 国家税务总局菏泽市税务局
        liaison: {name: 待定, title: 联络员, phone: "00000000"}
        line: {endpoint: dept-12366, contact: "sip:12366@127.0.0.1:5099", short_code: "01"}
    hotlines:
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

# Line numbers: 2 agents[0]  5 agents[1]  8 its groups  9 its seconded_by  10 agents[2] ... 15 agents[7]
SEATS = textwrap.dedent(
    """\
    agents:
      - id: "1001"
        name: 坐席一
        endpoint: agent-1001
      - id: "2001"
        name: 交通专家一
        endpoint: agent-2001
        groups: [transport-experts]
        seconded_by: transport
      - {id: "2002", name: 交通专家二, endpoint: agent-2002, groups: [transport-experts], seconded_by: transport}
      - {id: "2003", name: 交通专家三, endpoint: agent-2003, groups: [transport-experts], seconded_by: transport}
      - {id: "3001", name: 文化和旅游局选派一, endpoint: agent-3001, seconded_by: culture-tourism}
      - {id: "3002", name: 文化和旅游局选派二, endpoint: agent-3002, seconded_by: culture-tourism}
      - {id: "3003", name: 文化和旅游局选派三, endpoint: agent-3003, seconded_by: culture-tourism}
      - {id: "3004", name: 水务局选派一, endpoint: agent-3004, seconded_by: water}
    """
)


def registry() -> Registry:
    return parse_registry(REGISTRY, "config/hotlines.yaml")


def _mutate(old: str, new: str) -> str:
    assert SEATS.count(old) == 1, f"{old!r} must occur once in SEATS"
    return SEATS.replace(old, new)


def test_complete_seats_pass_without_warnings() -> None:
    check = crosscheck(registry(), SEATS, SEATS_SOURCE)
    assert (check.problems, check.warnings) == ((), ())
    assert check.seats is not None and len(check.seats.agents) == 8


def test_required_staff_sums_a_departments_lines() -> None:
    assert required_staff(registry()) == {
        "culture-tourism": (3, ("12301", "12318")),
        "water": (1, ("6163116",)),
        "transport": (3, ("12328",)),
    }


def test_unknown_seconded_by_is_a_problem_at_its_line() -> None:
    check = crosscheck(
        registry(), _mutate("    seconded_by: transport\n", "    seconded_by: transportation\n"), SEATS_SOURCE
    )
    assert [str(p) for p in check.problems] == [
        "config/seats.yaml:9: agents[1].seconded_by: unknown department 'transportation' "
        "(did you mean 'transport'?): not a department of hotlines.yaml"
    ]


def test_unknown_group_is_a_problem_at_its_line() -> None:
    text = _mutate("    groups: [transport-experts]\n", "    groups: [transport-experts, night-shift]\n")
    check = crosscheck(registry(), text, SEATS_SOURCE)
    assert [(p.line, p.path, p.message) for p in check.problems] == [
        (8, "agents[1].groups[1]", "unknown expert group 'night-shift': not one of the expert_groups of hotlines.yaml")
    ]


def test_a_kept_seat_department_is_a_known_department() -> None:
    """seconded_by names any department of the registry; one whose lines need nobody is no error."""
    text = SEATS + '  - {id: "3005", name: 税务选派一, endpoint: agent-3005, seconded_by: tax}\n'
    assert crosscheck(registry(), text, SEATS_SOURCE).problems == ()


def test_problems_in_line_order_and_staff_warnings_alongside() -> None:
    text = _mutate("seconded_by: water}", "seconded_by: waters}").replace(
        'groups: [transport-experts], seconded_by: transport}\n  - {id: "2003"',
        'groups: [experts], seconded_by: transport}\n  - {id: "2003"',
    )
    check = crosscheck(registry(), text, SEATS_SOURCE)
    assert [(p.line, p.path) for p in check.problems] == [(10, "agents[2].groups[0]"), (15, "agents[7].seconded_by")]
    assert [str(w) for w in check.warnings] == [
        "市水务局: 1 seconded staff required by the registry (6163116), 0 in seats.yaml",
    ]


def test_shortfall_per_department_in_registry_order() -> None:
    kept = [line for line in SEATS.splitlines(keepends=True) if 'id: "3003"' not in line and 'id: "3004"' not in line]
    text = "".join(kept)
    check = crosscheck(registry(), text, "/etc/hotline/seats.yaml")
    assert check.problems == ()
    assert check.warnings == (
        Shortfall("市文化和旅游局", 3, ("12301", "12318"), 2, "seats.yaml"),
        Shortfall("市水务局", 1, ("6163116",), 0, "seats.yaml"),
    )
    assert str(check.warnings[0]) == (
        "市文化和旅游局: 3 seconded staff required by the registry (12301 12318), 2 in seats.yaml"
    )


def test_more_seconded_staff_than_required_is_fine() -> None:
    text = SEATS + '  - {id: "3005", name: 水务局选派二, endpoint: agent-3005, seconded_by: water}\n'
    assert crosscheck(registry(), text, SEATS_SOURCE).warnings == ()


def test_seats_file_problems_come_first_and_alone() -> None:
    """A seats file that does not read is reported as the seats loader does; nothing is cross-checked."""
    text = _mutate('  - id: "1001"\n', "  - id: 1001\n").replace("seconded_by: water}", "seconded_by: waters}")
    check = crosscheck(registry(), text, SEATS_SOURCE)
    assert [(p.line, p.path) for p in check.problems] == [(2, "agents[0].id")]
    assert (check.warnings, check.seats) == ((), None)


def test_invalid_yaml_is_one_problem() -> None:
    check = crosscheck(registry(), "agents: [\n", SEATS_SOURCE)
    assert len(check.problems) == 1 and check.problems[0].message.startswith("invalid YAML")


def test_describe_seats() -> None:
    seats = parse_seats(SEATS, SEATS_SOURCE)
    assert describe_seats(seats) == "seats (config/seats.yaml): 8 agents, 7 seconded by 3 departments"


def test_shipped_registry_and_seats_agree() -> None:
    """config/seats.yaml holds exactly the seconded staff config/hotlines.yaml asks for, and no stray reference."""
    shipped = load_registry(REPO_ROOT / "config" / "hotlines.yaml")
    seats_path = REPO_ROOT / "config" / "seats.yaml"
    check = crosscheck(shipped, seats_path.read_text(encoding="utf-8"), str(seats_path))
    assert (check.problems, check.warnings) == ((), ())
    assert check.seats is not None
    seconded: dict[str, int] = {}
    for agent in check.seats.agents:
        assert agent.id.isdigit() and agent.endpoint == f"agent-{agent.id}", agent
        if agent.seconded_by:
            seconded[agent.seconded_by] = seconded.get(agent.seconded_by, 0) + 1
    assert seconded == {dep: total for dep, (total, _numbers) in required_staff(shipped).items()}
    assert shortfalls(shipped, check.seats, "seats.yaml") == []
    general = [a.id for a in check.seats.agents if not a.seconded_by]
    experts = [a.id for a in check.seats.agents if "transport-experts" in a.groups]
    assert (general, experts) == (["1001", "1002"], ["2001", "2002", "2003"])


def test_empty_seats_file_is_one_problem() -> None:
    check = crosscheck(registry(), "# no agents yet\n", SEATS_SOURCE)
    assert [str(p) for p in check.problems] == [
        "config/seats.yaml:1: <document>: the file is empty: expected the agents"
    ]
