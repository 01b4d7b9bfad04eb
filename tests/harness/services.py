"""Start and stop the real services a test needs: PostgreSQL, Asterisk, `hotline serve`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ari_app.sandbox.asterisk import AsteriskSandbox
from ari_app.sandbox.confgen import SipPeer
from ari_app.sandbox.postgres import PostgresCluster
from ari_app.sandbox.proc import free_port, free_port_both, new_password
from tests.harness.ari import AriProbe
from tests.harness.auth import ADMIN, ensure_account, login, use_token
from tests.harness.wait import wait_for

REPO = Path(__file__).resolve().parents[2]
_passwords: dict[tuple[str, str], str] = {}  # (database, account) -> the password the harness gave it


def start_postgres() -> PostgresCluster:
    base = Path(tempfile.mkdtemp(prefix="hotline-test-pg-"))
    base.chmod(0o755)  # the server runs as postgres when we are root
    cluster = PostgresCluster(base / "data", free_port())
    cluster.start()
    return cluster


@dataclass
class Stack:
    """An Asterisk sandbox plus the ports `hotline serve` will listen on."""

    asterisk: AsteriskSandbox
    agi_port: int
    ari_app: str

    @property
    def ari(self) -> AriProbe:
        return AriProbe(self.asterisk.ari_url, self.asterisk.ari_user, self.asterisk.ari_password)


def start_asterisk(
    name: str,
    peers: tuple[SipPeer, ...] = (),
    ari_app: str = "hotline",
    registry_path: Path | None = None,
    seats_path: Path | None = None,
    state_dir: Path | None = None,
    sip_host: str = "127.0.0.1",
    trunk_match: tuple[str, ...] = ("127.0.0.1",),
) -> Stack:
    """An Asterisk sandbox on free ports. Its SIP passwords (agents, test caller) are generated into
    ``state_dir`` (default: a fresh temporary directory), where the phones of a test read them."""
    agi_port = free_port()
    sandbox = AsteriskSandbox.create(
        name,
        sip_port=free_port_both(),
        http_port=free_port(),
        ami_port=free_port(),
        agi_port=agi_port,
        ari_password=new_password(),
        ami_password=new_password(),
        rtp_start=20000 + (os.getpid() * 7 + len(name) * 400) % 10000,
        peers=peers,
        ari_app=ari_app,
        state_dir=state_dir or Path(tempfile.mkdtemp(prefix="hotline-test-state-")),
        sip_host=sip_host,
        trunk_match=trunk_match,
        **({"registry_path": registry_path} if registry_path else {}),
        **({"seats_path": seats_path} if seats_path else {}),
    )
    sandbox.start()
    return Stack(sandbox, agi_port, ari_app)


@dataclass
class ServeProcess:
    """`hotline serve` as a real subprocess, its JSON log kept in a file."""

    stack: Stack
    dsn: str
    log_path: Path
    http_port: int = field(default_factory=free_port)
    ari_password: str | None = None  # override, e.g. a wrong one
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    token: str = field(default="", repr=False)  # the admin's bearer token, once ready

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def env(self) -> dict[str, str]:
        state_dir = self.log_path.parent / "state"
        state_dir.mkdir(parents=True, exist_ok=True)
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")},
            "HOTLINE_ARI_URL": self.stack.asterisk.ari_url,
            "HOTLINE_ARI_USER": self.stack.asterisk.ari_user,
            "HOTLINE_ARI_PASSWORD": self.ari_password or self.stack.asterisk.ari_password,
            "HOTLINE_ARI_APP": self.stack.ari_app,
            "HOTLINE_DSN": self.dsn,
            "HOTLINE_HTTP_PORT": str(self.http_port),
            "HOTLINE_AGI_PORT": str(self.stack.agi_port),
            "HOTLINE_STATE_DIR": str(state_dir),
            "HOTLINE_ARI_BACKOFF_MAX": "1.0",
            "HOTLINE_ARI_BACKOFF_INITIAL": "0.1",
            "HOTLINE_LOG_LEVEL": "debug",
            "HOTLINE_CALL_SPOOL": str(self.stack.asterisk.call_spool),
            "HOTLINE_CALL_SPOOL_EVERY": "0.5",
            "HOTLINE_AMI_PORT": str(self.stack.asterisk.ami_port),
            "HOTLINE_AMI_USER": self.stack.asterisk.ami_user,
            "HOTLINE_AMI_SECRET": self.stack.asterisk.ami_password,
            # Many tests (and the OpenAPI fuzzer's made-up logins) share one client address here.
            "HOTLINE_LOGIN_ADDRESS_FAILURES": "1000",
            **self.extra_env,
        }

    def start(self) -> ServeProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ari_app.cli", "serve"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env(), cwd=REPO,
        )
        out.close()
        wait_for(self._listening, 20, "hotline serve HTTP port")
        return self

    def _listening(self) -> bool:
        self._check_alive()
        try:
            self.get("/healthz")
            return True
        except OSError:
            return False

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"hotline serve exited with {self.process.returncode}:\n{self.log_text()[-3000:]}")

    def get(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(self.http + path, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def send(self, method: str, path: str, body: dict[str, Any] | None = None, token: str = "") -> tuple[int, Any]:
        """A JSON request as the holder of ``token`` (none: anonymous); its status and JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
        request = urllib.request.Request(self.http + path, method=method, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def ready(self) -> bool:
        self._check_alive()
        try:
            status, _ = self.get("/readyz")
        except OSError:
            return False
        return status == 200

    def wait_ready(self, timeout: float = 20) -> None:
        wait_for(self.ready, timeout, "hotline serve /readyz")
        self.log_in()

    def log_in(self) -> None:
        """Once the service has its database: an admin account of its own, whose token every request
        of the tests to this service then carries (made the first time only)."""
        if self.token:
            return
        password, name = new_password(), f"{ADMIN}-{self.http_port}"  # one per service: tests share databases
        ensure_account(self.dsn, name, "admin", password)
        self.token = login(self.http, name, password)
        use_token(self.http, self.token)

    def login_as(self, name: str, role: str, department: str = "", agent: str = "") -> str:
        """A token for another account (made if missing, with a password kept per database) of this service."""
        password = _passwords.setdefault((self.dsn, name), new_password())
        ensure_account(self.dsn, name, role, password, department, agent)
        return login(self.http, name, password)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_events(self) -> list[dict[str, Any]]:
        events = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                try:
                    events.append(json.loads(line))
                except ValueError:
                    continue
        return events

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


def registry_copy(dest: Path, contacts: dict[str, int], replace: dict[str, str] | None = None) -> Path:
    """A copy of config/hotlines.yaml whose department lines point at local SIPp peers.

    ``contacts`` maps an endpoint (dept-12333) to the UDP port of the peer playing it;
    ``replace`` applies further text substitutions (say, a shorter ring timeout).
    """
    text = (REPO / "config" / "hotlines.yaml").read_text(encoding="utf-8")
    for endpoint, port in contacts.items():
        number = endpoint.removeprefix("dept-")
        old = f"sip:{number}@127.0.0.1:5099"
        assert old in text, f"no contact {old} in the registry"
        text = text.replace(old, f"sip:{number}@127.0.0.1:{port}")
    for old, new in (replace or {}).items():
        assert old in text, f"{old!r} not in the registry"
        text = text.replace(old, new)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")
    return dest


def assert_no_leaks(stack: Stack, timeout: float = 10) -> None:
    """After a test: Asterisk has no channel and no bridge left (cleared, and reported, if it has)."""
    try:
        wait_for(lambda: not stack.ari.channels(), timeout, "no channels left in Asterisk")
        wait_for(lambda: not stack.ari.call_bridges(), timeout, "no bridges left in Asterisk")
    except AssertionError:
        leftovers = {"channels": stack.ari.channels(), "bridges": stack.ari.call_bridges()}
        stack.ari.clear()
        raise AssertionError(f"leak after test: {leftovers}") from None
