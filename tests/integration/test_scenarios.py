"""`hotline scenario run` against a real Asterisk and `hotline serve` started by the harness: scenarios
from the catalogue (tests/scenarios/) pass with their JUnit file, peers started as each scenario
says (a department's seats, agents who log in at once or later, the citizen called back over the
outbound trunk); with the dialplan unloaded the same scenario fails with a sentence that says why."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from ari_app.sandbox.confgen import SipPeer
from ari_app.sandbox.proc import free_port_both
from ari_app.scenarios.api import Api
from ari_app.scenarios.model import Login
from tests.harness.agents import AgentSpec
from tests.harness.records import _fetch
from tests.harness.services import REPO, registry_copy
from tests.integration.conftest import QueueStack
from tests.integration.test_return_visits import _settings

DEPARTMENTS = ("12333", "12319", "12348", "12315", "12329", "12366", "12313", "12305")
# Side by side: the 12345 greeting cut short, a merged number, a number the hotline does not have;
# then alone: an agent who logs in with *72 and answers, a department whose own seats answer, a
# caller who keeps the place and is called back once the agent logs in (callback_after 3 here); an
# order filed and replied over HTTP whose return visit the citizen answers with 1.
SCENARIOS = ["caller-hangs-up-during-greeting", "number-12336", "unknown-number", "queue-agent-answers",
             "department-answers", "callback-agent-first", "return-visit-satisfied"]


def _run(q: QueueStack, ports: tuple[int, int], junit: Path, *names: str) -> subprocess.CompletedProcess[str]:
    department_port, trunk_port = ports
    return subprocess.run(
        [sys.executable, "-m", "ari_app.cli", "scenario", "run", *names,
         "--target", f"127.0.0.1:{q.stack.asterisk.sip_port}", "--dsn", q.dsn,
         "--secrets", str(q.stack.asterisk.state_dir / "secrets.env"),
         "--department", f"127.0.0.1:{department_port}", "--trunk", f"127.0.0.1:{trunk_port}",
         "--http", q.serve.http, "--junit", str(junit), "--artifacts", str(q.base / "scenario-artifacts")],
        capture_output=True, text=True, timeout=380, cwd=REPO,
    )


@pytest.mark.timeout(400)  # about 2.5 minutes: a callback (30 s), a return visit (45 s), a department line's qualify
def test_scenarios_pass_then_fail_readably_without_the_dialplan(
    queue_stack: Callable[..., QueueStack], artifacts: Path,
) -> None:
    ports = (free_port_both(), free_port_both())  # the department lines, the outbound trunk
    registry = registry_copy(artifacts / "hotlines.yaml", {f"dept-{n}": ports[0] for n in DEPARTMENTS})
    trunk = SipPeer("return-visit", f"sip:return-visit@127.0.0.1:{ports[1]}", context="hotline-department")
    # Agent 1001 exists with a password, but its phone is the runner's, started by the scenario.
    q = queue_stack([AgentSpec("1001", phone="")], registry=registry, peers=(trunk,), callback_after=3,
                    env={"HOTLINE_RETURN_VISITS": str(_settings(artifacts / "rv.yaml", 1))})

    good = _run(q, ports, artifacts / "junit.xml", *SCENARIOS)
    assert good.returncode == 0, good.stdout + good.stderr
    assert f"{len(SCENARIOS)} passed, 0 failed, {len(SCENARIOS)} scenarios" in good.stdout
    assert all(f"PASS {name}" in good.stdout for name in SCENARIOS), good.stdout  # the progress lines
    suite = ET.parse(artifacts / "junit.xml").getroot()  # noqa: S314 (our own file)
    assert (suite.get("tests"), suite.get("failures")) == (str(len(SCENARIOS)), "0")
    assert [c.get("name") for c in suite.iter("testcase")] == SCENARIOS
    _the_runs_accounts_are_disabled_afterwards(q)

    q.stack.asterisk.cli("module unload pbx_config")  # the hotline's dialplan is no longer deployed
    try:
        bad = _run(q, ports, artifacts / "junit-bad.xml", "caller-hangs-up-during-greeting")
    finally:
        q.stack.asterisk.cli("module load pbx_config")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    row = next(line for line in bad.stdout.splitlines() if line.startswith("caller-hangs-up-during-greeting "))
    assert "FAIL" in row and "INVITE to 12345 answered 404 Not Found" in row, bad.stdout
    assert "is the hotline dialplan deployed on the target?" in (artifacts / "junit-bad.xml").read_text()
    kept = q.base / "scenario-artifacts" / "caller-hangs-up-during-greeting" / "caller" / "messages.log"
    assert "SIP/2.0 404 Not Found" in kept.read_text(), "the failed scenario's SIPp trace is kept"
    assert not (q.base / "scenario-artifacts" / "queue-agent-answers").exists()  # passed: not kept


def _the_runs_accounts_are_disabled_afterwards(q: QueueStack) -> None:
    """The HTTP steps' accounts, made in the target's database, do not outlive the run."""
    api = Api(q.serve.http, q.dsn)
    supervisor = Login("supervisor")
    status, me = api.request("GET", "/me", None, supervisor)
    assert status == 200 and me["name"] == "scenario-supervisor", me
    token = api._tokens[supervisor.name]
    api.close()
    request = urllib.request.Request(f"{q.serve.http}/me", headers={"Authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
    rows = asyncio.run(_fetch(q.dsn, "SELECT disabled FROM accounts WHERE name = 'scenario-supervisor'"))
    assert rows == [{"disabled": True}]
