"""Render Asterisk include files from the registry: ``hotline render [--out DIR]``.

- ``hotline-numbers.conf``: one extension per hotline number in ``[hotline-numbers]``, setting the
  route the dialplan takes when the FastAGI server cannot be reached, and ``HOTLINE_FIXED=1`` for
  the numbers whose route never changes and leads to the Stasis app (12345 itself, cancelled
  numbers, merged seats): the dialplan does not ask the FastAGI route for those;
- ``hotline-pjsip.conf``: an endpoint and an AOR per department or sub-center line;
- ``hotline-queues.conf``: the app_queue queue of the degraded path;
- ``hotline-agents.conf``: the agents' phones (endpoint, digest auth, AOR) from the seats file.

Deterministic: the same registry, seat list and passwords give the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ari_app.registry.model import Registry
from ari_app.registry.routing import Decision, Route, fixed_to_app, static_decision
from ari_app.seats.model import Seats
from ari_app.seats.phones import render_agent_phones

HEADER = "; Rendered from {source} by `hotline render`. Do not edit: edit the registry and run `hotline reload`.\n"
DEGRADED_QUEUE = "hotline-degraded"
# Media options of every endpoint the hotline renders (department lines here; the sandbox's trunk
# and phones too): G.711, Chinese prompts, media through Asterisk, RFC 4733 DTMF.
MEDIA_OPTIONS = """disallow = all
allow = ulaw,alaw
language = zh
direct_media = no
rtp_symmetric = yes
dtmf_mode = rfc4733"""


def _header(registry: Registry) -> str:
    return HEADER.format(source=Path(registry.source).name if registry.source else "the registry")


def _set_block(decision: Decision, fixed: bool) -> list[str]:
    values = [
        ("HOTLINE_ROUTE", decision.route.value),
        ("HOTLINE_PROMPT", decision.prompt),
        ("HOTLINE_THEN", decision.then.value),
        ("HOTLINE_DIAL", decision.dial),
        ("HOTLINE_DIAL_TIMEOUT", str(decision.dial_timeout)),
        ("HOTLINE_GROUP", decision.group),
        ("HOTLINE_FIXED", "1" if fixed else "0"),
    ]
    return [f" same => n,Set({name}={value})" for name, value in values]


def render_numbers(registry: Registry) -> str:
    lines = [
        _header(registry),
        "; The routes used when the FastAGI server is unreachable (the date is unknown then: merged",
        "; numbers go straight to 12345 intake). The FastAGI route number-route overrides them, but",
        "; for the numbers with HOTLINE_FIXED=1, whose route never changes: those go to the app as they are.",
        "[hotline-numbers]",
        f"; {registry.platform.number} {registry.platform.name}",
        f"exten => {registry.platform.number},1,NoOp(platform)",
        *_set_block(Decision(Route.INTAKE, registry.platform.number), fixed=True),
        " same => n,Return()",
    ]
    for line in registry.hotlines.values():
        department = registry.departments[line.department]
        lines += [
            "",
            f"; {line.number} {line.name} | {department.name} | {line.mode.value}",
            f"exten => {line.number},1,NoOp({line.mode.value})",
            *_set_block(static_decision(registry, line), fixed=fixed_to_app(line)),
            " same => n,Return()",
        ]
    return "\n".join(lines) + "\n"


def render_pjsip(registry: Registry) -> str:
    parts = [_header(registry)]
    for department in sorted(registry.departments.values(), key=lambda d: d.id):
        line = department.line
        if line is None:
            continue
        parts.append(
            f"""; {department.name} (short code {line.short_code})
[{line.endpoint}]
type = endpoint
context = hotline-department
{MEDIA_OPTIONS}
aors = {line.endpoint}

[{line.endpoint}]
type = aor
contact = {line.contact}
qualify_frequency = 5
qualify_timeout = 2.0
"""
        )
    return "\n".join(parts)


def render_queues(registry: Registry, agent_endpoints: Sequence[str]) -> str:
    return f"""{_header(registry)}
