"""The doctor's deployment checks (endpoint media options, identification order, include files) on
real Asterisk 22 CLI output captured from the sandbox (tests/data/doctor/), and the environment file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ari_app.deploy.envfile import EnvFileError, load_env_file, parse_env
from ari_app.doctor import deploy_checks, service_checks
from ari_app.doctor.model import Status
from ari_app.registry.loader import load_registry
from ari_app.registry.render import write_all
from ari_app.seats.loader import parse_seats
from ari_app.settings import REPO_ROOT

DATA = Path(__file__).resolve().parents[1] / "data" / "doctor"
TRUNK = (DATA / "pjsip-show-endpoint-trunk.txt").read_text(encoding="utf-8")
SETTINGS = (DATA / "pjsip-show-settings.txt").read_text(encoding="utf-8")


def test_endpoint_options_are_read_from_the_cli_output() -> None:
    options = deploy_checks.endpoint_options(TRUNK)
    assert options["direct_media"] == "false" and options["context"] == "hotline-inbound"
    assert options["allow"] == "(ulaw|alaw)" and options["rtp_symmetric"] == "true"
    assert options["dtmf_mode"] == "rfc4733" and options["aors"] == ""


def test_the_hotline_media_options_pass_and_pjsip_defaults_fail() -> None:
    agent = TRUNK.replace("hotline-inbound", "hotline-agents")
    check = deploy_checks.check_endpoint_media({"trunk": TRUNK, "agent-1001": agent}, ["agent-1001"])
    assert check.status is Status.OK and "trunk" in check.detail, check
    # PJSIP's defaults: direct media on, no codec, no symmetric RTP: what broke both legs on a stock Asterisk.
    stock = (TRUNK.replace("direct_media                       : false", "direct_media                       : true")
             .replace("(ulaw|alaw)", "()").replace("rtp_symmetric                      : true",
                                                    "rtp_symmetric                      : false"))
    check = deploy_checks.check_endpoint_media({"trunk": stock, "agent-1001": agent}, ["agent-1001"])
    assert check.status is Status.FAIL, check
    assert "direct_media=yes" in check.detail and "no G.711" in check.detail and "rtp_symmetric=no" in check.detail
    assert "direct_media = no" in check.fix and "allow = ulaw,alaw" in check.fix


def test_an_agent_phone_outside_hotline_agents_fails_and_no_trunk_warns() -> None:
    check = deploy_checks.check_endpoint_media({"agent-1001": TRUNK.replace("hotline-inbound", "default")},
                                               ["agent-1001"])
    assert check.status is Status.FAIL and "agent-1001 (context default)" in check.detail
    agent = TRUNK.replace("hotline-inbound", "hotline-agents")
    check = deploy_checks.check_endpoint_media({"agent-1001": agent}, ["agent-1001"])
    assert check.status is Status.WARN and "hotline-inbound" in check.fix


def test_identification_order() -> None:
    assert deploy_checks.check_identification(SETTINGS).status is Status.OK
    check = deploy_checks.check_identification(SETTINGS.replace("username,ip", "ip,username,anonymous"))
    assert check.status is Status.WARN and "endpoint_identifier_order = username,ip" in check.fix
    assert deploy_checks.asterisk_user("  User name and group:         asterisk/asterisk\n") == "asterisk"
    assert deploy_checks.asterisk_user("  User name and group:         /\n") == ""


SEATS = parse_seats('agents:\n  - id: "1001"\n    name: 甲\n    endpoint: agent-1001\n    skills: {general: 3}\n',
                    "seats.yaml")


def _rendered(tmp_path: Path) -> Path:
    out = tmp_path / "hotline"
    write_all(load_registry(REPO_ROOT / "config" / "hotlines.yaml"), SEATS, {"1001": "pw"}, out,
              dialplan=REPO_ROOT / "dialplan")
    return out


def test_include_files_present_current_and_readable(tmp_path: Path) -> None:
    fragments = REPO_ROOT / "dialplan"
    assert deploy_checks.check_include_files(None, fragments, "").status is Status.WARN
    out = _rendered(tmp_path)
    check = deploy_checks.check_include_files(out, fragments, "")
    assert check.status is Status.OK, check
    # An upgrade brought a new hotline.conf; the copy Asterisk reads is the old one.
    (out / "hotline.conf").write_text("; an older dialplan\n", encoding="utf-8")
    check = deploy_checks.check_include_files(out, fragments, "")
    assert check.status is Status.FAIL and "hotline.conf" in check.detail and "hotline reload" in check.fix
    (out / "hotline.conf").unlink()
    assert "missing" in deploy_checks.check_include_files(out, fragments, "").detail


def test_include_files_unreadable_by_asterisks_user(tmp_path: Path) -> None:
    out = _rendered(tmp_path)
    user = "nobody"  # on every Debian: not root, not in the files' group
    os.chmod(out, 0o755)  # noqa: S103 - the point: readable by others
    for path in out.iterdir():
        os.chmod(path, 0o644)
    if os.geteuid() != 0 and os.stat(out).st_uid == 65534:
        pytest.skip("the files belong to nobody here")
    assert deploy_checks.check_include_files(out, REPO_ROOT / "dialplan", user).status is Status.OK
    (out / "hotline-agents.conf").chmod(0o640)  # group-readable only: nobody is not in the group
    check = deploy_checks.check_include_files(out, REPO_ROOT / "dialplan", user)
    assert check.status is Status.FAIL and "hotline-agents.conf" in check.detail and "chgrp" in check.fix
    assert stat.S_IMODE((out / "hotline.conf").stat().st_mode) == 0o644


def test_env_file_fills_what_the_environment_does_not_set(tmp_path: Path) -> None:
    path = tmp_path / "hotline.env"
    path.write_text("# the service's settings\nHOTLINE_AMI_PORT=5039\nHOTLINE_HTTP_PORT = '8081'\n\n"
                    'HOTLINE_DSN="postgresql://h@127.0.0.1/h"\n', encoding="utf-8")
    env = {"HOTLINE_ENV_FILE": str(path), "HOTLINE_HTTP_PORT": "9000"}
    assert load_env_file(env) == path
    assert env["HOTLINE_AMI_PORT"] == "5039" and env["HOTLINE_HTTP_PORT"] == "9000"
    assert env["HOTLINE_DSN"] == "postgresql://h@127.0.0.1/h"
    assert load_env_file({"HOTLINE_ENV_FILE": ""}) is None
    with pytest.raises(EnvFileError, match="cannot read"):
        load_env_file({"HOTLINE_ENV_FILE": str(tmp_path / "missing.env")})
    with pytest.raises(EnvFileError, match=r"x\.env:2: not KEY=value"):
        parse_env("A=1\nexport B\n", "x.env")


def test_service_http_is_where_reload_reaches_the_service() -> None:
    url = "http://127.0.0.1:8080/healthz"
    assert service_checks.check_service_http(200, "", url).status is Status.OK
    check = service_checks.check_service_http(0, "ClientConnectorError", url)
    assert check.status is Status.FAIL and "HOTLINE_HTTP_HOST/PORT" in check.fix and url in check.detail
