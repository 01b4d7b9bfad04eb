"""ari_app.registry.warnings, and ``hotline check-config`` printing them (exit status unchanged).

Each rule is checked on a small valid registry (BASE) with one change; ``check-config`` runs with
its state directory in tmp_path, so the remembered registry is this test's own.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from ari_app.cli import main
from ari_app.registry.loader import load_registry, parse_registry
from ari_app.registry.model import Registry
from ari_app.registry.warnings import (
    LastGood,
    fewer_lines,
    groups_without_line,
    registry_warnings,
    unused_departments,
)
from ari_app.settings import REPO_ROOT

SOURCE = "config/hotlines.yaml"
SHIPPED = REPO_ROOT / "config" / "hotlines.yaml"
SHIPPED_SEATS = REPO_ROOT / "config" / "seats.yaml"

# Three departments, three lines: a sub-center, 12328 with its expert group, a cancelled line.
BASE = textwrap.dedent(
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
      - id: tax
        name: 国家税务总局菏泽市税务局
        liaison: {name: 待定, title: 联络员, phone: "00000000"}
        line: {endpoint: dept-12366, contact: "sip:12366@127.0.0.1:5099", short_code: "01"}
      - id: transport
        name: 市交通运输局
        liaison: {name: 待定, title: 联络员, phone: "00000000"}
      - id: water
        name: 市水务局
        liaison: {name: 待定, title: 联络员, phone: "00000000"}
    hotlines:
      - {number: "12366", name: 全国税务系统统一电话, department: tax, mode: subcenter,
         measure: 保留号码和坐席, annual_volume: 27000, seconded_staff: 0}
      - {number: "12328", name: 交通运输服务监督电话, department: transport, mode: dual_merged_seats,
         measure: 坐席并入12345热线, annual_volume: 9600, seconded_staff: 3, expert_group: transport-experts}
      - {number: "6163116", name: 农村饮用水安全监督电话, department: water, mode: whole_merge_cancelled,
         measure: 直接取消号码, annual_volume: 260, seconded_staff: 1}
    """
)
LINE_12328 = (
    '  - {number: "12328", name: 交通运输服务监督电话, department: transport, mode: dual_merged_seats,\n'
    "     measure: 坐席并入12345热线, annual_volume: 9600, seconded_staff: 3, expert_group: transport-experts}\n"
)
LINE_6163116 = (
    '  - {number: "6163116", name: 农村饮用水安全监督电话, department: water, mode: whole_merge_cancelled,\n'
    "     measure: 直接取消号码, annual_volume: 260, seconded_staff: 1}\n"
)
# The agents BASE asks for: three transport experts, one seconded by 市水务局.
SEATS = textwrap.dedent(
    """\
    agents:
      - {id: "1001", name: 坐席一, endpoint: agent-1001}
      - {id: "2001", name: 交通专家一, endpoint: agent-2001, groups: [transport-experts], seconded_by: transport}
      - {id: "2002", name: 交通专家二, endpoint: agent-2002, groups: [transport-experts], seconded_by: transport}
      - {id: "2003", name: 交通专家三, endpoint: agent-2003, groups: [transport-experts], seconded_by: transport}
      - {id: "3001", name: 水务局选派一, endpoint: agent-3001, seconded_by: water}
    """
)


def _mutate(old: str, new: str) -> str:
    assert BASE.count(old) == 1, f"{old!r} must occur once in BASE"
    return BASE.replace(old, new)


def _registry(text: str = BASE) -> Registry:
    return parse_registry(text, SOURCE)


# --- the rules -------------------------------------------------------------------------------------


def test_base_gives_no_warning() -> None:
    assert registry_warnings(_registry(), LastGood(3, "/etc/hotline/hotlines.yaml")) == []


def test_department_no_line_uses() -> None:
    registry = _registry(_mutate(LINE_6163116, ""))
    assert unused_departments(registry) == ["department 'water' (市水务局) is used by no line"]
    assert groups_without_line(registry) == []


def test_department_in_a_used_expert_group_is_used() -> None:
    """A department with no line of its own whose staff answer 12328 in its expert group is not idle."""
    text = _mutate("transport-experts: [transport]", "transport-experts: [transport, water]")
    assert unused_departments(_registry(text.replace(LINE_6163116, ""))) == []


def test_expert_group_whose_dual_number_line_is_missing() -> None:
    registry = _registry(_mutate(LINE_12328, ""))
    assert groups_without_line(registry) == [
        "expert group 'transport-experts' (市交通运输局) has no line: "
        "no dual_merged_seats line names it as its expert_group"
    ]
    assert unused_departments(registry) == ["department 'transport' (市交通运输局) is used by no line"]


def test_second_expert_group_no_line_answers_with() -> None:
    text = _mutate("transport-experts: [transport]\n", "transport-experts: [transport]\n  night-shift: [tax, water]\n")
    assert groups_without_line(_registry(text)) == [
        "expert group 'night-shift' (国家税务总局菏泽市税务局、市水务局) has no line: "
        "no dual_merged_seats line names it as its expert_group"
    ]


@pytest.mark.parametrize(
    ("last", "warned"),
    [(None, False), (3, False), (6, False), (7, True), (24, True)],
    ids=["nothing-remembered", "same", "exactly-half", "fewer-than-half", "24-then-3"],
)
def test_fewer_than_half_the_lines_of_last_time(last: int | None, warned: bool) -> None:
    remembered = None if last is None else LastGood(last, "/etc/hotline/hotlines.yaml")
    expected = [f"{last} lines last time (/etc/hotline/hotlines.yaml), 3 now: fewer than half; is this the whole file?"]
    assert fewer_lines(_registry(), remembered) == (expected if warned else [])


