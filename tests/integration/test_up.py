"""`scripts/up` brings the whole hotline up; a newcomer follows its banner: registers a softphone as
agent 1001, logs in with *72 and answers a citizen's call to 12345; Ctrl-C stops all."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from ari_app.sandbox import state as install_state
from ari_app.sandbox.asterisk import root_dir, run_dir_for, system_asterisk
from ari_app.sandbox.proc import free_port, free_port_both
from tests.harness.auth import login, use_token
from tests.harness.records import call_events, closed_call_from
from tests.harness.rtp import RtpSink
from tests.harness.services import REPO
from tests.harness.sipp import Account, place_authenticated_call, place_call, start_phone
from tests.harness.wait import wait_for


def _console_page(http_port: int, name: str, password: str) -> Any:
    """Sign in on the console's form (the session in a cookie, as a browser keeps it): the page it leads to."""
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = urllib.parse.urlencode({"name": name, "password": password}).encode()
    return browser.open(f"http://127.0.0.1:{http_port}/console/login", data=form, timeout=10)


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found


def _agent(http_port: int, agent_id: str = "1001") -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/agents", timeout=5) as response:
        agents: list[dict[str, Any]] = json.loads(response.read())["agents"]
    return next(a for a in agents if a["id"] == agent_id)


def test_scripts_up_a_newcomer_registers_as_agent_and_answers_12345_then_ctrl_c_stops_all(artifacts: Path) -> None:
    state_dir = artifacts / "state"
    sip_port, http_port = free_port_both(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(
        HOTLINE_STATE_DIR=str(state_dir),
        HOTLINE_SIP_PORT=str(sip_port),
        HOTLINE_HTTP_PORT=str(http_port),
        HOTLINE_AGI_PORT=str(free_port()),
        HOTLINE_RTP_START=str(24000 + os.getpid() % 2000),
    )
    stderr_path = artifacts / "up.stderr"
    with open(artifacts / "up.stdout", "wb") as out, open(stderr_path, "wb") as err:
        up = subprocess.Popen([str(REPO / "scripts" / "up")], stdout=out, stderr=err, env=env, cwd=REPO)
    sandbox = install_state.sandbox_name(state_dir)
    pg_dir = install_state.pg_data_dir(state_dir)
    try:
        wait_for(lambda: b"12345 hotline is up" in stderr_path.read_bytes() or up.poll() is not None, 120,
                 "scripts/up to say it is up")
        assert up.poll() is None, stderr_path.read_text()
        banner = stderr_path.read_text()
        assert f"sip:12345@127.0.0.1:{sip_port}" in banner and f"http://127.0.0.1:{http_port}" in banner

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/readyz", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_for(ready, 30, "/readyz of scripts/up")
        # The API after the supervisor login the banner printed.
        supervisor = re.search(r"supervisor / (\S+) \(wallboard\)", banner)
        assert supervisor, banner
        use_token(f"http://127.0.0.1:{http_port}", login(f"http://127.0.0.1:{http_port}", "supervisor",
                                                         supervisor.group(1)))
        # The console in a browser's way: the sign-in form with the banner's agent login, then the desk.
        console = re.search(r"agent-1001 / (\S+) \(agent desk", banner)
        assert console, banner
        desk = _console_page(http_port, "agent-1001", console.group(1))
        assert desk.geturl().endswith("/console/agent") and "座席工作台" in desk.read().decode()

        # A newcomer registers a softphone as agent 1001 with the credentials the banner printed,
        # logs in with *72, and answers a citizen's call to 12345.
        password = re.search(r"user agent-1001, password (\S+),", banner)
        assert password, banner
        agent = Account("agent-1001", password.group(1), sip_port)
        wrong = start_phone("answer-then-bye", account=Account("agent-1001", "not-" + password.group(1), sip_port),
                            port=free_port_both(), trace_dir=artifacts / "wrong-password").wait(20)
        assert wrong.returncode != 0 and wrong.responses() == {"SIP/2.0 401 Unauthorized"}, wrong.start_lines()
        phone = start_phone("answer-then-bye", account=agent, port=free_port_both(), trace_dir=artifacts / "phone",
                            hold_ms=3000)
        try:
            wait_for(lambda: _agent(http_port)["phone"] == "registered", 20, "agent 1001's phone registered")
            star72 = place_authenticated_call(agent, service="*72", trace_dir=artifacts / "star72").wait(30)
            assert star72.returncode == 0, star72.output[-2000:]
            wait_for(lambda: _agent(http_port)["state"] == "ready", 10, "agent 1001 logged in by *72")
            sink = RtpSink().start()
            try:
                result = place_call(
                    "greeting-12345", target_port=sip_port, caller="13512345678", trace_dir=artifacts / "sipp",
                    rtp_port=sink.port, listen_ms=30000,
                ).wait(60)
            finally:
                sink.stop()
        finally:
            phone.stop()
        assert result.returncode == 0, result.output[-2000:]
        assert sink.voiced_seconds >= 4.0, f"heard only {sink.voiced_seconds:.2f}s of the greeting"
        dsn = install_state.load_or_create(state_dir)["HOTLINE_DSN"]
        record = wait_for(lambda: closed_call_from(dsn, "13512345678"), 10, "the call record")
        assert record["outcome"] == "answered" and record["hotline"] == "12345", record
        connected = [e["detail"] for e in call_events(dsn, record["call_id"]) if e["kind"] == "agent_connected"]
        assert [c["agent"] for c in connected] == ["1001"]

        up.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert up.wait(60) == 0, stderr_path.read_text()[-2000:]
        assert not _processes_mentioning(f"hotline-runs/{sandbox}/"), "Asterisk left running"
        assert not _processes_mentioning(str(pg_dir)), "PostgreSQL left running"
        assert (state_dir / "secrets.env").stat().st_mode & 0o077 == 0, "secrets.env readable by others"
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
        for line in _processes_mentioning(f"hotline-runs/{sandbox}/") + _processes_mentioning(str(pg_dir)):
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
        shutil.rmtree(pg_dir, ignore_errors=True)
        run_dir = run_dir_for(sandbox, None if system_asterisk() else root_dir())
        if run_dir.exists():
            shutil.copytree(run_dir / "log", artifacts / "asterisk", dirs_exist_ok=True)
            shutil.rmtree(run_dir, ignore_errors=True)
