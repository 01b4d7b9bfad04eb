"""The README's deployment steps, checked: Asterisk on its stock configuration (Debian's packaged
/etc/asterisk) plus only the README's snippets and steps, `hotline serve` reading the environment
file made from packaging/hotline.env.example, then `hotline doctor` (all OK) and one call: the
queued caller hears music, an agent answers and the two talk through Asterisk (no re-INVITE to
direct media), and `hotline reload` works with the same environment file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ari_app.deploy.envfile import parse_env
from ari_app.deploy.snippets import INCLUDE_DIR
from ari_app.sandbox.postgres import PostgresCluster
from ari_app.sandbox.proc import free_port, free_port_both, new_password
from tests.harness.agents import AgentSpec, Phones, agent_action, agents_state, write_seats
from tests.harness.ari import AriProbe
from tests.harness.records import calls_from, closed_call_from, timed_events
from tests.harness.rtp import RtpSink
from tests.harness.services import REPO, ServeProcess, Stack, assert_no_leaks
from tests.harness.sipp import SippResult, place_call
from tests.harness.stock import StockAsterisk
from tests.harness.wait import wait_for

ENV_EXAMPLE = REPO / "packaging" / "hotline.env.example"
DEPARTMENT_LINES = 8


@dataclass
class EnvFileServe(ServeProcess):
    """`hotline serve` as systemd runs it: nothing in its environment but the environment file."""

    env_file: Path = Path()

    def env(self) -> dict[str, str]:
        return {**{k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")},
                "HOTLINE_ENV_FILE": str(self.env_file)}


def hotline(env_file: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}, "HOTLINE_ENV_FILE": str(env_file)}
    return subprocess.run([sys.executable, "-m", "ari_app.cli", *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=60)


def write_env_file(dest: Path, values: dict[str, str]) -> Path:
    """The example with this install's values: every variable set here is one the example names."""
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    example = parse_env(text, str(ENV_EXAMPLE))
    assert set(values) <= set(example), f"not in the example: {set(values) - set(example)}"
    lines = [f"{line.partition('=')[0]}={values[line.partition('=')[0]]}" if line.partition("=")[0] in values
             else line for line in text.splitlines()]
    dest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dest.chmod(0o640)
    return dest


def rtp_port(ari: AriProbe, prefix: str) -> int:
    """Asterisk's RTP port on the channel whose name starts with ``prefix``."""
    channel = next(c for c in ari.channels() if c["name"].startswith(prefix))
    value = ari.get(f"/channels/{channel['id']}/variable?variable=CHANNEL(rtp%2Csrc)")["value"]
    return int(value.rsplit(":", 1)[1])


def invites(result: SippResult) -> list[str]:
    return [line for line in result.start_lines() if line.startswith("INVITE ")]


@pytest.fixture
def deployed(postgres: PostgresCluster, artifacts: Path) -> Iterator[tuple[StockAsterisk, EnvFileServe, Phones]]:
    asterisk = StockAsterisk.create(
        f"deploy{os.getpid() % 10000}", sip_port=free_port_both(), http_port=free_port(), ami_port=free_port(),
        agi_port=free_port(), ari_password=new_password(), ami_password=new_password(),
        state_dir=artifacts / "state")
    asterisk.render()  # the stock configuration and the README's snippets
    agent = AgentSpec("1001", phone="answer-then-bye", hold_ms=8000)
    seats = write_seats(artifacts / "seats.yaml", [agent], ring_timeout=5, wrap_up=1, widen_after=4,
                        announce_every=600, rating_after_call=False)
    registry = artifacts / "hotlines.yaml"  # the department lines: this Asterisk answers their OPTIONS
    registry.write_text((REPO / "config" / "hotlines.yaml").read_text(encoding="utf-8").replace(
        "@127.0.0.1:5099", f"@127.0.0.1:{asterisk.sip_port}"), encoding="utf-8")
    http_port, dsn = free_port(), postgres.create_database(f"deploy{os.getpid()}")
    env_file = write_env_file(artifacts / "hotline.env", {
        "HOTLINE_ARI_URL": asterisk.ari_url, "HOTLINE_ARI_PASSWORD": asterisk.ari_password,
        "HOTLINE_AMI_PORT": str(asterisk.ami_port), "HOTLINE_AMI_SECRET": asterisk.ami_password,
        "HOTLINE_DSN": dsn, "HOTLINE_HTTP_PORT": str(http_port), "HOTLINE_AGI_PORT": str(asterisk.agi_port),
        "HOTLINE_REGISTRY": str(registry), "HOTLINE_SEATS": str(seats),
        "HOTLINE_ASTERISK_INCLUDE_DIR": str(asterisk.etc / INCLUDE_DIR), "HOTLINE_STATE_DIR": str(asterisk.state_dir),
        "HOTLINE_API_PASSWORD": "reload-" + new_password(), "HOTLINE_LOG_LEVEL": "debug"})
    # The README's steps outside Asterisk's configuration: render the include files, prompts and music.
    rendered = hotline(env_file, "render", "--out", str(asterisk.etc / INCLUDE_DIR))
    assert rendered.returncode == 0, rendered.stderr
    asterisk.copy_sounds()
    serve = EnvFileServe(Stack(asterisk, asterisk.agi_port, asterisk.ari_app), dsn, artifacts / "serve.log",
                         http_port=http_port, env_file=env_file)
    phones = Phones([agent], artifacts / "phones")
    try:
        asterisk.start(timeout=90)
        serve.start().wait_ready(30)
        phones.start(asterisk.sip_port, asterisk.state_dir).wait_registered(serve.stack.ari)
        wait_for(lambda: agents_state(serve.http)["1001"]["phone"] == "registered", 10, "the phone seen registered")
        yield asterisk, serve, phones
        assert_no_leaks(serve.stack, 15)
        assert "moh_failed" not in serve.log_text() and "call_flow_failed" not in serve.log_text()
    finally:
        serve.stop()
        phones.stop()
        asterisk.stop()
        if asterisk.log_dir.exists():
            shutil.copytree(asterisk.log_dir, artifacts / "asterisk", dirs_exist_ok=True)
        asterisk.remove()


