"""ari_app.sandbox.confgen: the rendered Asterisk configuration."""

from __future__ import annotations

import dataclasses
import re
from pathlib import PurePosixPath
from typing import Any

import pytest

from ari_app.sandbox.confgen import MODULES, AsteriskConfig, SipPeer, render_all

ARI_PASSWORD = "ari-Zt8qL2wXv9"
AMI_PASSWORD = "ami-Kp4mN7rYs1"


BASE_CFG = AsteriskConfig(
    base=PurePosixPath("/run/hotline/run-1"),
    module_dir="/usr/lib/x86_64-linux-gnu/asterisk/modules",
    sip_port=15060,
    http_port=18088,
    ami_port=15038,
    agi_url="agi://127.0.0.1:14573",
    ari_user="hotline",
    ari_password=ARI_PASSWORD,
    ami_user="hotline-ami",
    ami_password=AMI_PASSWORD,
    rtp_start=20000,
    dialplan_files=("10-inbound.conf", "20-agents.conf"),
    peers=(
        SipPeer("agent-1001", "sip:agent-1001@127.0.0.1:5071"),
        SipPeer("dept-water", "sip:dept-water@127.0.0.1:5081", context="hotline-departments"),
    ),
)


def _cfg(**overrides: Any) -> AsteriskConfig:
    return dataclasses.replace(BASE_CFG, **overrides)


@pytest.fixture
def files() -> dict[str, str]:
    return render_all(_cfg())


def _sections(text: str) -> list[tuple[str, dict[str, str]]]:
    """Split an Asterisk .conf into (header, key -> value) in order; repeated headers stay separate."""
    sections: list[tuple[str, dict[str, str]]] = []
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            sections.append((line, {}))
            continue
        key, sep, value = re.split(r"\s*(=>|=)\s*", line, maxsplit=1)
        assert sep, f"unparsable line {raw!r}"
        assert sections, f"option outside a section: {raw!r}"
        sections[-1][1][key] = value
    return sections


def test_render_is_deterministic() -> None:
    first = render_all(_cfg())
    second = render_all(_cfg())
    assert first == second
    assert list(first) == list(second)


def test_inputs_change_the_output() -> None:
    assert render_all(_cfg(http_port=18089))["http.conf"] != render_all(_cfg())["http.conf"]


def test_expected_files_are_rendered(files: dict[str, str]) -> None:
    expected = {
        "asterisk.conf",
        "modules.conf",
        "http.conf",
        "ari.conf",
        "manager.conf",
        "pjsip.conf",
        "extensions.conf",
        "rtp.conf",
        "logger.conf",
    }
    assert expected <= set(files)
    assert all(isinstance(v, str) for v in files.values())


def test_listeners_bind_loopback_only(files: dict[str, str]) -> None:
    http = dict(_sections(files["http.conf"]))["[general]"]
    assert http["bindaddr"] == "127.0.0.1"
    assert http["bindport"] == "18088"

    manager = dict(_sections(files["manager.conf"]))["[general]"]
    assert manager["bindaddr"] == "127.0.0.1"
    assert manager["port"] == "15038"

    transports = [opts for _, opts in _sections(files["pjsip.conf"]) if opts.get("type") == "transport"]
    assert [t["bind"] for t in transports] == ["127.0.0.1:15060"]

    everything = "\n".join(files.values())
    assert "0.0.0.0:" not in everything
    for match in re.finditer(r"^\s*(bindaddr|bind|media_address)\s*=\s*(\S+)", everything, re.M):
        assert match.group(2).startswith("127.0.0.1"), match.group(0)


def test_passwords_only_in_ari_and_manager(files: dict[str, str]) -> None:
    ari = dict(_sections(files["ari.conf"]))
    assert ari["[hotline]"]["password"] == ARI_PASSWORD
    assert ari["[hotline]"]["type"] == "user"
    manager = dict(_sections(files["manager.conf"]))
    assert manager["[hotline-ami]"]["secret"] == AMI_PASSWORD
    assert manager["[hotline-ami]"]["permit"] == "127.0.0.1/255.255.255.255"

    for name, text in files.items():
        if name != "ari.conf":
            assert ARI_PASSWORD not in text, name
        if name != "manager.conf":
            assert AMI_PASSWORD not in text, name


def test_modules_conf_loads_an_explicit_list(files: dict[str, str]) -> None:
    assert [header for header, _ in _sections(files["modules.conf"])] == ["[modules]"]
    lines = [line.strip() for line in files["modules.conf"].splitlines() if line.strip()]
    assert "autoload = no" in lines
    assert "autoload = yes" not in lines
    loads = [line.removeprefix("load = ") for line in lines if line.startswith("load = ")]
    assert len(loads) == len(set(loads)), "a module is loaded twice"
    assert loads == [f"{m}.so" for m in MODULES]
    # Pairs from the design brief: res_ari needs res_websocket_client, res_agi needs res_speech,
    # and the app's device states need res_stasis_device_state.
    for module in (
        "res_ari",
        "res_websocket_client",
        "res_agi",
        "res_speech",
        "res_stasis_device_state",
        "res_stasis",
        "app_stasis",
        "chan_pjsip",
        "res_pjsip",
    ):
        assert f"{module}.so" in loads, module


