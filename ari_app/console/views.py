"""Pure decisions of the console's pages: how a dialed number is described on the screen pop, how
urgent an order is, in which order a department sees its orders, what an agent's state is called.
No I/O; times passed in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from ari_app.registry.model import Mode, Registry

AGENT_STATES = {
    "logged_out": "未签入", "ready": "空闲", "paused": "小休", "ringing": "振铃", "busy": "通话中",
    "wrap_up": "话后整理",
}
MODES = {
    Mode.WHOLE_MERGE_TRANSITION: "整体并入12345（过渡期）",
    Mode.WHOLE_MERGE_CANCELLED: "整体并入12345（号码已取消）",
    Mode.DUAL_MERGED_SEATS: "双号并行，坐席并入12345",
    Mode.DUAL_DEPARTMENT_SEATS: "双号并行，部门保留坐席",
    Mode.SUBCENTER: "分中心，保留号码和坐席",
}
ROUTES = {
    "intake": "12345受理", "expert": "专家坐席优先", "department": "部门坐席", "subcenter": "分中心坐席",
    "intercept": "号码取消提示后转12345", "fallback": "部门未接，转12345受理", "unknown": "未知号码",
    "return_visit": "回访", "callback": "回拨",
}
PAUSE_REASONS = ("小休", "培训", "会议", "用餐", "处理工单")


def line_description(registry: Registry, number: str) -> dict[str, str]:
    """The dialed number as an agent should read it: "12349 全国统一民政服务电话", how it was merged,
    and the responsible department."""
    hotline = registry.hotline(number)
    if hotline is None:
        return {"number": number, "name": "12345政务服务便民热线" if number == "12345" else "未登记号码",
                "mode": "", "department": "", "department_name": ""}
    department = registry.departments.get(hotline.department)
    return {"number": number, "name": hotline.name, "mode": MODES.get(hotline.mode, hotline.mode.value),
            "department": hotline.department, "department_name": department.name if department else ""}


def urgency(deadline: datetime | None, open_order: bool, now: datetime, zone: tzinfo) -> str:
    """"overdue" past the deadline, "today" due before the end of today (in ``zone``), else ""."""
    if deadline is None or not open_order:
        return ""
    if deadline <= now:
        return "overdue"
    return "today" if deadline.astimezone(zone).date() == now.astimezone(zone).date() else ""


def by_urgency(orders: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Overdue first, then due today, then the rest; each by deadline (none last), then number."""
    rank = {"overdue": 0, "today": 1, "": 2}

    def key(order: Mapping[str, Any]) -> tuple[int, int, str, str]:
        deadline = order.get("deadline") or ""
        return rank[order.get("urgency", "")], 0 if deadline else 1, deadline, order["number"]

    return sorted(orders, key=key)


def duration_text(seconds: float) -> str:
    """"1:05" for 65 s, "1:02:03" past an hour; negative counts as 0."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
