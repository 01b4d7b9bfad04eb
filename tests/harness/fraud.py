"""Toll-fraud probes: a catalogue of what a fraudster dials, and SIPp sending each as an INVITE.

The catalogue is generated (no list typed twice): international and national prefixes in the
shapes carriers and PBXs know, ``9``/``0`` + number, feature-code look-alikes, long and non-digit
strings, SIP URI tricks (parameters in the user part, escapes, foreign hosts, ``tel:``) and the
names and numbers of the box's other endpoints. Every entry is a request-URI *user part* or a
whole URI; :func:`request_uri` makes the URI toward the sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.harness.sipp import PEERS, SippResult, _spawn, _traces, sipp_binary

REFUSAL_CODES = (400, 403, 404, 405, 406, 408, 410, 414, 415, 416, 420, 480, 481, 482, 483, 484, 485, 486,
                 487, 488, 491, 500, 501, 502, 503, 504, 603)

# Destinations fraud pays for: premium satellite and island ranges, expensive mobile ranges, and
# ordinary foreign and national numbers (a PBX that dials one dials them all).
_INTERNATIONAL = ("88213000001", "8816000001", "882340000001", "2222000001", "6799999001", "4420794600001",
                  "12125550001", "886223456789", "85221234567", "8613800138000")
_NATIONAL = ("053012345678", "01012345678", "02158888888", "13800138000", "17951", "1795113800138000",
             "125931380013800", "9501234567", "16800000001", "400800800")
_LEGIT_LOOKALIKES = ("12333", "12345", "12328", "12366")  # prefixed below: must not reach their lines


@dataclass(frozen=True)
class Probe:
    kind: str  # international | national | prefix | feature | junk | uri | endpoint
    target: str  # a user part (sip:<target>@sandbox) or a whole URI (starts with sip: / tel:)


def catalogue(endpoints: Iterable[str] = ()) -> list[Probe]:
    """Dozens of cases per class; ``endpoints``: names of the box's own SIP endpoints (agents,
    department lines, trunks), dialled by name as a fraudster who read a config would."""
    probes: list[Probe] = []
    for number in _INTERNATIONAL[:6]:
        probes += [Probe("international", f"00{number}"), Probe("international", f"+{number}")]
    probes += [Probe("international", f"{p}{n}") for p in ("000", "011", "0011", "17900") for n in _INTERNATIONAL[6:8]]
    probes += [Probe("national", n) for n in _NATIONAL]
    probes += [Probe("national", f"0530{n}") for n in ("12345", "12333", "96119")]
    for prefix in ("9", "0", "90", "99", "900", "8", "#"):
        probes += [Probe("prefix", f"{prefix}{n}") for n in ("13800138000", "0088213000001")]
    probes += [Probe("prefix", f"{p}{n}") for p in ("9", "0", "00", "+86") for n in _LEGIT_LOOKALIKES]
    probes += [Probe("prefix", n) for n in ("9", "0", "00", "99")]
    probes += [Probe("feature", code) for code in (
        "*72", "*73", "*74", "*75", "*72*1", "**72", "*7212345", "*301", "*401", "*501", "*6", "*0", "*9",
        "#72", "*97", "*98", "*8", "*88", "72", "7201", "*1", "*",
    )]
    probes += [Probe("junk", s) for s in (
        "1" * 40, "9" * 120, "12345abc", "abc", "12345#", "12345*", "1-2345", "12345.", "123%2045",
        "0088213000001%00123", "1234%2C5", "12345%2C1", "12333%2C1%2Cend", "12345&x=1", "12345%3B", "12345%22",
        "0x3039", "1e5", "%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95",
    )]
    probes += [Probe("uri", u) for u in (
        "sip:12345;phone-context=+86@{host}",
        "sip:0088213000001@{host};user=phone",
        "sip:0088213000001@evil.example.com",
        "sip:%30%30%38%38%32%31%33@{host}",
        "sip:9%2F0088213000001@{host}",
        "sip:PJSIP%2Fdept-12333@{host}",
        "sip:12345%2CPJSIP%2Fdept-12333@{host}",
        "sip:12333%40dept-12333@{host}",
        "sip:0088213000001@{host};maddr=198.51.100.7",
        "sip:0088213000001@198.51.100.7;transport=udp",
        "sips:0088213000001@{host}",
        "tel:+88213000001",
        "tel:0088213000001;phone-context=+86",
        "sip:{host}",
    )]
    names = sorted(set(endpoints)) or ["agent-1001", "dept-12333", "return-visit", "trunk", "test-caller"]
    probes += [Probe("endpoint", name) for name in names]
    probes += [Probe("endpoint", name.removeprefix("agent-")) for name in names if name.startswith("agent-")]
    probes += [Probe("endpoint", f"sip:{name}@{{host}}") for name in names[:3]]
    return probes


def request_uri(probe: Probe, host: str, port: int) -> str:
    hostport = f"{host}:{port}"
    if probe.target.startswith(("sip:", "sips:", "tel:")):
        return probe.target.replace("{host}", hostport)
    return f"sip:{probe.target}@{hostport}"


@dataclass(frozen=True)
class Source:
    """Where probes come from: the trunk's address, an agent with its password, a department line."""

    name: str
    user: str  # From user (names the endpoint for identification by user)
    password: str = "not-the-password"  # sent only when challenged
    host: str = "127.0.0.1"


