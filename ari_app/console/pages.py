"""The console's pages: the agent's desk, the department's desk, one order, the wallboard. Each
checks the role; a department handler sees only their own department (another's page is a 403,
another's order a 404, as the API answers)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ari_app.acd.model import AgentState
from ari_app.console.render import page, refusal
from ari_app.console.sources import ConsoleSources
from ari_app.console.views import AGENT_STATES, PAUSE_REASONS, by_urgency, urgency
from ari_app.web.principal import SUPERVISION, Principal
from ari_app.workorders.lifecycle import RULES, Action, Actor, Role, allowed_actions
from ari_app.workorders.states import TERMINAL
from ari_app.workorders.store import Order

OPEN_STATES = ["registered", "dispatched", "accepted", "sent_back", "replied", "return_visit"]
FIELD_LABELS = {"reason": "理由", "department": "承办部门", "working_days": "延期工作日", "reply": "答复内容",
                "rating": "评价"}
RATINGS = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}
CONSOLE_ACTIONS = [a for a in Action if a not in (Action.CREATE, Action.MERGE)]


def departments_with_lines(sources: ConsoleSources) -> list[dict[str, str]]:
    registry = sources.registry()
    return [{"id": d.id, "name": d.name, "short_code": d.line.short_code}
            for d in registry.departments.values() if d.line is not None]


def expert_groups(sources: ConsoleSources) -> list[str]:
    acd = sources.acd()
    if acd is None:
        return []
    return sorted({g for a in acd.agents.values() for g in a.groups})


def agent_desk(sources: ConsoleSources, who: Principal, token: str) -> web.Response:
    desk = sources.desk()
    categories = [{"id": c, "name": t.name} for c, t in desk.limits.time_limits.items()] if desk else []
    registry = sources.registry()
    return page("agent.html", session_token=token, who=who, states=AGENT_STATES, pause_reasons=PAUSE_REASONS,
                lines=departments_with_lines(sources), groups=expert_groups(sources), categories=categories,
                departments=[{"id": d.id, "name": d.name} for d in registry.departments.values()],
                away=[AgentState.LOGGED_OUT.value, AgentState.PAUSED.value])


def _order_row(sources: ConsoleSources, order: Order) -> dict[str, Any]:
    data = order.to_json()
    data["urgency"] = urgency(order.deadline, order.state.state not in TERMINAL, sources.now(), sources.zone)
    data["deadline_local"] = order.deadline.astimezone(sources.zone).strftime("%m-%d %H:%M") if order.deadline else ""
    return data


async def department_desk(sources: ConsoleSources, who: Principal, token: str, asked: str) -> web.Response:
    registry = sources.registry()
    if who.role == "department":
        if asked and asked != who.department:
            return refusal(403, "只能查看本部门的工单和知识库")
        department = who.department
    elif who.role in SUPERVISION:
        department = asked or next(iter(registry.departments), "")
    else:
        return refusal(403, "部门工作台只对部门承办人和班长开放")
    if department not in registry.departments:
        return refusal(404, f"没有部门 {department}")
    desk, knowledge = sources.desk(), sources.knowledge()
    orders = [_order_row(sources, o) for o in await desk.orders(department, OPEN_STATES, "", 200)] if desk else []
    entries = [knowledge.version_json(v) for v in await knowledge.listing(department, None, 200)] if knowledge else []
    return page("department.html", session_token=token, who=who, department=registry.departments[department],
                departments=list(registry.departments.values()) if who.role in SUPERVISION else [],
                orders=by_urgency(orders), entries=entries, available=desk is not None)


def _actor(who: Principal) -> Actor:
    return Actor(who.actor_id, Role(who.role), who.department or None)


async def order_page(sources: ConsoleSources, who: Principal, token: str, number: str) -> web.Response:
    desk = sources.desk()
    if desk is None:
        return refusal(503, "工单系统尚未就绪（数据库未连接），请稍后刷新")
    order = await desk.get(number)
    if order is None or (who.role == "department" and order.state.department != who.department):
        return refusal(404, f"没有工单 {number}")
    allowed = [a for a in allowed_actions(order.state, _actor(who)) if a in CONSOLE_ACTIONS]
    forms = [{"action": a.value, "label": a.label, "fields": [*RULES[a].required, *RULES[a].optional],
              "required": list(RULES[a].required)} for a in allowed]
    registry = sources.registry()
    return page("order.html", session_token=token, who=who, order=_order_row(sources, order),
                history=await desk.history(number), forms=forms, labels=FIELD_LABELS, ratings=RATINGS,
                departments=list(registry.departments.values()))


def wallboard(sources: ConsoleSources, who: Principal, token: str) -> web.Response:
    if who.role not in SUPERVISION:
        return refusal(403, "监控大屏只对班长和管理员开放")
    return page("wallboard.html", session_token=token, who=who, states=AGENT_STATES)
