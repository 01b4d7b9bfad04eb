"""The staffing report as text tables, Chinese and English headings, at most 120 columns wide.

Chinese characters take two terminal columns; cells are padded and cut by display width.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from ari_app.reports.orders import OrderFigures
from ari_app.reports.staffing import DepartmentStaffing, StaffingReport

MAX_WIDTH = 120
GAP = "  "
ELLIPSIS = "…"


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` display columns (with an ellipsis when cut)."""
    if display_width(text) <= width:
        return text
    out = ""
    for ch in text:
        if display_width(out + ch) > width - 1:
            break
        out += ch
    return out + ELLIPSIS


@dataclass(frozen=True)
class Column:
    chinese: str
    english: str
    width: int
    right: bool = False

    def cell(self, text: str) -> str:
        text = fit(text, self.width)
        pad = " " * (self.width - display_width(text))
        return pad + text if self.right else text + pad


def row(columns: Sequence[Column], cells: Sequence[str]) -> str:
    return GAP.join(column.cell(text) for column, text in zip(columns, cells, strict=True)).rstrip()


def table(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        row(columns, [c.chinese for c in columns]),
        row(columns, [c.english for c in columns]),
        *(row(columns, cells) for cells in rows),
    ]


LINES = (
    Column("号码", "number", 8), Column("热线", "line", 32), Column("部门", "department", 20),
    Column("话单", "calls", 7, True), Column("年受理量", "a year", 8, True), Column("来源", "source", 6),
    Column("应选派", "required", 8, True), Column("登记", "registry", 8, True),
)
DEPARTMENTS = (
    Column("部门", "department", 20), Column("热线号码", "numbers", 24), Column("应选派", "required", 8, True),
    Column("登记", "registry", 8, True), Column("选派在岗", "agents", 8, True), Column("专家坐席", "experts", 8, True),
    Column("状态", "status", 12),
)
ORDERS = (
    Column("部门", "department", 24), Column("工单", "orders", 8, True), Column("按期办结率", "on time", 16, True),
    Column("延期", "extended", 8, True), Column("退回", "returns", 8, True),
    Column("回访满意率", "visits pleased", 16, True), Column("待人工回访", "manual", 10, True),
)
RULE = (
    "人员选派 Seconded staff by the plan: 年受理量500件以下至少1人, 500-2000件2人, 2000件以上3人; "
    "12328专家坐席至少3人"
)


def line_rows(departments: Sequence[DepartmentStaffing]) -> list[list[str]]:
    return [
        [line.number, line.name, d.name, str(line.calls), str(line.volume), "calls" if line.from_calls else "sample",
         str(line.required), str(line.registry_staff)]
        for d in departments for line in d.lines
    ]


def department_rows(departments: Sequence[DepartmentStaffing]) -> list[list[str]]:
    rows: list[list[str]] = []
    for d in departments:
        experts = [str(line.expert_seats) for line in d.lines if line.expert_seats is not None]
        rows.append([d.name, " ".join(line.number for line in d.lines), str(d.required), str(d.registry_staff),
                     str(d.agents), "/".join(experts) or "-", d.status])
    return rows


def on_time_cell(figures: OrderFigures) -> str:
    rate = figures.on_time_rate
    share = f"({figures.met}/{figures.due})"
    return f"{rate:.1%} {share}" if rate is not None else f"- {share}"


def visits_cell(figures: OrderFigures) -> str:
    rate = figures.visit_satisfaction
    return "-" if rate is None else f"{rate:.1%} ({sum(figures.visit_ratings.values())})"


def order_rows(orders: Sequence[OrderFigures]) -> list[list[str]]:
    return [[o.name, str(o.orders), on_time_cell(o), str(o.extensions), str(o.returns), visits_cell(o),
             str(o.manual_visits)] for o in orders]


def volume_note(report: StaffingReport) -> str:
    if report.days is None or report.first_call is None:
        return "年受理量 a year: no call records yet, the registry's sample volumes"
    return (
        f"年受理量 a year: calls / {report.days:.1f} days since the first call record "
        f"({report.first_call.date().isoformat()}, {report.total_calls} calls in all) x 365; sample where none"
    )


def format_report(report: StaffingReport) -> str:
    lines = [
        RULE, volume_note(report), "",
        *table(LINES, line_rows(report.departments)), "",
        *table(DEPARTMENTS, department_rows(report.departments)), "",
        "工单 Work orders (按期: replied or closed by the deadline / deadline passed or met)",
        *table(ORDERS, order_rows(report.orders)), "",
        "回拨 Queue callbacks: " + ", ".join(f"{k} {v}" for k, v in report.callbacks.items()),
    ]
    return "\n".join(lines)
