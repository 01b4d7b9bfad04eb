"""A throwaway or per-install PostgreSQL cluster: initdb + pg_ctl on a loopback port.

initdb refuses to run as root, so as root every server command runs as the ``postgres`` user.
The superuser gets a password generated at initdb time; the server listens on 127.0.0.1 only,
with its Unix socket inside the data directory.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from ari_app.sandbox.proc import is_root, new_password, run, wait_until

PASSWORD_FILE = "hotline-password"  # noqa: S105 - a file name, not a password


def find_pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version_key)
    if candidates:
        return candidates[-1]
    raise FileNotFoundError(f"{name} not found: install PostgreSQL (scripts/bootstrap does) or set HOTLINE_DSN")


def _version_key(path: str) -> int:
    part = path.split("/")[4]
    return int(part) if part.isdigit() else 0


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if is_root() else cmd


@dataclass
class PostgresCluster:
    data_dir: Path
    port: int
    database: str = "hotline"
    user: str = "hotline"

    @property
    def password(self) -> str:
        return (self.data_dir / PASSWORD_FILE).read_text(encoding="utf-8").strip()

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        if self.initialized():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pwfile = self.data_dir.parent / f".{self.data_dir.name}.pw"
        password = new_password()
        pwfile.write_text(password + "\n", encoding="utf-8")
        if is_root():
            shutil.chown(self.data_dir, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        os.chmod(pwfile, 0o600)
        try:
            run(
                _as_owner(
                    [
                        find_pg_bin("initdb"),
                        "-D", str(self.data_dir),
                        "-U", self.user,
                        "--pwfile", str(pwfile),
                        "-A", "scram-sha-256",
                        "-E", "UTF8",
                        "--locale=C.UTF-8",
                    ]
                )
            )
        finally:
            pwfile.unlink(missing_ok=True)
        secret = self.data_dir / PASSWORD_FILE
        secret.write_text(password + "\n", encoding="utf-8")
        os.chmod(secret, 0o600)

    def running(self) -> bool:
        return run(_as_owner([find_pg_bin("pg_ctl"), "-D", str(self.data_dir), "status"]), check=False).returncode == 0

    def start(self) -> None:
        self.init()
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(
            _as_owner(
                [
                    find_pg_bin("pg_ctl"),
                    "-D", str(self.data_dir),
                    "-l", str(self.data_dir / "server.log"),
                    "-o", options,
                    "-w", "-t", "60",
                    "start",
                ]
            )
        )
        wait_until(self._accepts, 30, what=f"PostgreSQL on port {self.port}")
        self._ensure_database()

    def _accepts(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def _ensure_database(self) -> None:
        self.create_database(self.database)

    def create_database(self, name: str) -> str:
        """Create database ``name`` if missing (a-z, 0-9, _ only); return its DSN."""
        if not name.replace("_", "").isalnum() or not name.isascii():
            raise ValueError(f"bad database name {name!r}")
        env = {**os.environ, "PGPASSWORD": self.password}
        psql = [find_pg_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", "postgres", "-tAc"]
        query = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"  # noqa: S608 - checked above
        if run([*psql, query], env=env).stdout.strip() != "1":
            run([*psql, f'CREATE DATABASE "{name}"'], env=env)
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.initialized() and self.running():
            run(_as_owner([find_pg_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]), check=False)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
