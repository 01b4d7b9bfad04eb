"""ari_app.registry.loader: every kind of problem, with its exact line and field path.

Each case mutates a small valid registry (BASE) and names the problem it must produce. Line
numbers are BASE's own (see the numbered comment beside it); a mutation that inserts lines says so.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from ari_app.configcheck.problems import ConfigError, Problem
from ari_app.registry.loader import load_registry, parse_registry
from ari_app.registry.model import AfterCancel, Mode

SOURCE = "config/hotlines.yaml"

BASE = textwrap.dedent(
    """\
    platform:
      number: "12345"
      name: 菏泽市12345政务服务便民热线
      timezone: Asia/Shanghai
      service_hours: 7x24
      plan: 菏政办字〔2021〕27号
      merger_deadline: 2021-09-30
    defaults:
      department_ring_timeout: 20
    volumes_are_samples: true
    expert_groups:
      transport-experts: [transport]
    departments:
      - id: civil-affairs
        name: 市民政局
        liaison: {name: 待定, title: 联络员, phone: "00000000"}
      - id: transport
        name: 市交通运输局
        liaison: {name: 待定, title: 联络员, phone: "00000000"}
      - id: human-resources
        name: 市人力资源社会保障局
        liaison: {name: 待定, title: 联络员, phone: "00000000"}
        line: {endpoint: dept-12333, contact: "sip:12333@127.0.0.1:5099", short_code: "01"}
      - id: tax
        name: 国家税务总局菏泽市税务局
        liaison: {name: 待定, title: 联络员, phone: "00000000"}
        line: {endpoint: dept-12366, contact: "sip:12366@127.0.0.1:5099", short_code: "02"}
    hotlines:
      - number: "12349"
        name: 全国统一民政服务电话
        department: civil-affairs
        mode: whole_merge_transition
        measure: 坐席并入12345热线，设置半年过渡期，之后取消号码
        annual_volume: 800
        seconded_staff: 2
        transition: {start: 2021-09-30, end: 2022-03-31}
        after_cancel: intake
      - number: "12336"
        name: 全国统一自然资源违法举报电话
        department: civil-affairs
        mode: whole_merge_cancelled
        measure: 直接取消号码（前期已撤销坐席、呼叫转移至12345热线）
        annual_volume: 1200
        seconded_staff: 2
      - number: "12328"
        name: 交通运输服务监督电话
        department: transport
        mode: dual_merged_seats
        measure: 坐席并入12345热线，保留号码、呼叫转移至12345热线
        annual_volume: 9600
        seconded_staff: 3
        expert_group: transport-experts
      - number: "12333"
        name: 人力资源和社会保障服务电话
        department: human-resources
        mode: dual_department_seats
        measure: 保留号码和坐席，与12345热线建立电话转接机制，按照12345热线标准统一提供服务
        annual_volume: 58000
        seconded_staff: 0
        ring_timeout: 20
      - number: "12366"
        name: 全国税务系统统一电话
        department: tax
        mode: subcenter
        measure: 保留号码和坐席，与12345热线建立电话转接机制，提供“7×24小时”全天候人工服务
        annual_volume: 27000
        seconded_staff: 0
    """
)
# Lines of BASE worth knowing:  2 platform.number  4 timezone  7 merger_deadline  9 department_ring_timeout
# 10 volumes_are_samples  12 transport-experts  17 departments[1]  23 departments[2].line  24 departments[3]
# 27 departments[3].line  29 hotlines[0] (12349)  34 annual_volume  35 seconded_staff  36 transition
# 37 after_cancel  38 hotlines[1] (12336)  45 hotlines[2] (12328)  51 seconded_staff  52 expert_group
# 53 hotlines[3] (12333)  60 ring_timeout  61 hotlines[4] (12366)  63 department  64 mode


def _line(number: int) -> str:
    return BASE.splitlines()[number - 1]


def test_base_is_valid_and_numbered_as_documented() -> None:
    registry = parse_registry(BASE, SOURCE)
    assert list(registry.hotlines) == ["12349", "12336", "12328", "12333", "12366"]
    assert _line(29) == '  - number: "12349"'
    assert _line(38) == '  - number: "12336"'
    assert _line(45) == '  - number: "12328"'
    assert _line(53) == '  - number: "12333"'
    assert _line(61) == '  - number: "12366"'
    assert _line(27).startswith("    line: {endpoint: dept-12366")
    assert _line(64) == "    mode: subcenter"


def _mutate(old: str, new: str) -> str:
    assert BASE.count(old) == 1, f"{old!r} must occur once in BASE"
    return BASE.replace(old, new)


def _problems(text: str) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        parse_registry(text, SOURCE)
    return caught.value.problems


@dataclass(frozen=True)
class Case:
    id: str
    old: str
    new: str
    line: int
    path: str
    message: str  # a substring of the problem's message
    count: int = 1  # problems expected in all (a few mutations rightly cause a second one)


CASES = [
    # document and structure
    Case("yaml-syntax", "    name: 市民政局\n", "    name: 市民政局: x\n", 15, "<document>",
         "invalid YAML at column 15: mapping values are not allowed here"),
    Case("unknown-top-level-key", "volumes_are_samples: true", "volume_are_samples: true", 10,
         "volume_are_samples", "unknown key (did you mean 'volumes_are_samples'?)"),
    Case("unknown-item-key", '  - number: "12349"', '  - numbr: "12349"', 29, "hotlines[0].numbr",
         "unknown key (did you mean 'number'?); expected one of number, name, department", count=2),
    Case("missing-key-reports-the-mapping-line", "    measure: 坐席并入12345热线，保留号码、呼叫转移至12345热线\n", "",
         45, "hotlines[2].measure", "missing required key"),
    Case("duplicate-key", "    annual_volume: 800\n", "    annual_volume: 800\n    annual_volume: 900\n", 35,
         "hotlines[0].annual_volume", "duplicate key (first at line 34)"),
    Case("item-not-a-mapping", "  - id: civil-affairs\n    name: 市民政局\n", "  - civil-affairs\n  - name: 市民政局\n",
         14, "departments[0]", "expected a mapping, got the string 'civil-affairs'", count=4),  # refs now unknown
    # types
    Case("string-expected", "    name: 全国统一民政服务电话", "    name: [全国统一民政服务电话]", 30,
         "hotlines[0].name", "expected a string, got a list"),
    Case("empty-string", "    name: 全国统一民政服务电话", '    name: ""', 30, "hotlines[0].name", "must not be empty"),
    Case("int-expected", "    annual_volume: 800", "    annual_volume: many", 34, "hotlines[0].annual_volume",
         "expected an integer, got the string 'many'"),
    Case("bool-expected", "volumes_are_samples: true", 'volumes_are_samples: "yes"', 10, "volumes_are_samples",
         "expected true or false, got the string 'yes'"),
    # enums
    Case("unknown-mode", "    mode: subcenter", "    mode: sub", 64, "hotlines[4].mode",
         "unknown mode 'sub'; expected one of whole_merge_transition, whole_merge_cancelled, dual_merged_seats, "
         "dual_department_seats, subcenter"),
    Case("unknown-after-cancel", "    after_cancel: intake", "    after_cancel: voicemail", 37,
         "hotlines[0].after_cancel", "unknown after_cancel 'voicemail'; expected one of intake, hangup"),
    # numbers
    Case("duplicate-number", '  - number: "12336"', '  - number: "12349"', 38, "hotlines[1].number",
         "duplicate number '12349' (first at line 29)"),
    Case("number-not-digits", '  - number: "12336"', '  - number: "1233x"', 38, "hotlines[1].number",
         "must be digits only, got '1233x'"),
    Case("number-unquoted", '  - number: "12336"', "  - number: 12336", 38, "hotlines[1].number",
         'expected a string, got the integer 12336; quote it ("12336"): unquoted, YAML reads digits as a number '
         "and drops leading zeros"),
    Case("number-unquoted-leading-zero", '  - number: "12336"', "  - number: 0530", 38, "hotlines[1].number",
         'quote it ("0530")'),
    Case("number-is-the-platform", '  - number: "12336"', '  - number: "12345"', 38, "hotlines[1].number",
         "12345 is the platform's own number"),
    Case("platform-number-not-digits", '  number: "12345"', '  number: "12-345"', 2, "platform.number",
         "must be digits only, got '12-345'"),
    # departments
    Case("unknown-department", "    department: tax", "    department: taxes", 63, "hotlines[4].department",
         "unknown department 'taxes' (did you mean 'tax'?)"),
    Case("duplicate-department-id", "  - id: tax", "  - id: transport", 24, "departments[3].id",
         "duplicate department id 'transport' (first at line 17)", count=2),  # and 12366's 'tax' is unknown now
    Case("duplicate-department-name", "    name: 市交通运输局", "    name: 市民政局", 18, "departments[1].name",
         "duplicate department name '市民政局' (first at line 15)"),
    Case("department-id-not-a-slug", "  - id: tax", "  - id: Tax", 24, "departments[3].id",
         "must be a lowercase slug", count=2),
    Case("duplicate-endpoint", "endpoint: dept-12366", "endpoint: dept-12333", 27, "departments[3].line.endpoint",
         "duplicate endpoint 'dept-12333' (first at line 23)"),
    Case("duplicate-short-code", 'short_code: "02"', 'short_code: "01"', 27, "departments[3].line.short_code",
         "duplicate short_code '01' (first at line 23)"),
    Case("short-code-not-two-digits", 'short_code: "02"', 'short_code: "2"', 27, "departments[3].line.short_code",
         "must be two digits"),
    Case("short-code-unquoted", 'short_code: "02"', "short_code: 02", 27, "departments[3].line.short_code",
         'quote it ("02")'),
    Case("endpoint-bad-characters", "endpoint: dept-12366", "endpoint: Dept_12366", 27,
         "departments[3].line.endpoint", "must be a PJSIP endpoint name of a-z, 0-9 and -, got 'Dept_12366'"),
    Case("contact-not-sip", '"sip:12366@127.0.0.1:5099"', '"12366@127.0.0.1:5099"', 27,
         "departments[3].line.contact", "must be a SIP URI starting with 'sip:'"),
    Case("kept-seats-without-line", '    line: {endpoint: dept-12366, contact: "sip:12366@127.0.0.1:5099", '
         'short_code: "02"}\n', "", 62, "hotlines[4].department",  # 62: the removed line moved it up
         "mode subcenter keeps the department's seats, but department 'tax' has no line"),
    # transition and the mode-only keys
    Case("transition-ends-before-start", "end: 2022-03-31", "end: 2021-09-01", 36, "hotlines[0].transition.end",
         "the transition ends (2021-09-01) before or on the day it starts (2021-09-30)"),
    Case("transition-ends-on-start", "end: 2022-03-31", "end: 2021-09-30", 36, "hotlines[0].transition.end",
         "before or on the day it starts"),
    Case("transition-missing", "    transition: {start: 2021-09-30, end: 2022-03-31}\n", "", 29,
         "hotlines[0].transition", "mode whole_merge_transition requires transition"),
    Case("transition-on-another-mode", "    annual_volume: 1200\n",
         "    annual_volume: 1200\n    transition: {start: 2021-09-30, end: 2022-03-31}\n", 44,
         "hotlines[1].transition", "applies only to mode whole_merge_transition, not whole_merge_cancelled"),
    Case("after-cancel-on-another-mode", "    annual_volume: 1200\n",
         "    annual_volume: 1200\n    after_cancel: hangup\n", 44,
         "hotlines[1].after_cancel", "applies only to mode whole_merge_transition, not whole_merge_cancelled"),
    Case("ring-timeout-on-another-mode", "    after_cancel: intake\n",
         "    after_cancel: intake\n    ring_timeout: 30\n", 38, "hotlines[0].ring_timeout",
         "applies only to mode dual_department_seats / subcenter, not whole_merge_transition"),
    Case("transition-key-missing", "{start: 2021-09-30, end: 2022-03-31}", "{start: 2021-09-30}", 36,
         "hotlines[0].transition.end", "missing required key"),
    # expert groups
    Case("expert-group-missing", "    expert_group: transport-experts\n", "", 45, "hotlines[2].expert_group",
         "mode dual_merged_seats requires expert_group"),
    Case("expert-group-unknown", "    expert_group: transport-experts", "    expert_group: transport-expert", 52,
         "hotlines[2].expert_group", "unknown expert group 'transport-expert' (did you mean 'transport-experts'?)"),
    Case("expert-group-unknown-department", "[transport]", "[transportation]", 12,
         "expert_groups.transport-experts[0]", "unknown department 'transportation' (did you mean 'transport'?)"),
    Case("expert-group-empty", "[transport]", "[]", 12, "expert_groups.transport-experts", "names no department"),
    # ranges and the plan's staffing rule
    Case("ring-timeout-too-long", "    ring_timeout: 20", "    ring_timeout: 200", 60, "hotlines[3].ring_timeout",
         "must be between 5 and 120, got 200"),
    Case("ring-timeout-too-short", "    ring_timeout: 20", "    ring_timeout: 4", 60, "hotlines[3].ring_timeout",
         "must be between 5 and 120, got 4"),
    Case("default-ring-timeout", "  department_ring_timeout: 20", "  department_ring_timeout: 0", 9,
         "defaults.department_ring_timeout", "must be between 5 and 120, got 0"),
    Case("staff-below-rule", "    annual_volume: 800", "    annual_volume: 2500", 35, "hotlines[0].seconded_staff",
         "2 is too few for 2500 calls a year: at least 3 (the plan: under 500 calls a year at least 1, "
         "500-2000 at least 2, over 2000 at least 3)"),
    Case("staff-below-rule-cancelled", "    annual_volume: 1200\n    seconded_staff: 2",
         "    annual_volume: 1200\n    seconded_staff: 1", 44, "hotlines[1].seconded_staff",
         "1 is too few for 1200 calls a year: at least 2"),
    Case("dual-merged-needs-three", "    annual_volume: 9600\n    seconded_staff: 3",
         "    annual_volume: 1500\n    seconded_staff: 2", 51, "hotlines[2].seconded_staff",
         "2 is too few for dual_merged_seats: the expert seats need at least 3"),
    Case("negative-volume", "    annual_volume: 800", "    annual_volume: -5", 34, "hotlines[0].annual_volume",
         "must be at least 0, got -5"),
    # dates and the platform
    Case("date-not-a-date", "merger_deadline: 2021-09-30", "merger_deadline: soon", 7, "platform.merger_deadline",
         "not a valid date (YYYY-MM-DD): 'soon'"),
    Case("date-not-a-string", "merger_deadline: 2021-09-30", "merger_deadline: 20210930", 7,
         "platform.merger_deadline", "expected a date (YYYY-MM-DD), got the integer 20210930"),
    Case("date-impossible", "end: 2022-03-31", "end: 2022-02-30", 36, "hotlines[0].transition.end",
         "not a valid date (YYYY-MM-DD): '2022-02-30'"),
    Case("date-quoted-not-iso", "end: 2022-03-31", 'end: "2022/03/31"', 36, "hotlines[0].transition.end",
         "not a valid date (YYYY-MM-DD): '2022/03/31'"),
    Case("date-with-time", "merger_deadline: 2021-09-30", "merger_deadline: 2021-09-30 08:00:00", 7,
         "platform.merger_deadline", "expected a date without a time"),
    Case("unknown-timezone", "timezone: Asia/Shanghai", "timezone: Asia/Heze", 4, "platform.timezone",
         "unknown time zone 'Asia/Heze'"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_problem(case: Case) -> None:
    problems = _problems(_mutate(case.old, case.new))
    matching = [p for p in problems if p.path == case.path and case.message in p.message]
    assert matching, "\n".join(str(p) for p in problems)
    assert matching[0].line == case.line
    assert matching[0].file == SOURCE
    assert len(problems) == case.count, "\n".join(str(p) for p in problems)


def test_problem_text() -> None:
    problem = Problem("config/hotlines.yaml", 42, "hotlines[3].mode", "unknown mode 'whole'")
    assert str(problem) == "config/hotlines.yaml:42: hotlines[3].mode: unknown mode 'whole'"


def test_all_problems_in_one_pass_in_line_order() -> None:
    text = BASE
    for old, new in [
        ("timezone: Asia/Shanghai", "timezone: Mars/Olympus"),
        ('  - number: "12349"', '  - numbr: "12349"'),
        ("    mode: subcenter", "    mode: sub"),
        ('short_code: "02"', 'short_code: "01"'),
        ("    ring_timeout: 20", "    ring_timeout: 999"),
    ]:
        text = text.replace(old, new)
    with pytest.raises(ConfigError) as caught:
        parse_registry(text, SOURCE)
    assert [(p.line, p.path) for p in caught.value.problems] == [
        (4, "platform.timezone"),
        (27, "departments[3].line.short_code"),
        (29, "hotlines[0].numbr"),
        (29, "hotlines[0].number"),
        (60, "hotlines[3].ring_timeout"),
        (64, "hotlines[4].mode"),
    ]
    assert str(caught.value).splitlines() == [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "the file is empty"),
        ("# only a comment\n", 1, "the file is empty"),
        ("- a\n- b\n", 1, "expected a mapping, got a list"),
        ("platform: {}\n---\nmore: 1\n", 2, "expected a single document"),
        ("platform: x\n\tdepartments: []\n", 2, "invalid YAML"),
        ("platform: x\nname: a\x07b\n", 2, "invalid YAML: special characters are not allowed"),
    ],
    ids=["empty", "comments-only", "top-level-list", "two-documents", "tab", "control-character"],
)
def test_document_problems(text: str, line: int, message: str) -> None:
    problems = _problems(text)
    assert (problems[0].line, problems[0].path) == (line, "<document>")
    assert message in problems[0].message


def test_missing_top_level_sections_are_reported_at_line_1() -> None:
    problems = _problems("volumes_are_samples: true\n")
    assert [(p.line, p.path, p.message) for p in problems] == [
        (1, "platform", "missing required key"),
        (1, "departments", "missing required key"),
        (1, "hotlines", "missing required key"),
    ]


def test_quoted_dates_and_optional_keys() -> None:
    text = _mutate("{start: 2021-09-30, end: 2022-03-31}", '{start: "2021-09-30", end: "2022-03-31"}')
    text = text.replace("    after_cancel: intake\n", "")
    registry = parse_registry(text, SOURCE)
    line = registry.hotlines["12349"]
    assert line.transition is not None
    assert (line.transition.start, line.transition.end) == (date(2021, 9, 30), date(2022, 3, 31))
    assert line.after_cancel is AfterCancel.INTAKE  # the default when not given
    assert line.mode is Mode.WHOLE_MERGE_TRANSITION
    assert registry.hotlines["12333"].ring_timeout == 20
    assert registry.hotlines["12366"].ring_timeout is None


def test_defaults_are_optional() -> None:
    text = BASE.replace("defaults:\n  department_ring_timeout: 20\n", "").replace("volumes_are_samples: true\n", "")
    registry = parse_registry(text, SOURCE)
    assert registry.department_ring_timeout == 20
    assert registry.volumes_are_samples is True


def test_load_registry_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "hotlines.yaml"
    path.write_text(_mutate("    mode: subcenter", "    mode: sub"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_registry(path)
    assert str(caught.value).startswith(f"{path}:64: hotlines[4].mode: unknown mode 'sub'")


def test_load_registry_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "hotlines.yaml"
    path.write_bytes(BASE.replace("市民政局", "x").encode("utf-8").replace(b"name: x", "name: 市民政局".encode("gbk")))
    with pytest.raises(ConfigError) as caught:
        load_registry(path)
    [problem] = caught.value.problems
    assert (problem.line, problem.path) == (15, "<document>")
    assert "not UTF-8" in problem.message


def test_load_registry_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_registry(tmp_path / "nope.yaml")
