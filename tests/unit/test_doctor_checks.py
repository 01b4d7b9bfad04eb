"""`hotline doctor`'s checks on real Asterisk 22 CLI output (captured from the sandbox), without Asterisk."""

from __future__ import annotations

import json
from pathlib import Path

from ari_app.doctor import checks, service_checks
from ari_app.doctor.model import Check, Status, exit_code, format_table, to_json
from ari_app.doctor.runner import DoctorConfig, dialplan_contexts, required_prompts
from ari_app.registry.loader import load_registry
from ari_app.settings import REPO_ROOT

REGISTRY = load_registry(REPO_ROOT / "config" / "hotlines.yaml")
MODULES_OUT = """Module                         Description                              Use Count  Status      Support
app_dial.so                    Dialing Application                      0          Running              core
app_echo.so                    Simple Echo Application                  0          Not Running          core
res_ari.so                     Asterisk RESTful Interface               12         Running              core
sounds                         Sounds Index                             1          Running              core
89 modules loaded
"""
ENDPOINTS_OUT = """
 Endpoint:  <Endpoint/CID.....................................>  <State.....>  <Channels.>
==========================================================================================

 Endpoint:  agent-1001/1001                                      Unavailable   0 of inf
     InAuth:  agent-1001/agent-1001
        Aor:  agent-1001                                         1
      Contact:  agent-1001/sip:agent-1001@127.0.0.1:5071       1f2e3d4c5b Avail         0.301
 Endpoint:  agent-1002                                           Unavailable   0 of inf
 Endpoint:  dept-12333                                           Unavailable   0 of inf
"""
CONTACTS_OUT = """
  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>
==========================================================================================

  Contact:  agent-1001/sip:agent-1001@127.0.0.1:5071       1f2e3d4c5b Avail         0.301
  Contact:  dept-12333/sip:12333@127.0.0.1:5099            e6e8be4757 Unavail        -nan
"""


def test_version() -> None:
    line = "Asterisk 22.10.1+dfsg+~cs6.17.60671434-1 built by nobody @ buildd.debian.org on a unknown running Linux"
    assert checks.check_version(line).status is Status.OK
    assert checks.check_version("Asterisk 22.3.0 built by x").status is Status.WARN  # no REST over websocket
    assert checks.check_version("Asterisk 18.20.0 built by x").status is Status.FAIL
    assert checks.check_version("No such command").status is Status.FAIL


def test_modules_not_running_or_absent_fail_with_the_load_command() -> None:
    assert checks.running_modules(MODULES_OUT) == {"app_dial", "res_ari", "sounds"}
    check = checks.check_modules(MODULES_OUT, ["app_dial", "app_echo", "res_agi"])
    assert check.status is Status.FAIL
    assert "app_echo, res_agi" in check.detail
    assert "module load app_echo.so; module load res_agi.so" in check.fix and "modules.conf" in check.fix
    assert checks.check_modules(MODULES_OUT, ["app_dial", "res_ari"]).status is Status.OK


def test_dialplan_context_missing_or_number_missing() -> None:
    numbers = "[ Context 'hotline-numbers' created by 'pbx_config' ]\n  '12345' =>  1. NoOp(platform)\n" \
              "  '12349' =>        1. NoOp(whole_merge_transition)\n"
    inbound = "[ Context 'hotline-inbound' created by 'pbx_config' ]\n  '_X.' => 1. NoOp()\n"
    good = {"hotline-inbound": inbound, "hotline-numbers": numbers}
    assert checks.check_dialplan(good, "hotline-numbers", ["12345", "12349"]).status is Status.OK
    missing = checks.check_dialplan(good, "hotline-numbers", ["12345", "12349", "12316"])
    assert missing.status is Status.FAIL and "12316" in missing.detail and "hotline reload" in missing.fix
    absent = checks.check_dialplan({**good, "hotline-agents": "There is no existence of 'hotline-agents' context"},
                                   "hotline-numbers", ["12345"])
    assert absent.status is Status.FAIL and "hotline-agents" in absent.detail


