"""config/hotlines.yaml against the plan, the summary, and ``hotline check-config``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ari_app.cli import main
from ari_app.registry.loader import load_registry
from ari_app.registry.model import AfterCancel, Mode, Registry, required_seconded_staff
from ari_app.registry.summary import format_summary

REGISTRY = Path(__file__).resolve().parents[2] / "config" / "hotlines.yaml"
SEATS = REGISTRY.with_name("seats.yaml")

T, C, DM, DD, S = (
    Mode.WHOLE_MERGE_TRANSITION,
    Mode.WHOLE_MERGE_CANCELLED,
    Mode.DUAL_MERGED_SEATS,
    Mode.DUAL_DEPARTMENT_SEATS,
    Mode.SUBCENTER,
)

# The plan's attachment (菏泽市政务服务便民热线归并清单), in its order: number, name, unit, mode.
PLAN = [
    ("12349", "全国统一民政服务电话", "市民政局", T),
    ("12301", "全国统一旅游资讯服务电话", "市文化和旅游局", T),
    ("12317", "全国扶贫监督举报平台电话", "市扶贫开发办", T),
    ("12385", "全国残疾人维权服务电话", "市残联", T),
    ("6163116", "农村饮用水安全监督电话", "市水务局", T),
    ("12356", "人口和计划生育法律法规咨询及举报投诉服务专用电话", "市卫生健康委", T),
    ("12322", "全国防震减灾公益服务电话", "市地震监测中心", T),
    ("12350", "全国安全生产举报投诉电话", "市应急局", T),
    ("12369", "环境保护投诉举报电话", "市生态环境局", T),
    ("12318", "全国文化市场举报电话", "市文化和旅游局", T),
    ("96119", "火灾隐患举报投诉电话", "市消防支队", T),
    ("12336", "全国统一自然资源违法举报电话", "市自然资源和规划局", C),
    ("12312", "全国统一商务领域举报投诉咨询服务电话", "市商务局", C),
    ("12316", "全国农业系统公益服务电话", "市农业农村局", C),
    ("12358", "全国价格投诉举报统一电话", "市市场监管局", C),
    ("12328", "交通运输服务监督电话", "市交通运输局", DM),
    ("12333", "人力资源和社会保障服务电话", "市人力资源社会保障局", DD),
    ("12319", "城市建设服务电话", "市城管局", DD),
    ("12348", "全国法律服务专用电话", "市司法局", DD),
    ("12315", "12315市场监管投诉举报热线", "市市场监管局", DD),
    ("12329", "住房公积金热线", "市住房公积金管理中心", DD),
    ("12366", "全国税务系统统一电话", "国家税务总局菏泽市税务局", S),
    ("12313", "全国烟草专卖品市场监管举报电话", "市烟草专卖局", S),
    ("12305", "全国邮政业用户申诉电话", "市邮政管理局", S),
]

MEASURES = {
    T: "坐席并入12345热线，设置半年过渡期，之后取消号码",
    C: "直接取消号码（前期已撤销坐席、呼叫转移至12345热线）",
    DM: "坐席并入12345热线，保留号码、呼叫转移至12345热线",
    DD: "保留号码和坐席，与12345热线建立电话转接机制，按照12345热线标准统一提供服务",
    S: "保留号码和坐席，与12345热线建立电话转接机制，提供“7×24小时”全天候人工服务",
}
KEPT = (DD, S)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(REGISTRY)


def test_platform(registry: Registry) -> None:
    p = registry.platform
    assert (p.number, p.name) == ("12345", "菏泽市12345政务服务便民热线")
    assert (p.timezone, p.service_hours) == ("Asia/Shanghai", "7x24")
    assert p.plan.startswith("菏政办字〔2021〕27号")
    assert p.merger_deadline == date(2021, 9, 30)
    assert registry.department_ring_timeout == 20
    assert registry.volumes_are_samples is True
    assert registry.source == str(REGISTRY)


def test_all_24_lines_of_the_plan_in_order(registry: Registry) -> None:
    assert list(registry.hotlines) == [number for number, *_ in PLAN]
    for number, name, unit, mode in PLAN:
        line = registry.hotlines[number]
        assert (line.name, registry.department_of(line).name, line.mode) == (name, unit, mode), number
        assert line.measure == MEASURES[mode], number


def test_counts_per_mode(registry: Registry) -> None:
    assert registry.count_by_mode() == {T: 11, C: 4, DM: 1, DD: 5, S: 3}


def test_one_department_per_unit(registry: Registry) -> None:
    assert len(registry.departments) == 22
    assert len({d.name for d in registry.departments.values()}) == 22
    h = registry.hotlines
    assert h["12301"].department == h["12318"].department
    assert h["12358"].department == h["12315"].department
    for department in registry.departments.values():
        assert department.liaison.name and department.liaison.title and department.liaison.phone


def test_transition_lines(registry: Registry) -> None:
    for line in registry.hotlines.values():
        if line.mode is T:
            assert line.transition is not None
            assert (line.transition.start, line.transition.end) == (date(2021, 9, 30), date(2022, 3, 31))
        else:
            assert line.transition is None
    # The plan forwards every cancelled number to 12345: no line hangs up after its notice.
    assert all(line.after_cancel is AfterCancel.INTAKE for line in registry.hotlines.values())


def test_12328_expert_group_is_the_transport_bureau(registry: Registry) -> None:
    line = registry.hotlines["12328"]
    assert line.expert_group is not None
    assert "transport" in registry.expert_groups[line.expert_group]
    assert registry.departments["transport"].name == "市交通运输局"
    assert line.seconded_staff >= 3
    assert all(h.expert_group is None for h in registry.hotlines.values() if h.mode is not DM)


def test_seconded_staff_rule(registry: Registry) -> None:
    for line in registry.hotlines.values():
        if line.mode in KEPT:
            assert line.seconded_staff == 0, line.number
        else:
            assert line.seconded_staff >= required_seconded_staff(line.annual_volume), line.number


@pytest.mark.parametrize(
    ("volume", "staff"),
    [(0, 1), (1, 1), (499, 1), (500, 2), (501, 2), (1999, 2), (2000, 3), (2001, 3), (58000, 3)],
)
def test_required_seconded_staff_bands(volume: int, staff: int) -> None:
    """以上/以下 include the figure: 500 is in both lower bands (the stricter, 2, applies), 2000 needs 3."""
    assert required_seconded_staff(volume) == staff


def test_sample_volumes_span_the_three_bands(registry: Registry) -> None:
    merged = [h.annual_volume for h in registry.hotlines.values() if h.mode not in KEPT]
    assert any(v < 500 for v in merged)
    assert any(500 <= v <= 2000 for v in merged)
    assert any(v > 2000 for v in merged)


def test_kept_seat_departments_have_lines(registry: Registry) -> None:
    codes = []
    for line in registry.hotlines.values():
        department = registry.department_of(line)
        if line.mode not in KEPT:
            continue
        assert department.line is not None, line.number
        assert department.line.endpoint == f"dept-{line.number}"
        assert department.line.contact.startswith(f"sip:{line.number}@")
        codes.append(department.line.short_code)
    assert codes == [f"{i:02d}" for i in range(1, 9)]
    with_line = {d.id for d in registry.departments.values() if d.line is not None}
    assert len(with_line) == 8


# --- summary -------------------------------------------------------------------------------------


def test_summary(registry: Registry) -> None:
    text = format_summary(registry)
    rows = text.splitlines()

    def row(label: str) -> list[str]:
        found = [r.split() for r in rows if r.strip().startswith(label)]
        assert found, label
        return found[0]

    assert rows[0].startswith("菏泽市12345政务服务便民热线 (12345)")
    assert row("整体并入(过渡期后取消)")[1] == "11"
    assert row("整体并入(直接取消)")[1:] == ["4", "12336", "12312", "12316", "12358"]
    assert row("双号并行(坐席并入)")[1:] == ["1", "12328"]
    assert row("双号并行(保留坐席)")[1] == "5"
    assert row("分中心")[1:] == ["3", "12366", "12313", "12305"]
    assert row("total")[1] == "24"
    assert "departments: 22" in rows
    assert row("12366") == ["12366", "06", "dept-12366", "20s", "国家税务总局菏泽市税务局"]
    assert "seconded staff required by the registry: 30 from 15 departments" in rows
    assert "(hang up instead: none)" in text
    assert len(rows) <= 40


# --- hotline check-config --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_path_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HOTLINE_REGISTRY", raising=False)
    monkeypatch.delenv("HOTLINE_SEATS", raising=False)
    monkeypatch.setenv("HOTLINE_STATE_DIR", str(tmp_path / "state"))  # check-config remembers the last good file
    monkeypatch.setenv("HOTLINE_TODAY", "2026-06-01")  # inside the shipped working-day calendar, whatever the date


def test_check_config_real_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(REGISTRY)]) == 0
    out, err = capsys.readouterr()
    assert err == ""  # no problem and no warning: config/seats.yaml seconds what the registry asks
    assert "整体并入(过渡期后取消)" in out
    assert "dept-12333" in out
    assert out.splitlines()[-1] == f"seats ({SEATS}): 32 agents, 30 seconded by 15 departments"


def test_check_config_default_is_the_repo_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    assert f"file: {REGISTRY}" in out and f"seats ({SEATS})" in out


def _seats_without(tmp_path: Path, agent_id: str) -> Path:
    """config/seats.yaml with one (single-line) agent taken out."""
    lines = SEATS.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if f'id: "{agent_id}"' not in line]
    assert len(kept) == len(lines) - 1
    path = tmp_path / "seats.yaml"
    path.write_text("".join(kept), encoding="utf-8")
    return path


def test_check_config_warns_of_missing_seconded_staff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seats = _seats_without(tmp_path, "3002")  # 市民政局's second
    assert main(["check-config", str(REGISTRY), "--seats", str(seats)]) == 0
    out, err = capsys.readouterr()
    assert err == "warning: 市民政局: 2 seconded staff required by the registry (12349), 1 in seats.yaml\n"
    assert f"seats ({seats}): 31 agents, 29 seconded by 15 departments" in out


def test_check_config_seats_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_SEATS", str(_seats_without(tmp_path, "3005")))
    assert main(["check-config"]) == 0
    err = capsys.readouterr().err
    assert err == "warning: 市文化和旅游局: 3 seconded staff required by the registry (12301 12318), 2 in seats.yaml\n"


def test_check_config_seats_next_to_the_registry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = tmp_path / "hotlines.yaml"
    registry.write_text(REGISTRY.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["check-config", str(registry)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"hotline: cannot read {tmp_path / 'seats.yaml'}: No such file or directory"
    )
    _seats_without(tmp_path, "3027")
    assert main(["check-config", str(registry)]) == 0
    assert "市市场监管局: 3 seconded staff required by the registry (12358), 2 in" in capsys.readouterr().err


def test_check_config_seats_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = SEATS.read_text(encoding="utf-8")
    lines = text.splitlines()
    group_line = lines.index("    groups: [transport-experts]") + 1  # agent 2001, agents[2]
    dept_line = next(i for i, line in enumerate(lines) if 'id: "3001"' in line) + 1  # agents[5]
    broken = text.replace("    groups: [transport-experts]", "    groups: [transport-expert]", 1).replace(
        "seconded_by: civil-affairs", "seconded_by: civil-affair", 1
    )
    seats = tmp_path / "seats.yaml"
    seats.write_text(broken, encoding="utf-8")
    assert main(["check-config", str(REGISTRY), "--seats", str(seats)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "warning: 市民政局: 2 seconded staff required by the registry (12349), 1 in seats.yaml",
        f"{seats}:{group_line}: agents[2].groups[0]: unknown expert group 'transport-expert' "
        "(did you mean 'transport-experts'?): not one of the expert_groups of hotlines.yaml",
        f"{seats}:{dept_line}: agents[5].seconded_by: unknown department 'civil-affair' "
        "(did you mean 'civil-affairs'?): not a department of hotlines.yaml",
        f"2 problem(s) in {seats}",
    ]


def test_check_config_seats_file_of_its_own_broken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seats = tmp_path / "seats.yaml"
    seats.write_text('agents:\n  - {id: 1001, name: 坐席一, endpoint: agent-1001}\n', encoding="utf-8")
    assert main(["check-config", str(REGISTRY), "--seats", str(seats)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[0].startswith(f"{seats}:2: agents[0].id: ")
    assert err.splitlines()[-1] == f"1 problem(s) in {seats}"


def test_check_config_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = REGISTRY.read_text(encoding="utf-8")
    lines = text.splitlines()
    mode_line = lines.index("    mode: subcenter") + 1  # the first sub-center, 12366
    number_line = lines.index('  - number: "12301"') + 1
    broken = text.replace("    mode: subcenter", "    mode: sub-center", 1).replace(
        '  - number: "12301"', "  - number: 12301"
    )
    path = tmp_path / "hotlines.yaml"
    path.write_text(broken, encoding="utf-8")

    assert main(["check-config", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{path}:{number_line}: hotlines[1].number: expected a string, got the integer 12301; "
        'quote it ("12301"): unquoted, YAML reads digits as a number and drops leading zeros',
        f"{path}:{mode_line}: hotlines[21].mode: unknown mode 'sub-center'; expected one of whole_merge_transition, "
        "whole_merge_cancelled, dual_merged_seats, dual_department_seats, subcenter",
        f"2 problem(s) in {path}",
    ]


def test_check_config_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["check-config", str(missing)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == f"hotline: cannot read {missing}: No such file or directory"


def _broken_registry(tmp_path: Path) -> tuple[Path, int]:
    """config/hotlines.yaml with its first sub-center's mode misspelt, and that line's number."""
    text = REGISTRY.read_text(encoding="utf-8")
    line = text.splitlines().index("    mode: subcenter") + 1
    path = tmp_path / "hotlines.yaml"
    path.write_text(text.replace("    mode: subcenter", "    mode: sub-center", 1), encoding="utf-8")
    return path, line


def test_render_reports_registry_problems_one_a_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry, line = _broken_registry(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert main(["render", "--registry", str(registry), "--seats", str(SEATS), "--out", str(out_dir)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and list(out_dir.iterdir()) == []
    assert err.splitlines() == [
        f"{registry}:{line}: hotlines[21].mode: unknown mode 'sub-center'; expected one of whole_merge_transition, "
        "whole_merge_cancelled, dual_merged_seats, dual_department_seats, subcenter",
        f"1 problem(s) in {registry}",
    ]


def test_seats_command_reports_seats_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seats = tmp_path / "seats.yaml"
    seats.write_text('agents:\n  - {id: 1001, name: 坐席一, endpoint: agent-1001}\n', encoding="utf-8")
    assert main(["seats", "--seats", str(seats)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[0].startswith(f"{seats}:2: agents[0].id: expected a string, got the integer 1001")
    assert err.splitlines()[-1] == f"1 problem(s) in {seats}"