def test_all_warnings_together_in_order() -> None:
    registry = _registry(_mutate(LINE_12328, ""))
    assert registry_warnings(registry, LastGood(24, "a.yaml")) == [
        "24 lines last time (a.yaml), 2 now: fewer than half; is this the whole file?",
        "department 'transport' (市交通运输局) is used by no line",
        "expert group 'transport-experts' (市交通运输局) has no line: "
        "no dual_merged_seats line names it as its expert_group",
    ]


def test_last_good_round_trip() -> None:
    last = LastGood(24, "/srv/菏泽/hotlines.yaml")
    assert LastGood.from_json(last.to_json()) == last
    assert json.loads(last.to_json()) == {"hotlines": 24, "file": "/srv/菏泽/hotlines.yaml"}


@pytest.mark.parametrize(
    "text",
    ["", "{", "[24]", '{"hotlines": "24", "file": "a"}', '{"hotlines": -1, "file": "a"}',
     '{"hotlines": true, "file": "a"}', '{"hotlines": 24}'],
    ids=["empty", "not-json", "a-list", "count-as-text", "negative", "boolean", "no-file"],
)
def test_last_good_unreadable_is_nothing_remembered(text: str) -> None:
    assert LastGood.from_json(text) is None


def test_shipped_registry_gives_no_warning() -> None:
    shipped = load_registry(SHIPPED)
    assert registry_warnings(shipped, LastGood(len(shipped.hotlines), str(SHIPPED))) == []


# --- through hotline check-config ------------------------------------------------------------------


@pytest.fixture
def state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """check-config's state directory, in tmp_path; the file it remembers the last good registry in."""
    monkeypatch.delenv("HOTLINE_REGISTRY", raising=False)
    monkeypatch.delenv("HOTLINE_SEATS", raising=False)
    monkeypatch.setenv("HOTLINE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("HOTLINE_TODAY", "2026-06-01")  # inside the shipped working-day calendar, whatever the date
    return tmp_path / "state" / "last-good-registry.json"


def _files(tmp_path: Path, registry: str = BASE, seats: str = SEATS) -> tuple[Path, Path]:
    registry_path, seats_path = tmp_path / "hotlines.yaml", tmp_path / "seats.yaml"
    registry_path.write_text(registry, encoding="utf-8")
    seats_path.write_text(seats, encoding="utf-8")
    return registry_path, seats_path


def test_check_config_prints_warnings_and_passes(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    night_shift = _mutate("transport-experts: [transport]\n", "transport-experts: [transport]\n  night-shift: [tax]\n")
    registry, _seats = _files(tmp_path, night_shift)
    assert main(["check-config", str(registry)]) == 0
    out, err = capsys.readouterr()
    assert err == (
        "warning: expert group 'night-shift' (国家税务总局菏泽市税务局) has no line: "
        "no dual_merged_seats line names it as its expert_group\n"
    )
    assert "total" in out and out.splitlines()[-1].startswith("seats (")


def test_check_config_remembers_the_last_good_registry_and_warns_of_far_fewer_lines(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(SHIPPED), "--seats", str(SHIPPED_SEATS)]) == 0
    assert capsys.readouterr().err == ""
    assert json.loads(state.read_text(encoding="utf-8")) == {"hotlines": 24, "file": str(SHIPPED)}

    registry, _seats = _files(tmp_path)
    assert main(["check-config", str(registry)]) == 0
    assert capsys.readouterr().err == (
        f"warning: 24 lines last time ({SHIPPED}), 3 now: fewer than half; is this the whole file?\n"
    )
    assert LastGood.from_json(state.read_text(encoding="utf-8")) == LastGood(3, str(registry.resolve()))


def test_check_config_shipped_files_twice_give_no_warning(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for _run in range(2):
        assert main(["check-config"]) == 0
        assert capsys.readouterr().err == ""
    assert LastGood.from_json(state.read_text(encoding="utf-8")) == LastGood(24, str(SHIPPED))


def test_check_config_with_problems_remembers_nothing(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state.parent.mkdir()
    state.write_text(LastGood(24, str(SHIPPED)).to_json(), encoding="utf-8")
    registry, seats = _files(tmp_path, _mutate("mode: subcenter", "mode: sub"))
    assert main(["check-config", str(registry)]) == 1
    registry.write_text(BASE, encoding="utf-8")
    seats.write_text(SEATS.replace("seconded_by: water", "seconded_by: waters"), encoding="utf-8")
    assert main(["check-config", str(registry)]) == 1
    err = capsys.readouterr().err
    assert "fewer than half" in err and f"1 problem(s) in {seats}" in err  # warned, and still a failure
    assert LastGood.from_json(state.read_text(encoding="utf-8")) == LastGood(24, str(SHIPPED))


def test_check_config_state_not_writable_is_a_warning(
    state: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    monkeypatch.setenv("HOTLINE_STATE_DIR", str(tmp_path / "a-file" / "state"))
    registry, _seats = _files(tmp_path)
    assert main(["check-config", str(registry)]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"warning: cannot remember this registry in {tmp_path / 'a-file' / 'state'}")
    assert not state.exists()
