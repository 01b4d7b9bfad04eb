"""The web console in a real headless Chromium (Debian's, driven by Playwright) against the running
service, a real Asterisk and SIPp phones: the agent's screen pop within a second of answer, the
knowledge search and an order filed from the desk; the department handler accepting and replying;
the supervisor's wallboard following it all without a reload; and the web-security rules (another
department's pages, a state change without the CSRF token, the sign-in throttle, escaped output).
Screenshots are kept in test-artifacts/console/."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import playwright.sync_api as playwright_api
import pytest

from tests.conftest import ARTIFACTS
from tests.harness.agents import AgentSpec, agents_state
from tests.harness.auth import ensure_account
from tests.harness.records import calls_from
from tests.integration.conftest import QueueStack

expect = playwright_api.expect
pytestmark = pytest.mark.integration

T = TypeVar("T")
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ARTIFACTS / "console"
PASSWORD = "console-test-pass-9"
ACCOUNTS = {  # login -> (role, department, agent seat)
    "agent-1001": ("agent", "", "1001"), "civil-li": ("department", "civil-affairs", ""),
    "water-wang": ("department", "water", ""), "sup-zhao": ("supervisor", "", ""),
}
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless. Started after the stack (whose helpers run event loops of their
    own) and closed before the stack's teardown, since Playwright keeps one running meanwhile."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: scripts/bootstrap --test installs it")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield launched
        except BaseException:
            for n, context in enumerate(launched.contexts):  # what each page showed when the test failed
                for m, page in enumerate(context.pages):
                    _shot(page, f"failed-{n}-{m}")
            raise
        finally:
            launched.close()


def _sign_in(browser: Any, base: str, name: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10000)
    page.goto(f"{base}/console")
    assert page.url.endswith("/console/login"), page.url  # not signed in: the sign-in form
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _apart(work: Callable[[], T]) -> T:
    """``work`` in a thread of its own: Playwright's sync API keeps an event loop running in this
    one, and the harness's database helpers start their own (asyncio.run)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()


def _stack(queue_stack: Callable[..., QueueStack]) -> QueueStack:
    q = queue_stack([AgentSpec("1001", phone="answer-then-bye", hold_ms=120000)], wrap_up=4)
    for name, (role, department, agent) in ACCOUNTS.items():
        ensure_account(q.dsn, name, role, PASSWORD, department, agent)
    return q


def test_a_call_to_12349_pops_on_the_desk_and_the_order_goes_round(queue_stack: Callable[..., QueueStack]) -> None:
    q = _stack(queue_stack)
    with chromium() as browser:
        _call_and_order_round(q, browser)


def _call_and_order_round(q: QueueStack, browser: Any) -> None:
    base = q.serve.http
    board = _sign_in(browser, base, "sup-zhao")
    assert board.url.endswith("/console/wallboard")
    board.evaluate("window.notReloaded = true")
    desk = _sign_in(browser, base, "agent-1001")
    assert desk.url.endswith("/console/agent")

    desk.click("button[data-agent-action=login]")
    desk.wait_for_selector("#agent-state[data-state=ready]")
    expect(board.locator("#agents tbody")).to_contain_text("空闲")

    caller, sipp = q.call("12349", listen_ms=120000)
    desk.wait_for_selector("#pop-details:not([hidden])", timeout=30000)
    expect(desk.locator("#pop-status")).to_have_text("通话中", timeout=30000)
    seen = time.time()
    agent = _apart(lambda: agents_state(base))["1001"]
    assert agent["state"] == "busy", agent
    assert seen - agent["since"] < 1.0, f"the screen pop came {seen - agent['since']:.2f} s after the answer"
    assert desk.inner_text("#pop-line") == "12349 全国统一民政服务电话"
    assert "整体并入12345" in desk.inner_text("#pop-mode") and "市民政局" in desk.inner_text("#pop-mode")
    assert desk.inner_text("#pop-caller") == caller
    assert desk.input_value("#order-department") == "civil-affairs"  # suggested by the dialed number
    expect(board.locator("#agents tbody")).to_contain_text("通话中")

    desk.fill("#kb-q", "低保怎么申请")
    desk.click("#kb-form button")
    desk.wait_for_selector("#kb-results li strong")
    assert "低保" in desk.inner_text("#kb-results")

    desk.select_option("#order-category", "request")
    desk.fill("#order-content", "咨询低保申请材料 <b>请回电</b>")
    desk.fill("#order-address", "中华路1号")
    desk.click("#order-form button[type=submit]")
    expect(desk.locator("#order-result")).to_contain_text("工单")
    number = re.search(r"\d{8}-\d{6}", desk.inner_text("#order-result"))
    assert number, desk.inner_text("#order-result")
    order = number.group(0)
    _shot(desk, "agent-desk-on-call")

    call_id = _apart(lambda: calls_from(q.dsn, caller))[-1]["call_id"]
    q.stack.ari.delete(f"/channels/{call_id}")  # the caller hangs up: the agent wraps up
    desk.wait_for_selector("#wrapup:not([hidden])")
    assert int(desk.inner_text("#wrapup-left")) <= 4
    expect(board.locator("#agents tbody")).to_contain_text("话后整理")
    assert sipp.wait(30).returncode == 0
    desk.wait_for_selector("#agent-state[data-state=ready]", timeout=15000)

    civil = _sign_in(browser, base, "civil-li")
    assert civil.url.endswith("/console/department")
    row = civil.locator(f"#orders tr[data-number='{order}']")
    assert "咨询低保申请材料 <b>请回电</b>" in row.inner_text()  # shown as the text typed, not as markup
    assert civil.locator("#orders b").count() == 0
    _shot(civil, "department-desk")
    civil.click(f"a[href='/console/orders/{order}']")
    civil.click("#form-accept button[type=submit]")
    civil.wait_for_selector("#form-reply")
    civil.fill("#reply-reply", "已告知所需材料：身份证、户口簿、收入证明。")
    civil.click("#form-reply button[type=submit]")
    expect(civil.locator("#order-state")).to_contain_text("已回复")
    _shot(civil, "department-order-replied")

    expect(board.locator("#latest-orders tbody tr", has_text=order)).to_contain_text("已回复", timeout=15000)
    expect(board.locator("#by-hotline tbody")).to_contain_text("12349")
    assert board.evaluate("window.notReloaded") is True, "the wallboard was reloaded"
    hotline_row = board.locator("#by-hotline tbody tr", has_text="12349").inner_text().split("\t")
    assert hotline_row[3] == "1", hotline_row  # one call answered on 12349
    _shot(board, "wallboard")


