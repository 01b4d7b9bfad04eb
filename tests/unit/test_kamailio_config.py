"""ari_app.sandbox.kamailio: the proxy's configuration (dispatcher probing, registrar with each
agent's password, failover) and the agents' endpoints on a node behind it."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from ari_app.sandbox.kamailio import ProxyConfig, dispatcher_list, kamailio_binary, module_dir, render_config
from ari_app.seats.model import Agent, Seats
from ari_app.seats.phones import render_agent_phones


def _config(tmp_path: Path, **agents: str) -> ProxyConfig:
    return ProxyConfig(port=15060, run_dir=tmp_path, nodes=("127.0.0.1:15061", "127.0.0.1:15062"),
                       agents=agents or {"agent-1001": "pw-one"})


def test_nodes_are_one_dispatcher_set() -> None:
    assert dispatcher_list(["127.0.0.1:1", "127.0.0.1:2"]) == "1 sip:127.0.0.1:1\n1 sip:127.0.0.1:2\n"


def test_the_proxy_probes_the_nodes_and_fails_over(tmp_path: Path) -> None:
    text = render_config(_config(tmp_path))
    assert "listen=udp:127.0.0.1:15060" in text
    for line in ('modparam("dispatcher", "ds_ping_interval", 2)', 'modparam("dispatcher", "ds_probing_mode", 1)',
                 'modparam("tm", "fr_timer", 2000)', 'ds_select_dst("1", "4")', 'ds_mark_dst("ip")', "ds_next_dst()",
                 "record_route()", 'lookup("location")', 'save("location")'):
        assert line in text, line
    assert '$sht(agents=>agent-1001) = "pw-one";' in text


def test_a_password_that_would_break_the_configuration_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="proxy configuration"):
        render_config(_config(tmp_path, **{"agent-1001": 'pw"; exit; "'}))


def test_kamailio_accepts_the_configuration(tmp_path: Path) -> None:
    """Kamailio's own check of the file (kamailio comes with scripts/bootstrap --test)."""
    (tmp_path / "dispatcher.list").write_text(dispatcher_list(["127.0.0.1:15061"]))
    cfg = tmp_path / "kamailio.cfg"
    cfg.write_text(render_config(replace(_config(tmp_path), module_dir=module_dir())))
    check = subprocess.run([kamailio_binary(), "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr[-2000:]


def test_agents_behind_the_proxy_are_reached_through_it() -> None:
    seats = Seats(agents=(Agent(id="1001", name="一", endpoint="agent-1001"),))
    text = render_agent_phones(seats, {}, "; header\n", "allow = ulaw", proxy="127.0.0.1:15060")
    assert "contact = sip:agent-1001@127.0.0.1:15060" in text
    assert "qualify_2xx_only = yes" in text  # the proxy's 404 for a phone not registered: unreachable
    assert "type = auth" not in text and "identify_by = username" in text


def test_the_test_caller_is_checked_by_the_proxy_and_dialled_out_numbers_ring_it(tmp_path: Path) -> None:
    """The test caller authenticates once at the proxy (not at each node, whose nonces differ); a
    number a node dials out through the proxy (a return visit in the sandbox) rings it."""
    cfg = replace(_config(tmp_path, **{"agent-1001": "pw-one", "test-caller": "pw-tc"}), carrier_user="test-caller",
                  module_dir=module_dir())
    text = render_config(cfg)
    assert '$sht(agents=>test-caller) = "pw-tc";' in text
    assert 'if ($fU =~ "^agent-" || $fU == "test-caller") {' in text
    to_agent = text[text.index("route[TO_AGENT]"):]
    assert to_agent.index('$rU = "test-caller";') < to_agent.index('lookup("location")')
    assert "$rU = " not in render_config(_config(tmp_path))  # no carrier stand-in unless asked
    (tmp_path / "dispatcher.list").write_text(dispatcher_list(["127.0.0.1:15061"]))
    (tmp_path / "kamailio.cfg").write_text(text)
    check = subprocess.run([kamailio_binary(), "-c", "-f", str(tmp_path / "kamailio.cfg")], capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 0, check.stderr[-2000:]
