"""Agents for queue tests: a seats file, SIPp phones playing the agents, HTTP control."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ari_app.sandbox.proc import free_port_both
from ari_app.settings import read_secrets_file
from tests.harness.ari import AriProbe
from tests.harness.rtp import RtpSink
from tests.harness.sipp import Account, SippCall, start_phone
from tests.harness.wait import wait_for


@dataclass
class AgentSpec:
    id: str
    phone: str = "answer-then-bye"  # tests/sipp/<phone>.xml; "" = the phone is off (never registers)
    hold_ms: int = 1000
    groups: tuple[str, ...] = ()
    seconded_by: str | None = None
    skills: dict[str, int] = field(default_factory=lambda: {"general": 3})
    values: dict[str, str] = field(default_factory=dict)  # more [keywords] for the phone's scenario

    @property
    def endpoint(self) -> str:
        return f"agent-{self.id}"


def write_seats(dest: Path, agents: list[AgentSpec], **policy: int) -> Path:
    lines = ["agents:"]
    for a in agents:
        lines += [f'  - id: "{a.id}"', f"    name: 测试坐席{a.id}", f"    endpoint: {a.endpoint}"]
        if a.groups:
            lines.append(f"    groups: [{', '.join(a.groups)}]")
        if a.seconded_by:
            lines.append(f"    seconded_by: {a.seconded_by}")
        lines.append("    skills: {" + ", ".join(f"{k}: {v}" for k, v in a.skills.items()) + "}")
    if policy:
        lines.append("queue:")
        lines += [f"  {k}: {v}" for k, v in policy.items()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dest


def phone_passwords(state_dir: Path) -> dict[str, str]:
    """Agent id -> SIP password, as the sandbox generated them into the state dir's secrets.env."""
    values = read_secrets_file(state_dir / "secrets.env")
    return {k.removeprefix("HOTLINE_AGENT_").removesuffix("_PASSWORD"): v for k, v in values.items()
            if k.startswith("HOTLINE_AGENT_") and k.endswith("_PASSWORD")}


@dataclass
class Phones:
    """One SIPp phone per agent, on its own port: it registers as the agent's endpoint with the
    password the sandbox generated, then answers calls with its ``phone`` scenario."""

    specs: list[AgentSpec]
    base: Path
    ports: dict[str, int] = field(default_factory=dict)
    running: dict[str, SippCall] = field(default_factory=dict)
    sinks: dict[str, RtpSink] = field(default_factory=dict)  # what each agent's phone hears
    _accounts: dict[str, Account] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ports = {a.id: free_port_both() for a in self.specs}
        self.sinks = {a.id: RtpSink() for a in self.specs}

    def account(self, agent_id: str) -> Account:
        assert self._accounts, "phones not started"
        return self._accounts[agent_id]

    def start(self, sip_port: int, state_dir: Path, route_set: bool = False) -> Phones:
        """``route_set``: the phones register at a record-routing proxy (tests/harness/sipp.py)."""
        passwords = phone_passwords(state_dir)
        self._accounts = {a.id: Account(a.endpoint, passwords[a.id], sip_port) for a in self.specs}
        for a in self.specs:
            if not a.phone:
                continue  # an agent whose phone is off (never registers)
            self.sinks[a.id].start()
            self.running[a.id] = start_phone(a.phone, account=self._accounts[a.id], port=self.ports[a.id],
                                             trace_dir=self.base / a.endpoint, hold_ms=a.hold_ms,
                                             rtp_port=self.sinks[a.id].port, values=a.values, route_set=route_set)
        return self

    def wait_registered(self, ari: AriProbe, timeout: float = 30) -> None:
        """Until Asterisk lists every phone's endpoint as online (registered and qualified)."""
        wanted = {a.endpoint for a in self.specs if a.phone}

        def online() -> bool:
            return wanted <= {e["resource"] for e in ari.get("/endpoints/PJSIP") if e["state"] == "online"}

        wait_for(online, timeout, f"phones {sorted(wanted)} registered")

    def stop(self) -> None:
        for phone in self.running.values():
            phone.stop()
        for sink in self.sinks.values():
            sink.stop()


def agent_action(http: str, agent_id: str, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(f"{http}/agents/{agent_id}/{action}", method="POST", data=data,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result
    except urllib.error.HTTPError as exc:
        error: dict[str, Any] = {"status": exc.code, **json.loads(exc.read() or b"{}")}
        return error


def agents_state(http: str) -> dict[str, dict[str, Any]]:
    with urllib.request.urlopen(f"{http}/agents", timeout=5) as response:
        return {a["id"]: a for a in json.loads(response.read())["agents"]}