def test_peers_render_endpoint_and_aor_with_static_contact(files: dict[str, str]) -> None:
    sections = _sections(files["pjsip.conf"])
    by_type: dict[str, dict[str, dict[str, str]]] = {}
    for header, opts in sections:
        name = header.split("]", 1)[0].lstrip("[")
        by_type.setdefault(opts.get("type", ""), {})[name] = opts

    agent = by_type["endpoint"]["agent-1001"]
    assert agent["context"] == "hotline-agents"
    assert agent["aors"] == "agent-1001"
    assert by_type["aor"]["agent-1001"]["contact"] == "sip:agent-1001@127.0.0.1:5071"

    dept = by_type["endpoint"]["dept-water"]
    assert dept["context"] == "hotline-departments"
    assert by_type["aor"]["dept-water"]["contact"] == "sip:dept-water@127.0.0.1:5081"

    peer_headers = [h for h, _ in sections if h.startswith("[agent-1001]")]
    assert peer_headers == ["[agent-1001](media-defaults)", "[agent-1001]"]
    assert by_type["endpoint"]["trunk"]["context"] == "hotline-inbound"


def test_no_peers_means_no_aors() -> None:
    pjsip = render_all(_cfg(peers=()))["pjsip.conf"]
    assert "type = aor" not in pjsip
    assert "[trunk](media-defaults)" in pjsip


def test_dialplan_files_become_includes(files: dict[str, str]) -> None:
    ext = files["extensions.conf"]
    includes = [line for line in ext.splitlines() if line.startswith("#include")]
    assert includes == ['#include "dialplan/10-inbound.conf"', '#include "dialplan/20-agents.conf"']
    globals_ = dict(_sections(ext))["[globals]"]
    assert globals_["HOTLINE_AGI"] == "agi://127.0.0.1:14573"
    assert globals_["HOTLINE_APP"] == "hotline"


def test_no_dialplan_files_means_no_includes() -> None:
    assert "#include" not in render_all(_cfg(dialplan_files=()))["extensions.conf"]


def test_directories_are_under_the_run_base(files: dict[str, str]) -> None:
    dirs = dict(_sections(files["asterisk.conf"]))["[directories]"]
    assert dirs["astetcdir"] == "/run/hotline/run-1/etc"
    assert dirs["astmoddir"] == "/usr/lib/x86_64-linux-gnu/asterisk/modules"
    for key in ("astvarlibdir", "astspooldir", "astrundir", "astlogdir", "astdatadir"):
        assert dirs[key].startswith("/run/hotline/run-1/"), key


def test_rtp_range(files: dict[str, str]) -> None:
    rtp = dict(_sections(files["rtp.conf"]))["[general]"]
    assert int(rtp["rtpstart"]) == 20000
    assert int(rtp["rtpend"]) > int(rtp["rtpstart"])


def _by_header(text: str) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for header, values in _sections(text):
        found.setdefault(header.split("]")[0] + "]", []).append(values)
    return found


def test_off_loopback_nothing_is_let_in_by_address() -> None:
    pjsip = render_all(_cfg(sip_host="198.18.77.1", trunk_match=(), test_caller_password="tc-pass-123"))["pjsip.conf"]
    sections = _by_header(pjsip)
    assert sections["[transport-udp]"][0]["bind"] == "198.18.77.1:15060"
    assert sections["[media-defaults]"][0]["media_address"] == "198.18.77.1"
    assert "[trunk-identify]" not in sections and "type = identify" not in pjsip
    caller = {v["type"]: v for v in sections["[test-caller]"]}
    assert caller["endpoint"]["context"] == "hotline-inbound" and caller["endpoint"]["auth"] == "test-caller"
    assert caller["auth"]["password"] == "tc-pass-123" and caller["auth"]["username"] == "test-caller"
    assert dict(_sections(pjsip))["[global]"]["endpoint_identifier_order"] == "username,ip"


def test_carriers_named_are_let_in_by_address() -> None:
    pjsip = render_all(_cfg(trunk_match=("10.0.0.5", "10.1.0.0/16")))["pjsip.conf"]
    assert _by_header(pjsip)["[trunk-identify]"][0]["match"] == "10.0.0.5,10.1.0.0/16"
    assert "[test-caller]" not in pjsip  # no password given: no account
    assert pjsip.rstrip().endswith('#tryinclude "hotline-agents.conf"')


def test_behind_a_proxy_the_test_caller_is_reached_through_it_and_has_no_password_on_the_node() -> None:
    """Several nodes: the proxy checks the test caller's password (each node would challenge with its
    own nonce); its calls arrive as the trunk's, and return visits reach it through the proxy."""
    pjsip = render_all(_cfg(test_caller_password="tc-pass-123", sip_proxy="127.0.0.1:5060"))["pjsip.conf"]
    caller = _by_header(pjsip)["[test-caller]"]
    assert caller == [{"type": "aor", "contact": "sip:test-caller@127.0.0.1:5060"}]
    assert "tc-pass-123" not in pjsip
    visit = {v["type"]: v for v in _by_header(pjsip)["[return-visit]"]}
    assert visit["endpoint"]["aors"] == "test-caller"