def test_department_lines() -> None:
    check = checks.check_departments(ENDPOINTS_OUT, CONTACTS_OUT, REGISTRY)
    assert check.status is Status.FAIL  # seven of the eight lines' endpoints are not loaded
    assert "dept-12319" in check.detail and "dept-12333" not in check.detail.split("not loaded:")[1]
    every = "".join(f" Endpoint:  {d.line.endpoint}   Unavailable  0 of inf\n"
                    for d in REGISTRY.departments.values() if d.line)
    contacts = "".join(f"  Contact:  {d.line.endpoint}/{d.line.contact}   abcdef0123 Avail   0.3\n"
                       for d in REGISTRY.departments.values() if d.line)
    assert checks.check_departments(every, contacts, REGISTRY).status is Status.OK
    down = contacts.replace("dept-12333/sip:12333@127.0.0.1:5099   abcdef0123 Avail ",
                            "dept-12333/sip:12333@127.0.0.1:5099   abcdef0123 Unavail ")
    assert down != contacts
    check = checks.check_departments(every, down, REGISTRY)
    assert check.status is Status.WARN and "dept-12333" in check.detail
    moved = contacts.replace("sip:12333@127.0.0.1:5099", "sip:12333@10.0.0.9:5060")
    check = checks.check_departments(every, moved, REGISTRY)
    assert check.status is Status.FAIL and "10.0.0.9" in check.detail and "hotline reload" in check.fix


def test_agent_phones() -> None:
    ok = checks.check_agents(ENDPOINTS_OUT, CONTACTS_OUT, ["agent-1001", "agent-1002"])
    assert ok.status is Status.OK and "1 of 2" in ok.detail and "agent-1002" in ok.detail
    assert checks.check_agents(ENDPOINTS_OUT, "", ["agent-1001", "agent-1002"]).status is Status.WARN
    missing = checks.check_agents(ENDPOINTS_OUT, CONTACTS_OUT, ["agent-1001", "agent-9999"])
    assert missing.status is Status.FAIL and "agent-9999" in missing.detail


def test_music_on_hold_the_debian_pitfall() -> None:
    classes = "Class: default\n\tMode: files\n\tDirectory: /run/data/moh\n"
    files = "Class: default\n\tFile: /run/data/moh/hold\n"
    assert checks.check_moh(classes, files).status is Status.OK
    empty = checks.check_moh(classes, "Class: default\n")
    assert empty.status is Status.FAIL and "silence" in empty.detail and "module reload res_musiconhold" in empty.fix
    # Debian's stock [default] points at a folder that does not exist: Asterisk then lists no class at all.
    gone = checks.check_moh("", "")
    assert gone.status is Status.FAIL and "no music on hold class 'default'" in gone.detail


def test_prompts() -> None:
    present = "Indexed Information for goodbye:\n  Language en:\n    Format: gsm\n  Language zh:\n    Format: slin\n"
    english_only = "Indexed Information for goodbye:\n  Language en:\n    Format: gsm\n"
    assert checks.check_prompts({"goodbye": present}, "zh", "/d").status is Status.OK
    check = checks.check_prompts({"goodbye": english_only, "x": "ERROR: File x not found in index"}, "zh", "/d")
    assert check.status is Status.FAIL and "2 of 2" in check.detail and "/d/sounds/zh/" in check.fix
    assert checks.data_dir("  Data directory:              /hotline-runs/x/data\n") == "/hotline-runs/x/data"


def test_required_prompts_and_contexts_come_from_the_project() -> None:
    prompts = required_prompts(REGISTRY)
    assert {"greeting", "goodbye", "merged-12349", "intercept-12349"} <= set(prompts)
    assert len(prompts) >= len(list((REPO_ROOT / "sounds" / "zh").glob("*.wav")))
    assert dialplan_contexts()[-1] == "hotline-numbers" and "hotline-inbound" in dialplan_contexts()