@dataclass(frozen=True)
class Attempt:
    source: str
    probe: Probe
    caller: str
    result: SippResult

    @property
    def finals(self) -> list[int]:
        """Final response codes to the INVITEs, in order."""
        codes = []
        for block in _received(self.result.message_log()):
            match = re.match(r"SIP/2\.0 (\d{3})", block)
            if match and int(match.group(1)) >= 200 and re.search(r"^CSeq:\s*\d+ INVITE", block, re.M | re.I):
                codes.append(int(match.group(1)))
        return list(dict.fromkeys(codes))  # retransmissions once

    @property
    def answered(self) -> bool:
        return 200 in self.finals

    @property
    def hung_up_by_hotline(self) -> bool:
        return any(block.startswith("BYE ") for block in _received(self.result.message_log()))

    @property
    def refused(self) -> bool:
        finals = self.finals
        return bool(finals) and not self.answered and all(c in REFUSAL_CODES or c in (401, 407) for c in finals)


def _received(log: str) -> Iterator[str]:
    """The SIP messages SIPp received, each from its start line."""
    for chunk in re.split(r"^-{20,}.*$", log, flags=re.M):
        lines = chunk.strip().splitlines()
        if lines and lines[0].startswith("UDP message received"):
            body = "\n".join(line.rstrip("\r") for line in lines[1:]).strip()
            if body:
                yield body


def _scenario(trace_dir: Path, uri: str, listen_ms: int) -> Path:
    ack = """<send><![CDATA[
      ACK [uri] SIP/2.0
      [last_Via:]
      From: "[caller]" <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: [cseq] ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]></send>"""
    refusals = "\n".join(f'  <recv response="{c}" optional="true" next="2"/>' for c in REFUSAL_CODES)
    text = (PEERS / "probe.xml").read_text()
    text = text.replace("[refusals]", refusals).replace("[ack]", ack)
    text = text.replace("[uri]", uri.replace("&", "&amp;")).replace("[listen_ms]", str(listen_ms))
    trace_dir.mkdir(parents=True, exist_ok=True)
    path = trace_dir / "probe.xml"
    path.write_text(text)
    return path


def _one(source: Source, probe: Probe, caller: str, port: int, trace_dir: Path, listen_ms: int) -> Attempt:
    attempt = _sipp(source, probe, caller, port, trace_dir, listen_ms)
    if "message sent" not in attempt.result.message_log():  # SIPp never got going (a port taken meanwhile)
        attempt = _sipp(source, probe, caller, port, trace_dir, listen_ms)
    return attempt


def _sipp(source: Source, probe: Probe, caller: str, port: int, trace_dir: Path, listen_ms: int) -> Attempt:
    from ari_app.sandbox.proc import free_port, free_port_both

    scenario = _scenario(trace_dir, request_uri(probe, "127.0.0.1", port), listen_ms)
    cmd = [
        sipp_binary(), f"127.0.0.1:{port}", "-sf", str(scenario), "-i", source.host, "-p", str(free_port_both()),
        "-m", "1", "-nostdin", "-timeout", f"{listen_ms // 1000 + 30}s", "-timeout_error",
        "-au", source.user, "-ap", source.password,
        "-key", "caller", caller, "-key", "rtp_port", str(free_port()), *_traces(trace_dir),
    ]
    result = _spawn(cmd, trace_dir).wait(listen_ms / 1000 + 45)
    return Attempt(source.name, probe, caller, result)


def run_probes(runs: list[tuple[Source, Probe, str]], port: int, trace_dir: Path, listen_ms: int = 15000,
               parallel: int = 24) -> list[Attempt]:
    """Send each probe from its source with its caller (From user), ``parallel`` at a time."""
    with ThreadPoolExecutor(parallel) as pool:
        jobs = [pool.submit(_one, source, probe, caller, port, trace_dir / f"{source.name}-{i:03d}", listen_ms)
                for i, (source, probe, caller) in enumerate(runs)]
        return [job.result() for job in jobs]
