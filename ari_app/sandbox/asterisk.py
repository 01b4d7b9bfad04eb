"""Run a real Asterisk for development and tests.

A system ``asterisk`` 20 or newer is used when installed. Otherwise a Debian sid root holding the
``asterisk`` package is built once with mmdebstrap, cached outside the work tree, and Asterisk 22
runs inside it under chroot. Each run gets its own directory (configuration, logs, spool, sockets),
so tests and ``scripts/up`` can run side by side.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ari_app.registry.loader import load_registry
from ari_app.registry.render import write_all
from ari_app.sandbox.confgen import CALL_SPOOL, DIALPLAN_FRAGMENTS_DIR, AsteriskConfig, SipPeer, render_all
from ari_app.sandbox.proc import run, wait_until
from ari_app.seats.loader import load_seats
from ari_app.seats.phones import agent_passwords, new_phone_password
from ari_app.secrets_store import ensure_secrets
from ari_app.settings import REPO_ROOT, default_state_dir

ROOT_PACKAGES = ("asterisk", "asterisk-modules", "asterisk-config", "asterisk-core-sounds-en-gsm")
MODULE_DIRS = ("/usr/lib/x86_64-linux-gnu/asterisk/modules", "/usr/lib/aarch64-linux-gnu/asterisk/modules",
               "/usr/lib/asterisk/modules")
RUNS_DIR = "hotline-runs"
TEST_CALLER_KEY = "HOTLINE_TEST_CALLER_PASSWORD"


class SandboxError(RuntimeError):
    pass


def cache_dir() -> Path:
    raw = os.environ.get("HOTLINE_CACHE_DIR")
    if raw:
        return Path(raw)
    if os.geteuid() == 0:
        return Path("/var/cache/hotline")
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hotline"


def system_asterisk() -> str | None:
    """Path of an installed asterisk 20 or newer, if any."""
    path = shutil.which("asterisk") or (os.path.exists("/usr/sbin/asterisk") and "/usr/sbin/asterisk") or None
    if not path:
        return None
    try:
        out = subprocess.run([path, "-V"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"Asterisk (\d+)", out)
    return path if match and int(match.group(1)) >= 20 else None


def root_dir() -> Path:
    return cache_dir() / "asterisk-root"


def build_root(log: Path | None = None) -> Path:
    """Build the Debian sid root once (idempotent; concurrent callers wait on a lock)."""
    target = root_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / "asterisk-root.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "usr/sbin/asterisk").exists():
            return target
        if os.geteuid() != 0:
            raise SandboxError("building the Asterisk root needs root (mmdebstrap + chroot); run as root")
        if not shutil.which("mmdebstrap"):
            raise SandboxError("mmdebstrap is missing: run scripts/bootstrap")
        tmp = target.with_name("asterisk-root.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        cmd = [
            "mmdebstrap", "--variant=apt",
            "--aptopt=Acquire::Check-Valid-Until \"false\"",
            "--include=" + ",".join(ROOT_PACKAGES),
            "sid", str(tmp),
        ]
        with open(log or target.with_name("asterisk-root.build.log"), "w") as out:
            result = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, timeout=1800)
        if result.returncode != 0:
            raise SandboxError(f"mmdebstrap failed (exit {result.returncode}); see {out.name}")
        tmp.rename(target)
        return target


def run_dir_for(name: str, chroot: Path | None) -> Path:
    return (chroot if chroot is not None else cache_dir()) / RUNS_DIR / name


@dataclass
class AsteriskSandbox:
    """One Asterisk run: rendered configuration, process, logs."""

    name: str
    sip_port: int
    http_port: int
    ami_port: int
    agi_port: int
    ari_password: str = field(repr=False)
    ami_password: str = field(repr=False)
    rtp_start: int = 20000
    peers: tuple[SipPeer, ...] = ()
    registry_path: Path = REPO_ROOT / "config" / "hotlines.yaml"
    seats_path: Path = REPO_ROOT / "config" / "seats.yaml"
    state_dir: Path = field(default_factory=lambda: default_state_dir(os.environ))  # where SIP passwords live
    sip_host: str = "127.0.0.1"
    trunk_match: tuple[str, ...] = ("127.0.0.1",)
    ari_user: str = "hotline"
    ami_user: str = "hotline"
    ari_app: str = "hotline"
    system_name: str = ""  # one of several nodes: its name, the prefix of its channel ids
    agent_proxy: str = ""  # host:port of the SIP proxy the agents' phones register at (several nodes)
    chroot: Path | None = None
    binary: str = "/usr/sbin/asterisk"
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls, name: str, **kwargs: object) -> AsteriskSandbox:
        """A sandbox on the system Asterisk if there is one, else in the cached sid root."""
        binary = system_asterisk()
        if binary:
            return cls(name=name, binary=binary, **kwargs)  # type: ignore[arg-type]
        return cls(name=name, chroot=build_root(), **kwargs)  # type: ignore[arg-type]

    # -- paths -----------------------------------------------------------------------------
    @property
    def inner_base(self) -> PurePosixPath:
        """The run directory as Asterisk sees it."""
        if self.chroot is not None:
            return PurePosixPath("/") / RUNS_DIR / self.name
        return PurePosixPath(self.run_dir)

    @property
    def run_dir(self) -> Path:
        """The run directory as this process sees it."""
        return run_dir_for(self.name, self.chroot)

    @property
    def log_dir(self) -> Path:
        return self.run_dir / "log"

    @property
    def call_spool(self) -> Path:
        """The dialplan's call spool (HOTLINE_CALL_SPOOL), as this process sees it."""
        return self.run_dir / CALL_SPOOL

    @property
    def ari_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def _module_dir(self) -> str:
        prefix = self.chroot or Path("/")
        for candidate in MODULE_DIRS:
            if (prefix / candidate.lstrip("/")).is_dir():
                return candidate
        raise SandboxError("no Asterisk module directory found")

    def _cmd(self, *args: str) -> list[str]:
        base = [self.binary, "-C", str(self.inner_base / "etc" / "asterisk.conf"), *args]
        return ["chroot", str(self.chroot), *base] if self.chroot is not None else base

    # -- configuration ---------------------------------------------------------------------
    def render(self) -> None:
        run_dir = self.run_dir
        for sub in ("etc", "varlib", "spool", "spool/recording", "run", "log", "data"):
            (run_dir / sub).mkdir(parents=True, exist_ok=True)
        fragments = sorted(p.name for p in (REPO_ROOT / "dialplan").glob("*.conf"))
        cfg = AsteriskConfig(
            base=self.inner_base,
            module_dir=self._module_dir(),
            sip_port=self.sip_port,
            http_port=self.http_port,
            ami_port=self.ami_port,
            agi_url=f"agi://127.0.0.1:{self.agi_port}",
            ari_user=self.ari_user,
            ari_password=self.ari_password,
            ami_user=self.ami_user,
            ami_password=self.ami_password,
            rtp_start=self.rtp_start,
            ari_app=self.ari_app,
            dialplan_files=tuple(fragments),
            peers=self.peers,
            sip_host=self.sip_host,
            trunk_match=self.trunk_match,
            test_caller_password=self.test_caller_password(),
            system_name=self.system_name,
            sip_proxy=self.agent_proxy,
        )
        etc = run_dir / "etc"
        for filename, text in render_all(cfg).items():
            path = etc / filename
            path.write_text(text, encoding="utf-8")
            if filename in ("ari.conf", "manager.conf"):
                path.chmod(0o600)
        dialplan = etc / DIALPLAN_FRAGMENTS_DIR
        shutil.rmtree(dialplan, ignore_errors=True)
        shutil.copytree(REPO_ROOT / "dialplan", dialplan)
        self.render_registry()
        self._link_data()
        if self.chroot is not None:
            hosts = self.chroot / "etc" / "hosts"
            hosts.write_text(f"127.0.0.1 localhost {socket.gethostname()}\n::1 localhost\n", encoding="utf-8")

    def render_registry(self, registry_path: Path | None = None) -> None:
        """Write the registry's include files (numbers, department lines, degraded queue) to etc/, and
        the dialplan fragments beside them as `hotline reload` does (the sandbox includes etc/dialplan/'s)."""
        registry = load_registry(registry_path or self.registry_path)
        seats = load_seats(self.seats_path)
        write_all(registry, seats, agent_passwords(self.state_dir, seats), self.run_dir / "etc",
                  media_address=self.sip_host, dialplan=REPO_ROOT / "dialplan", agent_proxy=self.agent_proxy)

    def test_caller_password(self) -> str:
        """The test caller's SIP password (made on first use, kept in the state dir's secrets.env)."""
        return ensure_secrets(self.state_dir, (TEST_CALLER_KEY,), new_phone_password)[TEST_CALLER_KEY]

    def _link_data(self) -> None:
        """data/ = the distribution's sounds and ARI docs + the project's Chinese prompts and music."""
        data = self.run_dir / "data"
        sounds = data / "sounds"
        sounds.mkdir(parents=True, exist_ok=True)
        system_share = "/usr/share/asterisk"
        # Stasis refuses to start without the XML documentation; ARI serves api-docs from rest-api.
        for target, link in ((f"{system_share}/rest-api", data / "rest-api"),
                             (f"{system_share}/documentation", data / "documentation"),
                             (f"{system_share}/sounds/en", sounds / "en")):
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(target)
        for sub, dest in (("zh", sounds / "zh"), ("moh", data / "moh")):
            shutil.rmtree(dest, ignore_errors=True)
            source = REPO_ROOT / "sounds" / sub
            if source.is_dir():
                shutil.copytree(source, dest)
            else:
                dest.mkdir()

    # -- process ---------------------------------------------------------------------------
    def start(self, timeout: float = 60) -> None:
        self.render()
        console = open(self.log_dir / "console.log", "ab")
        self.process = subprocess.Popen(
            self._cmd("-f", "-n"), stdout=console, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        console.close()
        try:
            wait_until(self._ctl_ready, timeout, interval=0.1, what="the Asterisk control socket")
            result = run(self._cmd("-rx", "core waitfullybooted"), check=False, timeout=timeout)
            if result.returncode != 0:
                raise SandboxError(f"core waitfullybooted failed: {result.stdout}{result.stderr}")
            wait_until(self._http_ready, timeout, interval=0.1, what="the ARI HTTP port")
        except (TimeoutError, SandboxError):
            self.kill()
            raise SandboxError(f"Asterisk did not start; see {self.log_dir}/console.log and messages.log") from None

    def _ctl_ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise SandboxError(f"Asterisk exited with {self.process.returncode}; see {self.log_dir}")
        return (self.run_dir / "run" / "asterisk.ctl").exists()

    def _http_ready(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.http_port)) == 0

    def cli(self, command: str, timeout: float = 30) -> str:
        result = run(self._cmd("-rx", command), check=False, timeout=timeout)
        return result.stdout + result.stderr

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15) -> None:
        """Orderly stop (``core stop now``: modules unload, files close), then SIGTERM, then SIGKILL."""
        if not self.running():
            return
        try:
            self.cli("core stop now", timeout=timeout)
        except subprocess.TimeoutExpired:  # seen with a channel stuck in Asterisk: the signals below still stop it
            pass
        if not self._wait_exit(timeout):
            self._signal(signal.SIGTERM)
            if not self._wait_exit(5):
                self.kill()

    def kill(self) -> None:
        """SIGKILL: what a crash looks like to the app."""
        if self.process is None:
            return
        self._signal(signal.SIGKILL)
        self._wait_exit(10)
        ctl = self.run_dir / "run" / "asterisk.ctl"
        ctl.unlink(missing_ok=True)

    def _signal(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass

    def _wait_exit(self, timeout: float) -> bool:
        if self.process is None:
            return True
        try:
            self.process.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def remove(self) -> None:
        shutil.rmtree(self.run_dir, ignore_errors=True)