def test_time_zone() -> None:
    assert checks.check_timezone("Asia/Shanghai", "1000", 1000.0, "").status is Status.OK
    assert checks.check_timezone("Asia/Shanghai", "1000", 1100.0, "").status is Status.WARN
    assert checks.check_timezone("Asia/Shanghai", "", 1100.0, "2022-01-01").status is Status.WARN
    assert checks.check_timezone("Mars/Olympus", "", 1.0, "").status is Status.FAIL


def test_connections() -> None:
    facts = service_checks.AriFacts("http://h:8088", "hotline", "hotline", info_status=200, app_status=200)
    assert service_checks.check_ari(facts).status is Status.OK
    refused = service_checks.check_ari(service_checks.AriFacts("http://h:8088", "hotline", "hotline", info_status=401))
    assert refused.status is Status.FAIL and "HOTLINE_ARI_PASSWORD" in refused.fix
    gone = service_checks.AriFacts("http://h:8088", "hotline", "hotline", info_status=200, app_status=404)
    assert "not registered" in service_checks.check_ari(gone).detail
    assert "ClientConnectorError" in service_checks.check_ari(
        service_checks.AriFacts("http://h:8088", "u", "a", error="ClientConnectorError")).detail
    globals_out = "   HOTLINE_APP=hotline\n   HOTLINE_AGI=agi://127.0.0.1:4573\n\n    -- 2 variable(s)\n"
    assert service_checks.check_globals(globals_out, "hotline", "127.0.0.1", 4573).status is Status.OK
    assert service_checks.check_globals(globals_out, "hotline", "127.0.0.1", 4574).status is Status.FAIL
    assert service_checks.check_globals(globals_out, "other", "0.0.0.0", 4573).status is Status.FAIL
    known = [(1, "calls"), (2, "acd")]
    assert service_checks.check_database("", {1, 2}, known, "h").status is Status.OK
    assert "002_acd" in service_checks.check_database("", {1}, known, "h").detail
    assert service_checks.check_database("", {1, 2, 3}, known, "h").status is Status.WARN
    assert service_checks.check_database("ConnectionRefusedError", set(), known, "h").status is Status.FAIL
    assert service_checks.check_fastagi("Connection refused", "h", 1).status is Status.FAIL


def test_report_formats_and_exit_status() -> None:
    report = [Check("a", Status.OK, "fine"), Check("b", Status.WARN, "hm", "do x"), Check("c", Status.SKIP, "n/a")]
    assert exit_code(report) == 0
    failing = [*report, Check("d", Status.FAIL, "broken", "do y")]
    assert exit_code(failing) == 1
    table = format_table(failing)
    assert "fix: do y" in table and "fix: do x" in table and "4 checks: 1 OK, 1 WARN, 1 FAIL, 1 SKIP" in table
    body = json.loads(to_json(failing))
    assert body["ok"] is False and body["counts"]["FAIL"] == 1 and body["checks"][3]["fix"] == "do y"


def test_config_takes_what_scripts_up_noted_unless_the_environment_says_otherwise(tmp_path: Path) -> None:
    (tmp_path / "secrets.env").write_text(
        "HOTLINE_ARI_PASSWORD=ari-pw\nHOTLINE_DSN=postgresql://h@127.0.0.1:5/db\nHOTLINE_AMI_PASSWORD=ami-pw\n"
        "HOTLINE_AMI_PORT=15038\nHOTLINE_ARI_URL=http://127.0.0.1:18088\nHOTLINE_AGI_PORT=14573\n", encoding="utf-8")
    config = DoctorConfig.from_env({"HOTLINE_STATE_DIR": str(tmp_path), "HOTLINE_AGI_PORT": "4999"})
    assert config.settings.ari_url == "http://127.0.0.1:18088" and config.settings.agi_port == 4999
    assert config.ami is not None and (config.ami.port, config.ami.secret) == (15038, "ami-pw")
    assert DoctorConfig.from_env({"HOTLINE_ARI_PASSWORD": "x", "HOTLINE_DSN": "postgresql://h/db",
                                  "HOTLINE_STATE_DIR": str(tmp_path / "none")}).ami is None