; Degraded mode: when the Stasis app is not connected, the dialplan queues callers here so that
; a person still answers. Same agents as the app's queue; no skills, no overflow. autofill: every
; free agent is offered a waiting caller at once (without it only the head of the line is).
; setinterfacevar: the caller's channel learns the agent (MEMBERINTERFACE), so the record can
; tell an answered call from an abandoned one.
{queue_section(DEGRADED_QUEUE, sorted(agent_endpoints))}"""


def queue_section(name: str, agent_endpoints: Sequence[str]) -> str:
    """An app_queue queue ringing these agents' phones, as the degraded path uses it."""
    members = "\n".join(f"member => PJSIP/{endpoint}" for endpoint in agent_endpoints)
    return f"""[{name}]
strategy = leastrecent
autofill = yes
timeout = 15
retry = 1
wrapuptime = 0
joinempty = yes
leavewhenempty = no
ringinuse = no
musicclass = default
announce-frequency = 0
setinterfacevar = yes
{members}
"""


AGENTS_FILE = "hotline-agents.conf"  # holds the agents' SIP passwords: written 0640 (or as it was)


def render_all(
    registry: Registry, seats: Seats, passwords: Mapping[str, str], media_address: str = "", agent_proxy: str = ""
) -> dict[str, str]:
    """File name -> contents. ``passwords``: agent id -> SIP password (see ari_app.seats.phones);
    ``media_address``: bind the agents' RTP to this address (the sandbox's SIP host) instead of all;
    ``agent_proxy``: host:port of the SIP proxy the phones register at (several nodes), or ""."""
    phone_media = MEDIA_OPTIONS
    if media_address:
        phone_media += f"\nmedia_address = {media_address}\nbind_rtp_to_media_address = yes"
    return {
        "hotline-numbers.conf": render_numbers(registry),
        "hotline-pjsip.conf": render_pjsip(registry),
        "hotline-queues.conf": render_queues(registry, seats.endpoints),
        AGENTS_FILE: render_agent_phones(seats, passwords, _header(registry), phone_media, agent_proxy),
    }


def write_all(
    registry: Registry, seats: Seats, passwords: Mapping[str, str], out: Path, media_address: str = "",
    dialplan: Path | None = None, agent_proxy: str = "",
) -> list[Path]:
    """Write the include files into ``out``; with ``dialplan`` (this project's dialplan/ folder) also its
    fragments (hotline.conf), so that an upgrade's `hotline reload` brings them along.

    Files and the folder are written readable by Asterisk whatever the umask: a new folder 0755, a new
    file 0644 (the agents' file, with passwords, 0640), both in the group of the folder they are made
    in (Debian's /etc/asterisk belongs to group asterisk); an existing file keeps its owner and mode."""
    _make_dir(out)
    written = []
    for name, text in render_all(registry, seats, passwords, media_address, agent_proxy).items():
        written.append(_replace_file(out / name, text, private=name == AGENTS_FILE))
    for fragment in sorted(dialplan.glob("*.conf")) if dialplan is not None else []:
        written.append(_replace_file(out / fragment.name, fragment.read_text(encoding="utf-8"), private=False))
    return written


def _make_dir(path: Path) -> None:
    if path.is_dir():
        return
    _make_dir(path.parent)
    path.mkdir()
    os.chmod(path, 0o755)  # noqa: S103 - Asterisk (another user) reads the include files
    _group_of_parent(path)


def _group_of_parent(path: Path) -> None:
    """Give ``path`` its folder's group when it differs (root, or a member of that group, may)."""
    gid = path.parent.stat().st_gid
    if path.stat().st_gid != gid:
        try:
            os.chown(path, -1, gid)
        except PermissionError:
            pass


def _replace_file(path: Path, text: str, private: bool) -> Path:
    """Write ``text`` atomically (see write_all for owner and mode)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    try:
        before = path.stat()
    except FileNotFoundError:
        _group_of_parent(tmp)
        os.chmod(tmp, 0o640 if private else 0o644)
    else:
        os.chmod(tmp, before.st_mode & 0o7777)
        if hasattr(os, "chown") and os.geteuid() == 0:
            os.chown(tmp, before.st_uid, before.st_gid)
    tmp.replace(path)
    return path
