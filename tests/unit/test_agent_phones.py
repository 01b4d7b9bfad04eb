"""Agent phones: the rendered PJSIP endpoints and the passwords kept in secrets.env."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ari_app.registry.loader import load_registry
from ari_app.registry.render import AGENTS_FILE, render_all, write_all
from ari_app.seats.loader import parse_seats
from ari_app.seats.phones import agent_passwords, password_key, render_agent_phones
from ari_app.secrets_store import ensure_secrets, update_secrets
from ari_app.settings import REPO_ROOT, read_secrets_file

SEATS = parse_seats(
    """agents:
  - {id: "1001", name: 坐席一, endpoint: agent-1001, skills: {general: 5}}
  - {id: "2001", name: 专家一, endpoint: agent-2001, groups: [transport-experts], skills: {general: 3}}
""",
    "seats.yaml",
)


def _blocks(text: str, name: str) -> dict[str, dict[str, str]]:
    """The ``[name]`` sections of a PJSIP file, by type."""
    found: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        line = line.split(";", 1)[0].strip()
        if line.startswith("["):
            current = {} if line == f"[{name}]" else None
        elif current is not None and "=" in line:
            key, _, value = (p.strip() for p in line.partition("="))
            current[key] = value
            if key == "type":
                found[value] = current
    return found


def test_each_agent_gets_endpoint_auth_and_a_registering_aor() -> None:
    text = render_agent_phones(SEATS, {"1001": "pw-one", "2001": "pw-two"}, "; header\n", "allow = ulaw")
    phone = _blocks(text, "agent-1001")
    assert phone["endpoint"]["context"] == "hotline-agents"
    assert phone["endpoint"]["auth"] == "agent-1001" and phone["endpoint"]["aors"] == "agent-1001"
    assert phone["endpoint"]["allow"] == "ulaw"
    assert phone["auth"] == {"type": "auth", "auth_type": "userpass", "username": "agent-1001", "password": "pw-one"}
    assert phone["aor"]["max_contacts"] == "1" and int(phone["aor"]["qualify_frequency"]) > 0
    assert "contact" not in phone["aor"]  # the phone registers; no static address
    assert _blocks(text, "agent-2001")["auth"]["password"] == "pw-two"


def test_an_agent_without_a_password_is_refused() -> None:
    with pytest.raises(ValueError, match="2001"):
        render_agent_phones(SEATS, {"1001": "pw-one"}, "", "")


def test_passwords_are_made_once_kept_and_private(tmp_path: Path) -> None:
    update_secrets(tmp_path, {"HOTLINE_ARI_PASSWORD": "keep-me"})
    first = agent_passwords(tmp_path, SEATS)
    assert first.keys() == {"1001", "2001"} and first["1001"] != first["2001"]
    assert len(first["1001"]) >= 16
    assert agent_passwords(tmp_path, SEATS) == first
    saved = read_secrets_file(tmp_path / "secrets.env")
    assert saved[password_key("1001")] == first["1001"] and saved["HOTLINE_ARI_PASSWORD"] == "keep-me"
    assert stat.S_IMODE((tmp_path / "secrets.env").stat().st_mode) == 0o600


def test_ensure_secrets_creates_only_what_is_missing(tmp_path: Path) -> None:
    made = iter(["a1", "b2"])
    assert ensure_secrets(tmp_path, ["X", "Y"], lambda: next(made)) == {"X": "a1", "Y": "b2"}
    assert ensure_secrets(tmp_path, ["Y", "Z"], lambda: "c3") == {"Y": "b2", "Z": "c3"}


def test_the_agents_file_is_written_private_and_deterministic(tmp_path: Path) -> None:
    registry = load_registry(REPO_ROOT / "config" / "hotlines.yaml")
    passwords = {"1001": "pw-one", "2001": "pw-two"}
    write_all(registry, SEATS, passwords, tmp_path)
    path = tmp_path / AGENTS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # the folder's group (Asterisk's) reads it, others not
    assert path.stat().st_gid == tmp_path.stat().st_gid
    assert path.read_text(encoding="utf-8") == render_all(registry, SEATS, passwords)[AGENTS_FILE]
    path.chmod(0o600)  # an operator changed it: a new render keeps that
    write_all(registry, SEATS, {"1001": "new-one", "2001": "pw-two"}, tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "password = new-one" in path.read_text(encoding="utf-8")
    assert stat.S_IMODE((tmp_path / "hotline-numbers.conf").stat().st_mode) == 0o644


def test_render_ignores_the_umask_and_brings_the_dialplan_along(tmp_path: Path) -> None:
    """A strict umask (077) must not leave the files unreadable to an Asterisk running as `asterisk`;
    the project's dialplan fragments are written with the rendered files (an upgrade's reload updates them)."""
    registry = load_registry(REPO_ROOT / "config" / "hotlines.yaml")
    out = tmp_path / "etc" / "hotline"
    before = os.umask(0o077)
    try:
        written = write_all(registry, SEATS, {"1001": "pw-one", "2001": "pw-two"}, out, dialplan=REPO_ROOT / "dialplan")
    finally:
        os.umask(before)
    assert stat.S_IMODE(out.stat().st_mode) == 0o755 and stat.S_IMODE(out.parent.stat().st_mode) == 0o755
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in written}
    assert modes.pop(AGENTS_FILE) == 0o640
    assert modes and set(modes.values()) == {0o644}, modes
    assert (out / "hotline.conf").read_bytes() == (REPO_ROOT / "dialplan" / "hotline.conf").read_bytes()
