"""HTTP of the console (``/console``): sign-in and sign-out with the session cookie, the pages by
role, the live streams (Server-Sent Events) and the console's own JavaScript and CSS. Everything a
page changes goes through the JSON API with the session's CSRF token."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from ari_app.accounts.cookies import SESSION_TOKEN, clear_session_cookie, set_session_cookie
from ari_app.accounts.signin import SignIn
from ari_app.console import pages
from ari_app.console.board import BoardFacts
from ari_app.console.live import LiveViews
from ari_app.console.render import page, refusal
from ari_app.console.sources import ConsoleSources
from ari_app.logs import get_logger
from ari_app.web.inputs import InputError, ready
from ari_app.web.principal import SUPERVISION, principal
from ari_app.workorders.numbers import is_number

log = get_logger("console")
STATIC = Path(__file__).resolve().parent / "static"
NAME_TEXT, PASSWORD_TEXT = 64, 200
HOME = {"agent": "/console/agent", "department": "/console/department", "supervisor": "/console/wallboard",
        "admin": "/console/wallboard"}


def add_console_routes(app: web.Application, sources: ConsoleSources, sign_in: SignIn) -> None:
    live = LiveViews(sources, BoardFacts(sources.pool, sources.zone, sources.now, sources.staffing))

    def token(request: web.Request) -> str:
        return request.get(SESSION_TOKEN) or ""

    async def login_form(_request: web.Request) -> web.Response:
        return page("login.html", who=None, error="", name="")

    async def login(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        name, password = str(form.get("name", ""))[:NAME_TEXT], str(form.get("password", ""))[:PASSWORD_TEXT]
        try:
            account, session, _expires = await sign_in(name.strip(), password, request.remote or "")
        except InputError as exc:
            message = {401: "用户名或密码错误，或账号已停用", 429: "登录失败次数过多，请稍后再试",
                       503: "系统尚未就绪（数据库未连接），请稍后再试"}.get(exc.status, exc.error)
            response = page("login.html", status=exc.status, who=None, error=message, name=name)
            if isinstance(exc.details.get("retry_after"), int):
                response.headers["Retry-After"] = str(exc.details["retry_after"])
            return response
        response = web.HTTPSeeOther(HOME.get(account.role.value, "/console"))
        set_session_cookie(response, request, session, sign_in.ttl_seconds)
        log.info("console_login", name=account.name, role=account.role.value)
        return response

    async def logout(request: web.Request) -> web.StreamResponse:
        principal(request)
        await ready(sign_in.accounts()).close_session(token(request))
        response = web.HTTPSeeOther("/console/login")
        clear_session_cookie(response)
        return response

    async def home(request: web.Request) -> web.StreamResponse:
        raise web.HTTPSeeOther(HOME.get(principal(request).role, "/console/login"))

    async def agent_desk(request: web.Request) -> web.Response:
        who = principal(request)
        if who.role != "agent":
            return refusal(403, "座席工作台只对座席账号开放")
        return pages.agent_desk(sources, who, token(request))

    async def department_desk(request: web.Request) -> web.Response:
        return await pages.department_desk(sources, principal(request), token(request),
                                           request.query.get("department", "")[:NAME_TEXT])

    async def order(request: web.Request) -> web.Response:
        number = request.match_info["number"]
        if not is_number(number):
            return refusal(404, "工单号格式应为 20261130-000123")
        return await pages.order_page(sources, principal(request), token(request), number)

    async def wallboard(request: web.Request) -> web.Response:
        return pages.wallboard(sources, principal(request), token(request))

    async def agent_events(request: web.Request) -> web.StreamResponse:
        who = principal(request)
        if who.role != "agent":
            return refusal(403, "座席工作台只对座席账号开放")
        return await live.stream(request, "agent", lambda: live.agent(who.agent_id))

    async def board_events(request: web.Request) -> web.StreamResponse:
        if principal(request).role not in SUPERVISION:
            return refusal(403, "监控大屏只对班长和管理员开放")
        return await live.stream(request, "board", live.board)

    async def closing(_app: web.Application) -> None:
        live.closing.set()

    app.on_shutdown.append(closing)
    app.router.add_get("/console", home)
    app.router.add_get("/console/login", login_form)
    app.router.add_post("/console/login", login)
    app.router.add_post("/console/logout", logout)
    app.router.add_get("/console/agent", agent_desk)
    app.router.add_get("/console/department", department_desk)
    app.router.add_get("/console/orders/{number}", order)
    app.router.add_get("/console/wallboard", wallboard)
    app.router.add_get("/console/events/agent", agent_events)
    app.router.add_get("/console/events/board", board_events)
    app.router.add_static("/console/static/", STATIC, append_version=False)
