"""`hotline doctor` against the real sandbox Asterisk: all OK on a working stack; a module unloaded,
a wrong ARI password and a missing prompt give exactly three FAILs, each with its fix."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.harness.agents import AgentSpec
from tests.harness.services import REPO, registry_copy
from tests.harness.wait import wait_for
from tests.integration.conftest import QueueStack

DEPARTMENT_LINES = 8  # dual-number departments and sub-centers: they keep seats


def doctor(q: QueueStack, registry: Path, **env: str) -> tuple[int, dict[str, Any], str]:
    """Run `hotline doctor --json` and `hotline doctor` with the service's own environment."""
    a = q.stack.asterisk
    full = {**q.serve.env(), "HOTLINE_REGISTRY": str(registry), "HOTLINE_AMI_PORT": str(a.ami_port),
            "HOTLINE_AMI_SECRET": a.ami_password, "HOTLINE_ASTERISK_INCLUDE_DIR": str(a.run_dir / "etc"), **env}
    cmd = [sys.executable, "-m", "ari_app.cli", "doctor"]
    as_json = subprocess.run([*cmd, "--json"], capture_output=True, text=True, env=full, cwd=REPO, timeout=60)
    table = subprocess.run(cmd, capture_output=True, text=True, env=full, cwd=REPO, timeout=60)
    assert table.returncode == as_json.returncode, (table.stdout, as_json.stdout)
    return as_json.returncode, json.loads(as_json.stdout), table.stdout


def by_status(report: dict[str, Any], status: str) -> dict[str, dict[str, str]]:
    return {c["check"]: c for c in report["checks"] if c["status"] == status}


def test_doctor_on_the_sandbox(queue_stack: Callable[..., QueueStack], artifacts: Path) -> None:
    registry = registry_copy(artifacts / "registry" / "hotlines.yaml", {})
    q = queue_stack([AgentSpec("1001"), AgentSpec("1002")], registry=registry)
    a = q.stack.asterisk
    # The department lines answer OPTIONS: point them at this Asterisk itself (it answers any OPTIONS).
    registry.write_text(registry.read_text(encoding="utf-8").replace("@127.0.0.1:5099", f"@127.0.0.1:{a.sip_port}"),
                        encoding="utf-8")
    a.render_registry(registry)
    a.cli("module reload res_pjsip.so")
    wait_for(lambda: sum(" Avail " in line for line in a.cli("pjsip show contacts").splitlines()
                         if "dept-" in line) == DEPARTMENT_LINES, 20, "the department lines to answer OPTIONS")

    code, report, table = doctor(q, registry)
    (artifacts / "doctor-ok.txt").write_text(table)
    assert code == 0, table
    not_ok = [c for c in report["checks"] if c["status"] != "OK"]
    assert not not_ok, table
    names = {c["check"] for c in report["checks"]}
    assert {"asterisk version", "modules", "ari", "ami", "dialplan", "department lines", "agent phones",
            "prompts (zh)", "music on hold", "fastagi", "database", "time zone", "endpoint options",
            "endpoint identification", "include files"} <= names, names
    assert "2 of 2 phones registered" in by_status(report, "OK")["agent phones"]["detail"]

    # Three faults: a module unloaded, the ARI password wrong, a prompt missing.
    assert "Unloaded app_echo.so" in a.cli("module unload app_echo.so")
    (a.run_dir / "data" / "sounds" / "zh" / "goodbye.wav").unlink()
    wrong = "not-the-ari-password"
    code, report, table = doctor(q, registry, HOTLINE_ARI_PASSWORD=wrong)
    (artifacts / "doctor-fail.txt").write_text(table)
    assert code == 1, table
    failed = by_status(report, "FAIL")
    assert set(failed) == {"modules", "ari", "prompts (zh)"}, table
    assert "app_echo" in failed["modules"]["detail"] and "module load app_echo.so" in failed["modules"]["fix"]
    assert "401" in failed["ari"]["detail"] and "HOTLINE_ARI_PASSWORD" in failed["ari"]["fix"]
    assert "goodbye" in failed["prompts (zh)"]["detail"] and "sounds/zh" in failed["prompts (zh)"]["fix"]
    assert len(report["checks"]) - len(failed) == len(by_status(report, "OK")), table  # the rest still OK
    assert table.count("fix: ") == 3 and wrong not in table, table
    assert a.ari_password not in table and a.ami_password not in table

    # AMI refusing the login: that one FAILs, and what only AMI can show is not checked (SKIP), not guessed.
    code, report, table = doctor(q, registry, HOTLINE_AMI_SECRET="not-the-ami-secret")
    assert code == 1, table
    assert set(by_status(report, "FAIL")) == {"ami"}, table
    assert "refused" in by_status(report, "FAIL")["ami"]["detail"], table
    assert {"asterisk version", "modules", "dialplan", "prompts (zh)", "music on hold"} <= set(
        by_status(report, "SKIP")), table
