"""The peers a scenario starts: the department's seats, the citizen called back over the outbound
trunk, agent phones (register, log in with *72, out with *73 at the end). Each is stopped when the
scenario's ExitStack closes."""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from ari_app.scenarios import qualify, sipp
from ari_app.scenarios.model import AgentPeer, CitizenPeer, DepartmentPeer

TEST_CALLER = "test-caller"  # the sandbox's softphone account, which its return-visit trunk rings


@dataclass
class Lines:
    target: tuple[str, int]
    local: str
    files: Path  # shared SIPp files: register.xml, dial-with-auth.xml
    folder: Path  # the scenario's artifacts
    stack: ExitStack

    def department(self, peer: DepartmentPeer, address: tuple[str, int], line: str) -> tuple[sipp.Sipp, str]:
        """The department's seats on the address its lines point at, once the target has qualified
        ``line`` there (else the dialplan takes the line for unreachable and does not ring it)."""
        dept = sipp.uas(Path(peer.phone), address=address, folder=self.folder / "department", hold_ms=peer.hold_ms)
        self.stack.callback(dept.stop)
        return dept, wait_qualified(dept, address, line)

    def citizen(self, peer: CitizenPeer, trunk: tuple[str, int] | None, password: str) -> tuple[sipp.Sipp | None, str]:
        """The citizen's phone where the target's outbound trunk rings: a UAS on ``trunk``, or
        registered as the sandbox's test caller (whose registration its return-visit trunk rings)."""
        folder = self.folder / "citizen"
        if trunk is not None:
            uas = sipp.uas(Path(peer.phone), address=trunk, folder=folder, hold_ms=peer.hold_ms,
                           values=dict(peer.values))
            self.stack.callback(uas.stop)
            return uas, _listening(uas, trunk, 20)
        if not password:
            return None, ("a citizen called back needs --trunk HOST:PORT (where the target's outbound trunk "
                          "rings) or the test caller's password in --secrets (HOTLINE_TEST_CALLER_PASSWORD)")
        account = sipp.Account(TEST_CALLER, password, self.target, self.local)
        phone = sipp.phone(Path(peer.phone), self.files / "register.xml", account=account, folder=folder,
                           hold_ms=peer.hold_ms, values=dict(peer.values))
        phone.account = account
        self.stack.callback(phone.stop)
        return phone, self.wait_registered(phone)

    def agent(self, peer: AgentPeer, password: str) -> sipp.Sipp:
        account = sipp.Account(f"agent-{peer.id}", password, self.target, self.local)
        phone = sipp.phone(Path(peer.phone), self.files / "register.xml", account=account,
                           folder=self.folder / f"agent-{peer.id}", hold_ms=peer.hold_ms, values=dict(peer.values))
        phone.account = account
        self.stack.callback(phone.stop)
        return phone

    def wait_registered(self, phone: sipp.Sipp, timeout: float = 10) -> str:
        """Until the phone's REGISTER got 200; an error sentence or ""."""
        deadline = time.monotonic() + timeout
        while not _registered(phone):
            if phone.process.poll() is not None or time.monotonic() > deadline:
                user = phone.account.user if phone.account else "the phone"
                return (f"{user} could not register at {self.target[0]}:{self.target[1]} "
                        f"(wrong password in --secrets, or no such endpoint on the target)")
            time.sleep(0.1)  # polling the phone's trace until a deadline
        return ""

    def log_in(self, phone: sipp.Sipp, agent_id: str) -> str:
        """The agent dials *72 (and *73 when the scenario ends); an error sentence or ""."""
        account = phone.account
        assert account is not None
        code = self.feature(account, "*72", self.folder / f"{account.user}-login")
        if code != 0:
            return f"{account.user} dialing *72 (log in) failed: SIPp exit {code}"
        self.stack.callback(self.feature, account, "*73", self.folder / f"agent-{agent_id}-logout")
        return ""

    def feature(self, account: sipp.Account, code: str, folder: Path) -> int | None:
        call = sipp.dial_code(self.files / "dial-with-auth.xml", account=account, code=code, folder=folder)
        return call.wait(40)


def _registered(phone: sipp.Sipp) -> bool:
    return any(b for b in phone.messages().split("-" * 20) if "SIP/2.0 200" in b and "REGISTER" in b)


def _listening(uas: sipp.Sipp, address: tuple[str, int], timeout: float) -> str:
    """Until SIPp has bound ``address``; an error sentence or ""."""
    deadline = time.monotonic() + timeout
    while uas.process.poll() is None and sipp.port_free(address):
        if time.monotonic() > deadline:
            return f"the peer did not listen on {address[0]}:{address[1]} within {timeout:g} s"
        time.sleep(0.05)  # polling until SIPp has bound its port
    if uas.process.poll() is not None:
        return f"the peer for {address[0]}:{address[1]} ended at once: exit {uas.wait(5)} (is the port taken?)"
    return ""


def wait_qualified(uas: sipp.Sipp, address: tuple[str, int], line: str, timeout: float = 40) -> str:
    """Until the target has found ``line`` reachable at the peer (see ari_app.scenarios.qualify);
    an error sentence when the peer does not listen or the target does not qualify the line."""
    deadline = time.monotonic() + timeout
    error = _listening(uas, address, timeout)
    if error:
        return error.replace("the peer", "the department peer") + " (--department)"
    listening = time.time()
    while uas.process.poll() is None:
        if qualify.qualified(qualify.options_times(uas.messages(), line), listening):
            return ""
        if time.monotonic() > deadline:
            return (f"the target did not qualify department line {line} at {address[0]}:{address[1]} within "
                    f"{timeout:g} s: is that where its department lines point (--department), with qualify on?")
        time.sleep(0.2)  # polling the peer's trace until a deadline
    return f"the department peer on {address[0]}:{address[1]} ended: exit {uas.wait(5)}"
