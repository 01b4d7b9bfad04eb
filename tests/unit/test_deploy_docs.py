"""The README's deployment section shows the snippets the deployment test applies (generated from
one source: the module list, the endpoint media options), and the packaging is sound: the systemd
unit verifies, the environment file example names every variable serve, reload and doctor need."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ari_app.deploy import snippets
from ari_app.deploy.envfile import parse_env
from ari_app.registry.render import MEDIA_OPTIONS
from ari_app.sandbox.confgen import MODULES
from ari_app.settings import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
PACKAGING = REPO_ROOT / "packaging"
DEPLOY_SECTION = README[README.index("## For telephony engineers"):README.index("### Checking a deployment")]


def test_the_readme_shows_every_snippet_verbatim() -> None:
    shown = [snippets.module_names(), snippets.copy_commands(), *snippets.additions(snippets.Site()).values()]
    for text in shown:
        assert f"```\n{text}```" in DEPLOY_SECTION or f"```sh\n{text}```" in DEPLOY_SECTION, text[:200]


def test_the_snippets_carry_the_module_list_and_the_media_options() -> None:
    assert set(snippets.module_names().split()) == set(MODULES)
    for needed in ("chan_bridge_media", "res_timing_timerfd", "func_global"):
        assert needed in snippets.module_names()
    pjsip = snippets.pjsip_conf(snippets.Site())
    assert MEDIA_OPTIONS in pjsip and "direct_media = no" in pjsip
    assert "endpoint_identifier_order = username,ip" in pjsip


ENV_EXAMPLE = parse_env((PACKAGING / "hotline.env.example").read_text(encoding="utf-8"))


def test_the_environment_file_names_what_reload_and_doctor_need() -> None:
    needed = {"HOTLINE_ARI_URL", "HOTLINE_ARI_PASSWORD", "HOTLINE_DSN", "HOTLINE_HTTP_PORT", "HOTLINE_AGI_PORT",
              "HOTLINE_AMI_PORT", "HOTLINE_AMI_SECRET", "HOTLINE_ASTERISK_INCLUDE_DIR", "HOTLINE_STATE_DIR",
              "HOTLINE_API_USER", "HOTLINE_API_PASSWORD"}
    assert needed <= set(ENV_EXAMPLE), needed - set(ENV_EXAMPLE)
    table = set(re.findall(r"`(HOTLINE_[A-Z_]+)`", README[README.index("## Configuration of"):]))
    table |= {f"HOTLINE_AMI_{part}" for part in ("HOST", "PORT", "USER", "SECRET")}
    table |= {"HOTLINE_ARI_BACKOFF_MAX"}
    assert set(ENV_EXAMPLE) <= table, set(ENV_EXAMPLE) - table


UNIT = (PACKAGING / "hotline.service").read_text(encoding="utf-8")


def test_the_unit_restarts_on_failure_hardened_with_the_shared_environment_file() -> None:
    lines = set(UNIT.splitlines())
    for line in ("Restart=on-failure", "EnvironmentFile=/etc/hotline/hotline.env", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "User=hotline", "ExecStart=/opt/hotline/.venv/bin/hotline serve"):
        assert line in lines, line


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    """The unit as shipped, with ExecStart pointed at this checkout's hotline (not installed in /opt here)."""
    hotline = Path(sys.executable).parent / "hotline"  # the environment running the tests has the project
    unit = tmp_path / "hotline.service"
    unit.write_text(UNIT.replace("/opt/hotline/.venv/bin/hotline", str(hotline)), encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    problems = [line for line in (result.stdout + result.stderr).splitlines() if "hotline.service" in line]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr
