"""Checks of what a deployment onto an existing Asterisk adds (README, "For telephony engineers"):
the endpoints' media options, how phones sharing a trunk's address are identified, and the include
files (present, the installed package's dialplan, readable by the user Asterisk runs as)."""

from __future__ import annotations

import grp
import pwd
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

from ari_app.doctor.model import Check, fail, ok, warn
from ari_app.registry.render import AGENTS_FILE, MEDIA_OPTIONS

HOTLINE_CONTEXTS = ("hotline-inbound", "hotline-agents", "hotline-department")
RENDERED = ("hotline-numbers.conf", "hotline-pjsip.conf", "hotline-queues.conf", AGENTS_FILE)
DTMF_MODES = ("rfc4733", "auto", "info", "auto_info")
MEDIA_FIX = ("give them the hotline's media options (" + "; ".join(MEDIA_OPTIONS.splitlines())
             + "), as the README's trunk snippet does, then `asterisk -rx 'module reload res_pjsip.so'`")


def endpoint_options(output: str) -> dict[str, str]:
    """``pjsip show endpoint NAME`` -> option -> value (the ``name : value`` lines)."""
    return {m.group(1): m.group(2).strip()
            for m in re.finditer(r"^ ([a-z_0-9]+)\s+:\s?(.*)$", output, re.MULTILINE)}


def media_problems(options: Mapping[str, str]) -> list[str]:
    """What in an endpoint's options breaks the hotline's calls (empty when nothing does)."""
    problems = []
    if options.get("direct_media") != "false":
        problems.append("direct_media=yes (Asterisk re-INVITEs the two phones to talk directly)")
    if not re.search(r"\b(ulaw|alaw)\b", options.get("allow", "")):
        problems.append(f"no G.711 codec allowed (allow: {options.get('allow') or 'none'})")
    if options.get("rtp_symmetric") != "true":
        problems.append("rtp_symmetric=no")
    if options.get("dtmf_mode", "") not in DTMF_MODES:
        problems.append(f"dtmf_mode={options.get('dtmf_mode') or '?'}")
    return problems


def check_endpoint_media(details: Mapping[str, str], agent_endpoints: Sequence[str]) -> Check:
    """Every endpoint in a hotline context (trunks, agents' phones, department lines) keeps the media
    in Asterisk with G.711 and RFC 4733 DTMF; the agents' phones land in hotline-agents; some trunk
    sends calls to hotline-inbound."""
    name = "endpoint options"
    options = {e: endpoint_options(out) for e, out in details.items()}
    hotline = {e: o for e, o in options.items() if o.get("context") in HOTLINE_CONTEXTS}
    bad = {e: media_problems(o) for e, o in sorted(hotline.items())}
    bad = {e: p for e, p in bad.items() if p}
    wrong_context = [f"{e} (context {options[e].get('context') or '?'})" for e in agent_endpoints
                     if e in options and options[e].get("context") != "hotline-agents"]
    if bad or wrong_context:
        parts = [f"{e}: {', '.join(p)}" for e, p in list(bad.items())[:5]]
        parts += [f"and {len(bad) - 5} more"] if len(bad) > 5 else []
        parts += [f"agents' phones outside hotline-agents: {', '.join(wrong_context)}"] if wrong_context else []
        fix = MEDIA_FIX if bad else ""
        if wrong_context:
            fix += ("; " if fix else "") + "agents' phones need `context = hotline-agents` (`hotline reload`)"
        return fail(name, "; ".join(parts), fix)
    trunks = sorted(e for e, o in hotline.items() if o.get("context") == "hotline-inbound")
    if not trunks:
        return warn(name, "no endpoint sends calls to hotline-inbound: citizens' calls do not reach the hotline",
                    "set `context = hotline-inbound` on the carrier trunk's endpoint (README: the trunk snippet)")
    return ok(name, f"{len(hotline)} hotline endpoints (to hotline-inbound: {', '.join(trunks[:5])}): "
              "media through Asterisk, G.711, RFC 4733 DTMF")