def test_readme_deployment_on_stock_asterisk(deployed: tuple[StockAsterisk, EnvFileServe, Phones],
                                             artifacts: Path) -> None:
    asterisk, serve, phones = deployed
    env_file = serve.env_file
    added = hotline(env_file, "user", "add", "reloader", "--role", "supervisor", "--password-stdin",
                    stdin=parse_env(env_file.read_text(encoding="utf-8"))["HOTLINE_API_PASSWORD"] + "\n")
    assert added.returncode == 0, added.stderr

    # hotline doctor, from the environment file alone: every check OK.
    wait_for(lambda: sum(" Avail " in line for line in asterisk.cli("pjsip show contacts").splitlines()
                         if "dept-" in line) == DEPARTMENT_LINES, 20, "the department lines to answer OPTIONS")
    doctor = hotline(env_file, "doctor", "--json")
    (artifacts / "doctor.json").write_text(doctor.stdout)
    checks = json.loads(doctor.stdout)["checks"]
    assert doctor.returncode == 0 and all(c["status"] == "OK" for c in checks), doctor.stdout
    assert {"endpoint options", "endpoint identification", "include files", "music on hold"} <= {
        c["check"] for c in checks}

    # A caller queues (nobody logged in yet) and hears music from Debian's default class.
    sink = RtpSink().start()
    try:
        caller = f"1391{os.getpid() % 10000:04d}001"
        sipp = place_call("greeting-12345", target_port=asterisk.sip_port, caller=caller, service="12345",
                          trace_dir=artifacts / "caller", listen_ms=40000, rtp_port=sink.port)
        dsn = serve.dsn

        def event(kind: str) -> dict[str, object] | None:
            rows = calls_from(dsn, caller)
            events = timed_events(dsn, rows[-1]["call_id"]) if rows else []
            return next((e for e in events if e["kind"] == kind), None)

        wait_for(lambda: event("queued"), 30, "the caller queued")
        heard = sink.voiced_seconds
        wait_for(lambda: sink.voiced_seconds >= heard + 2.0, 10, "music on hold reaching the queued caller")

        # The agent logs in and answers; media flows through Asterisk to both phones.
        assert agent_action(serve.http, "1001", "login")["state"] in ("ready", "ringing", "busy")
        wait_for(lambda: event("agent_connected"), 20, "the agent connected")
        # Both talk (a tone from the port each SDP named); each must hear the other through Asterisk.
        agent_sink = phones.sinks["1001"]
        for who, sink_of in (("PJSIP/trunk-", sink), ("PJSIP/agent-1001-", agent_sink)):
            sink_of.talk("127.0.0.1", rtp_port(serve.stack.ari, who))
        before = (sink.voiced_seconds, agent_sink.voiced_seconds)
        wait_for(lambda: sink.voiced_seconds >= before[0] + 1.0 and agent_sink.voiced_seconds >= before[1] + 1.0,
                 10, "each side hearing the other")
        caller_result = sipp.wait(30)
    finally:
        sink.stop()
    assert caller_result.returncode == 0, caller_result.output[-2000:]
    record = wait_for(lambda: closed_call_from(serve.dsn, caller), 15, "the call record")
    assert record["outcome"] == "answered", record
    phone = phones.running.pop("1001").stop()
    assert len(invites(caller_result)) == 1, caller_result.start_lines()  # its own: no re-INVITE came
    assert len(invites(phone)) == 1, phone.start_lines()  # the offer only: no re-INVITE to direct media

    # hotline reload with the same environment file: a department line moves; Asterisk and the service follow.
    registry = Path(parse_env(env_file.read_text(encoding="utf-8"))["HOTLINE_REGISTRY"])
    registry.write_text(registry.read_text(encoding="utf-8").replace(
        f"sip:12333@127.0.0.1:{asterisk.sip_port}", "sip:12333@127.0.0.1:5098"), encoding="utf-8")
    reloaded = hotline(env_file, "reload")
    (artifacts / "reload.out").write_text(reloaded.stdout + reloaded.stderr)
    assert reloaded.returncode == 0, reloaded.stdout + reloaded.stderr
    assert "service: registry reloaded" in reloaded.stdout, reloaded.stdout
    wait_for(lambda: "127.0.0.1:5098" in asterisk.cli("pjsip show aor dept-12333"), 10, "the new contact loaded")
