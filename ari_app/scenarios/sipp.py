"""SIPp as the tester's phones: the caller (UAC), agent phones (register, answer), the department (UAS).

Each process runs in a folder of its own, where SIPp writes its message trace (``messages.log``)
and errors; the runner keeps those folders when a scenario fails.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ari_app.sandbox.proc import free_port, free_port_block, free_port_both

_RESPONSE = re.compile(r"^SIP/2\.0 (\d{3}) ", re.M)


def sipp_binary() -> str:
    found = shutil.which("sipp")
    if not found:
        raise RuntimeError("sipp not found: install SIPp (Debian package sip-tester, or scripts/bootstrap)")
    return found


def local_address(host: str, port: int) -> str:
    """This machine's address toward ``host``: what the caller's Via, Contact and SDP say."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((host, port))
        address: str = probe.getsockname()[0]
        return address


def media_port(*avoid: int) -> int:
    """A port for SIPp's ``-mp``: SIPp binds it and the next three, so all four are free and kept
    from any port handed out later in this process."""
    return free_port_block(4, *avoid)


def port_free(address: tuple[str, int]) -> bool:
    """Whether nothing has bound this UDP address yet (a peer that is still starting)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(address)
        except OSError:
            return False
        return True


def with_values(script: Path, folder: Path, **values: int | str) -> Path:
    """A copy of ``script`` in ``folder`` with ``[name]`` keywords written in (SIPp substitutes
    keywords in messages but not in a ``<pause>`` or a ``timeout`` attribute)."""
    text = script.read_text()
    for name, value in values.items():
        text = text.replace(f"[{name}]", str(value))
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / script.name
    copy.write_text(text)
    return copy


@dataclass
class Sipp:
    """One SIPp process and its folder."""

    process: subprocess.Popen[str]
    folder: Path
    output: str = ""
    account: Account | None = None  # a phone's SIP account

    @classmethod
    def spawn(cls, args: list[str], folder: Path) -> Sipp:
        folder.mkdir(parents=True, exist_ok=True)
        cmd = [sipp_binary(), *args, "-nostdin", "-trace_msg", "-message_file", str(folder / "messages.log"),
               "-trace_err", "-error_file", str(folder / "errors.log")]
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   text=True, errors="replace", cwd=folder)
        return cls(process, folder)

    def wait(self, timeout: float) -> int | None:
        """SIPp's exit status; None when it had to be killed after ``timeout`` seconds."""
        try:
            self.output, _ = self.process.communicate(timeout=timeout)
            code: int | None = self.process.returncode
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.output, _ = self.process.communicate()
            code = None
        (self.folder / "stdout.log").write_text(self.output)
        return code

    def wait_heard(self, silent_s: float, timeout: float) -> int | None:
        """As :meth:`wait`, but give up after ``silent_s`` seconds if the target has not answered
        anything (a wrong address, a firewall): SIPp would retransmit until its own timeout."""
        deadline = time.monotonic() + silent_s
        while self.process.poll() is None and time.monotonic() < deadline:
            if "message received" in self.messages():
                break
            time.sleep(0.2)  # polling SIPp's trace until a deadline
        else:
            if self.process.poll() is None:
                self.process.kill()
        return self.wait(timeout)

    def stop(self) -> None:
        """End a peer that runs until told (a UAS, a phone)."""
        if self.process.poll() is None:
            self.process.terminate()
        self.wait(10)

    def messages(self) -> str:
        path = self.folder / "messages.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _blocks(self) -> list[str]:
        return [b for b in re.split(r"^-{10,}.*$", self.messages(), flags=re.M) if "message received" in b]

    def invite_responses(self) -> list[int]:
        """Status codes of the responses this UAC received to its INVITE, in order, each once."""
        codes: list[int] = []
        for block in self._blocks():
            match = _RESPONSE.search(block)
            if match and re.search(r"^CSeq:\s*\d+\s+INVITE", block, re.M | re.I) and int(match.group(1)) not in codes:
                codes.append(int(match.group(1)))
        return codes

    def invites_received(self) -> int:
        """How many calls reached this peer (INVITEs, retransmissions counted once, by Call-ID)."""
        ids = set()
        for block in self._blocks():
            if re.search(r"^INVITE sip:", block, re.M):
                found = re.search(r"^Call-ID:\s*(\S+)", block, re.M | re.I)
                ids.add(found.group(1) if found else block)
        return len(ids)


def caller(script: Path, *, target: tuple[str, int], local: str, number: str, caller_id: str, rtp_port: int,
           folder: Path, listen_ms: int, timeout_s: int, values: dict[str, str]) -> Sipp:
    """One call from ``script`` (UAC) dialing ``number`` at ``target`` (``values``: more keywords
    written into the script, e.g. the DTMF capture a caller plays)."""
    copy = with_values(script, folder, listen_ms=listen_ms, **values)
    port = free_port_both()
    return Sipp.spawn([f"{target[0]}:{target[1]}", "-sf", str(copy), "-s", number, "-i", local,
                       "-p", str(port), "-mp", str(media_port(port)), "-m", "1", "-l", "1", "-timeout", f"{timeout_s}s",
                       "-timeout_error", "-key", "caller", caller_id, "-key", "rtp_port", str(rtp_port)], folder)


def uas(script: Path, *, address: tuple[str, int], folder: Path, hold_ms: int,
        values: dict[str, str] | None = None) -> Sipp:
    """A department's seats, or a citizen on the outbound trunk: answer every call to ``address``
    with ``script`` until stopped."""
    copy = with_values(script, folder, hold_ms=hold_ms, rtp_port=free_port(), **(values or {}))
    return Sipp.spawn(["-sf", str(copy), "-i", address[0], "-p", str(address[1]), "-mp",
                       str(media_port(address[1])), "-aa"], folder)


@dataclass(frozen=True)
class Account:
    user: str
    password: str
    target: tuple[str, int]
    local: str


def phone(script: Path, register: Path, *, account: Account, folder: Path, hold_ms: int,
          values: dict[str, str]) -> Sipp:
    """An agent's phone: registers with ``account`` (digest), then answers calls with ``script``."""
    port = free_port_both()
    answer = with_values(script, folder, hold_ms=hold_ms, rtp_port=free_port(), **values)
    reg = with_values(register, folder, expires=300, renew_ms=150000)
    return Sipp.spawn([*_as(account, reg, port), "-oocsf", str(answer), "-key", "user", account.user,
                       "-mp", str(media_port(port)), "-l", "1000", "-aa"], folder)


def dial_code(script: Path, *, account: Account, code: str, folder: Path) -> Sipp:
    """The phone of ``account`` dials a feature code (*72, *73), challenged once then authenticated."""
    copy = with_values(script, folder, listen_ms=15000)
    return Sipp.spawn([*_as(account, copy, free_port_both()), "-s", code, "-key", "caller", account.user,
                       "-key", "rtp_port", str(free_port()), "-timeout", "30s", "-timeout_error"], folder)


def _as(account: Account, script: Path, port: int) -> list[str]:
    return [f"{account.target[0]}:{account.target[1]}", "-sf", str(script), "-au", account.user,
            "-ap", account.password, "-i", account.local, "-p", str(port), "-m", "1"]