def check_identification(settings_output: str) -> Check:
    """``pjsip show settings``: phones are known by their user name before any match by address."""
    name = "endpoint identification"
    match = re.search(r"^\s*endpoint_identifier_order\s*:\s*(\S+)", settings_output, re.MULTILINE)
    order = match.group(1).split(",") if match else []
    if "username" in order and ("ip" not in order or order.index("username") < order.index("ip")):
        return ok(name, f"endpoint_identifier_order = {','.join(order)}")
    shown = ",".join(order) or "unknown"
    return warn(name, f"endpoint_identifier_order = {shown}: an agent's phone at a trunk's address is taken "
                "for the trunk (its calls land in hotline-inbound, its login fails)",
                "set `endpoint_identifier_order = username,ip` in pjsip.conf [global] (type = global)")


def asterisk_user(settings_output: str) -> str:
    """The user in ``core show settings`` ("User name and group: asterisk/asterisk"); "" = the starter's."""
    match = re.search(r"^\s*User name and group:\s*([^/\s]*)", settings_output, re.MULTILINE)
    return match.group(1) if match else ""


def readable_by(path: Path, user: str) -> bool:
    """Whether ``user`` (a name on this host) may read ``path`` by its mode bits (folders: enter too)."""
    account = pwd.getpwnam(user)
    if account.pw_uid == 0:
        return True
    groups = {account.pw_gid} | {g.gr_gid for g in grp.getgrall() if user in g.gr_mem}
    st = path.stat()
    need = (stat.S_IRUSR | stat.S_IXUSR) if path.is_dir() else stat.S_IRUSR
    if st.st_uid == account.pw_uid:
        mask = need
    elif st.st_gid in groups:
        mask = need >> 3
    else:
        mask = need >> 6
    return st.st_mode & mask == mask


def check_include_files(include_dir: Path | None, fragments_dir: Path, user: str) -> Check:
    """The include directory holds the rendered files and this package's dialplan fragments (the same
    bytes: after an upgrade they must be written again), all readable by Asterisk's user."""
    name = "include files"
    if include_dir is None:
        return warn(name, "HOTLINE_ASTERISK_INCLUDE_DIR is not set: `hotline reload` needs it, and the files "
                    "Asterisk includes were not checked", "set HOTLINE_ASTERISK_INCLUDE_DIR in the environment "
                    "file (e.g. /etc/asterisk/hotline)")
    fragments = sorted(fragments_dir.glob("*.conf"))
    wanted = [include_dir / n for n in RENDERED] + [include_dir / f.name for f in fragments]
    missing = [p.name for p in wanted if not p.is_file()]
    if missing:
        return fail(name, f"missing in {include_dir}: {', '.join(missing)}",
                    f"run `hotline reload` (or `hotline render --out {include_dir}`)")
    stale = [f.name for f in fragments if (include_dir / f.name).read_bytes() != f.read_bytes()]
    if stale:
        return fail(name, f"{', '.join(stale)} in {include_dir} differ from this installation's copy "
                    "(not written since an upgrade?)", "run `hotline reload`: it writes them again")
    who = user or "the user that started it"
    try:
        unreadable = [p.name for p in [include_dir, *wanted] if user and not readable_by(p, user)]
    except KeyError:
        return warn(name, f"Asterisk runs as {user!r}, unknown on this host: permissions not checked",
                    "run the doctor on the Asterisk host")
    if unreadable:
        return fail(name, f"not readable by Asterisk's user {user}: {', '.join(unreadable)}",
                    f"chgrp -R {user} {include_dir} && chmod g+rX {include_dir} {include_dir}/*.conf "
                    "(later renders keep owner and mode)")
    return ok(name, f"{len(wanted)} files in {include_dir}, the dialplan as installed, readable by {who}")