def test_a_handler_cannot_reach_another_departments_pages_and_state_changes_need_the_csrf_token(
    queue_stack: Callable[..., QueueStack],
) -> None:
    q = _stack(queue_stack)
    with chromium() as browser:
        _security_rules(q, browser)


def _security_rules(q: QueueStack, browser: Any) -> None:
    base = q.serve.http
    civil = _sign_in(browser, base, "civil-li")
    filed = civil.request.post(f"{base}/work-orders", data={
        "category": "request", "content": "路灯不亮", "department": "civil-affairs"},
        headers={"X-CSRF-Token": civil.locator("meta[name=csrf]").get_attribute("content")})
    assert filed.status == 403, filed.text()  # with the token, but a handler does not file orders
    supervisor = _sign_in(browser, base, "sup-zhao")
    token = supervisor.locator("meta[name=csrf]").get_attribute("content")
    refused = supervisor.request.post(f"{base}/work-orders", data={
        "category": "request", "content": "路灯不亮", "department": "civil-affairs"})
    assert refused.status == 403 and "CSRF" in refused.json()["error"], refused.text()
    filed = supervisor.request.post(f"{base}/work-orders", data={
        "category": "request", "content": "路灯不亮", "department": "civil-affairs"}, headers={"X-CSRF-Token": token})
    assert filed.status == 201, filed.text()
    order = filed.json()["number"]
    wrong = supervisor.request.post(f"{base}/work-orders/{order}/merge", data={}, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status == 403

    water = _sign_in(browser, base, "water-wang")
    assert water.goto(f"{base}/console/orders/{order}").status == 404
    assert water.goto(f"{base}/console/department?department=civil-affairs").status == 403
    assert water.goto(f"{base}/console/wallboard").status == 403
    assert water.goto(f"{base}/console/agent").status == 403
    page = water.goto(f"{base}/console/department")
    assert page.status == 200 and order not in water.inner_text("#orders")
    assert civil.goto(f"{base}/console/orders/{order}").status == 200

    cookie = next(c for c in water.context.cookies() if c["name"] == "hotline_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    water.click("text=退出登录")
    assert water.url.endswith("/console/login")
    assert water.goto(f"{base}/console/department").url.endswith("/console/login")  # the session is closed

    stranger = browser.new_context().new_page()
    stranger.goto(f"{base}/console/login")
    statuses = [stranger.evaluate(
        "async (n) => (await fetch('/console/login', {method: 'POST', body: new URLSearchParams("
        "{name: 'sup-zhao', password: 'guess-' + n})})).status", n) for n in range(6)]
    assert statuses[:5] == [401] * 4 + [429] and statuses[5] == 429, statuses  # throttled like POST /login
    stranger.fill("#name", "sup-zhao")
    stranger.fill("#password", PASSWORD)
    stranger.click("button[type=submit]")
    assert "登录失败次数过多" in stranger.inner_text("[role=alert]")  # even the right password waits
