"""Checks of Asterisk itself, from the output of its CLI commands (run over AMI). Pure functions."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ari_app.doctor.model import Check, fail, ok, warn
from ari_app.registry.model import Registry

MIN_MAJOR = 20
# The first release of each branch that takes ARI REST requests over the events websocket.
REST_OVER_WEBSOCKET = {20: (20, 14), 21: (21, 9), 22: (22, 4)}
MOH_DEFAULT_FIX = (
    "install music (Debian: asterisk-moh-opsound-wav) or point the class's `directory` in musiconhold.conf "
    "at a folder with music (this project's sounds/moh), then `asterisk -rx 'module reload res_musiconhold.so'` "
    "(`moh reload` does not bring back a class that started without files)"
)


def check_version(output: str) -> Check:
    """``core show version``."""
    name = "asterisk version"
    match = re.search(r"Asterisk (\d+)\.(\d+)(?:\.(\d+))?", output)
    if match is None:
        return fail(name, f"cannot read the version from {output.strip()[:80]!r}", "run Asterisk 20 or newer")
    version = (int(match.group(1)), int(match.group(2)))
    text = ".".join(g for g in match.groups() if g is not None)
    if version[0] < MIN_MAJOR:
        return fail(name, f"Asterisk {text}: too old", f"upgrade to Asterisk {MIN_MAJOR} or newer (22 is tested)")
    needed = REST_OVER_WEBSOCKET.get(version[0])
    if needed is not None and version < needed:
        return warn(name, f"Asterisk {text}: ARI requests go over HTTP (slower under load)",
                    f"upgrade to {needed[0]}.{needed[1]} or newer for ARI REST over the websocket")
    return ok(name, f"Asterisk {text}")


def running_modules(output: str) -> set[str]:
    """Module names (without ``.so``) that ``module show`` lists as Running."""
    running: set[str] = set()
    for line in output.splitlines():
        fields = line.split()
        if len(fields) < 3 or " Running " not in f" {line} " or "Not Running" in line:
            continue
        running.add(fields[0].removesuffix(".so"))
    return running


def check_modules(output: str, required: Sequence[str]) -> Check:
    """``module show``: every module of the project's list is running."""
    name = "modules"
    running = running_modules(output)
    missing = [m for m in required if m not in running]
    if missing:
        loads = "; ".join(f"module load {m}.so" for m in missing)
        return fail(name, f"{len(missing)} required module(s) not loaded: {', '.join(missing)}",
                    f"asterisk -rx '{loads}', and keep them on restart: `load = <module>.so` in modules.conf "
                    "(or autoload = yes)")
    return ok(name, f"all {len(required)} required modules running")


def extensions(output: str) -> set[str]:
    """The extensions ``dialplan show CONTEXT`` lists."""
    return set(re.findall(r"^\s*'([^']+)' =>", output, re.MULTILINE))


def context_missing(output: str) -> bool:
    return "There is no existence of" in output or not output.strip()


def check_dialplan(outputs: Mapping[str, str], numbers_context: str, numbers: Iterable[str]) -> Check:
    """``dialplan show CONTEXT`` for every context the hotline needs; every registry number present."""
    name = "dialplan"
    absent = [context for context, output in outputs.items() if context_missing(output)]
    if absent:
        return fail(name, f"context(s) not loaded: {', '.join(absent)}",
                    "copy dialplan/*.conf into Asterisk's configuration and #include them from extensions.conf; "
                    "run `hotline reload` (writes hotline-numbers.conf) and include it too")
    wanted = list(numbers)
    found = extensions(outputs.get(numbers_context, ""))
    missing = [n for n in wanted if n not in found]
    if missing:
        return fail(name, f"{len(missing)} registry number(s) missing from [{numbers_context}]: {', '.join(missing)}",
                    "run `hotline reload` (renders the registry and reloads the dialplan)")
    return ok(name, f"{len(outputs)} contexts loaded; all {len(wanted)} numbers in [{numbers_context}]")


@dataclass(frozen=True)
class Contact:
    aor: str
    uri: str
    status: str  # Avail, Unavail, Unknown, NonQual, ...


def pjsip_endpoints(output: str) -> set[str]:
    """Endpoint names in ``pjsip show endpoints``."""
    return {m for m in re.findall(r"^\s*Endpoint:\s+([^\s/<]+)", output, re.MULTILINE)}


def pjsip_contacts(output: str) -> list[Contact]:
    """Contacts in ``pjsip show contacts`` (static and registered)."""
    found = []
    for match in re.finditer(r"^\s*Contact:\s+([^\s/<]+)/(\S+)\s+\S+\s+(\S+)", output, re.MULTILINE):
        found.append(Contact(match.group(1), match.group(2), match.group(3)))
    return found


def check_departments(endpoints: str, contacts: str, registry: Registry) -> Check:
    """The department and sub-center lines: endpoint loaded, the registry's contact, reachable."""
    name = "department lines"
    have, seen = pjsip_endpoints(endpoints), pjsip_contacts(contacts)
    lines = [d.line for d in registry.departments.values() if d.line is not None]
    missing = [line.endpoint for line in lines if line.endpoint not in have]
    wrong, down = [], []
    for line in lines:
        if line.endpoint in missing:
            continue
        mine = [c for c in seen if c.aor == line.endpoint]
        if not any(c.uri == line.contact for c in mine):
            wrong.append(f"{line.endpoint} ({', '.join(c.uri for c in mine) or 'no contact'}; "
                         f"registry: {line.contact})")
        elif all(c.status == "Unavail" for c in mine if c.uri == line.contact):
            down.append(f"{line.endpoint} at {line.contact}")
    if missing or wrong:
        parts = [f"endpoint(s) not loaded: {', '.join(missing)}"] if missing else []
        parts += [f"contact differs: {', '.join(wrong)}"] if wrong else []
        detail = "; ".join(parts)
        return fail(name, detail, "run `hotline reload` (renders hotline-pjsip.conf and reloads PJSIP); "
                    "make sure pjsip.conf includes hotline-pjsip.conf")
    if down:
        return warn(name, f"not answering OPTIONS: {', '.join(down)}: their calls overflow to 12345 intake",
                    "check the department PBX, or its address in config/hotlines.yaml")
    return ok(name, f"{len(lines)} lines loaded with the registry's contacts")


def check_agents(endpoints: str, contacts: str, agent_endpoints: Sequence[str]) -> Check:
    """The agents' phones: endpoint loaded for each seat; at least one phone registered."""
    name = "agent phones"
    have = pjsip_endpoints(endpoints)
    missing = [e for e in agent_endpoints if e not in have]
    if missing:
        return fail(name, f"endpoint(s) not loaded: {', '.join(missing)}",
                    "run `hotline reload` (renders hotline-agents.conf from seats.yaml and reloads PJSIP); "
                    "make sure pjsip.conf includes hotline-agents.conf")
    registered = {c.aor for c in pjsip_contacts(contacts) if c.status != "Unavail"}
    off = [e for e in agent_endpoints if e not in registered]
    if agent_endpoints and len(off) == len(agent_endpoints):
        return warn(name, f"none of the {len(off)} agents' phones is registered: nobody can be rung",
                    "register the phones (`hotline seats` prints each SIP account)")
    detail = f"{len(agent_endpoints) - len(off)} of {len(agent_endpoints)} phones registered"
    return ok(name, detail + (f" (not: {', '.join(off)})" if off else ""))


def moh_classes(output: str) -> dict[str, dict[str, str]]:
    """``moh show classes`` -> class -> {"Mode": ..., "Directory": ...}."""
    classes: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in output.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "Class":
            current = classes.setdefault(value.strip(), {})
        elif current is not None and value:
            current[key] = value.strip()
    return classes


def moh_files(output: str) -> dict[str, int]:
    """``moh show files`` -> class -> number of files."""
    counts: dict[str, int] = {}
    current = ""
    for line in output.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "Class":
            current = value.strip()
            counts.setdefault(current, 0)
        elif key == "File" and current:
            counts[current] += 1
    return counts


def check_moh(classes_output: str, files_output: str, moh_class: str = "default") -> Check:
    """The class callers wait with has music (Debian's default class points at a missing folder)."""
    name = "music on hold"
    classes, files = moh_classes(classes_output), moh_files(files_output)
    if moh_class not in classes:
        return fail(name, f"no music on hold class {moh_class!r}: queued callers hear silence",
                    f"define [{moh_class}] in musiconhold.conf; " + MOH_DEFAULT_FIX)
    mode = classes[moh_class].get("Mode", "")
    directory = classes[moh_class].get("Directory", "?")
    if mode == "files" and files.get(moh_class, 0) == 0:
        return fail(name, f"class {moh_class!r} has no files (directory {directory}): queued callers hear silence",
                    MOH_DEFAULT_FIX)
    count = f"{files.get(moh_class, 0)} file(s) in {directory}" if mode == "files" else f"mode {mode}"
    return ok(name, f"class {moh_class!r}: {count}")


def has_language(output: str, language: str) -> bool:
    """``core show sound NAME`` lists the language."""
    return re.search(rf"^\s*Language {re.escape(language)}:", output, re.MULTILINE) is not None


def check_prompts(outputs: Mapping[str, str], language: str, data_dir: str) -> Check:
    """``core show sound NAME`` for every prompt the hotline plays: each exists in ``language``."""
    name = f"prompts ({language})"
    missing = sorted(n for n, output in outputs.items() if not has_language(output, language))
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        return fail(name, f"{len(missing)} of {len(outputs)} prompts missing: {shown}",
                    f"copy this project's sounds/{language}/*.wav into {data_dir or '<astdatadir>'}/sounds/{language}/ "
                    "(scripts/render-prompts renders them)")
    return ok(name, f"all {len(outputs)} prompts present")


def data_dir(settings_output: str) -> str:
    """The data directory in ``core show settings`` (sounds live in its sounds/)."""
    match = re.search(r"^\s*Data directory:\s*(\S+)", settings_output, re.MULTILINE)
    return match.group(1) if match else ""


def check_timezone(zone: str, asterisk_epoch: str, local_epoch: float, today_pin: str) -> Check:
    """The registry's zone is known here, the clocks agree, and no date is pinned by mistake."""
    name = "time zone"
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return fail(name, f"time zone {zone!r} of the registry is unknown on this host",
                    "install tzdata (apt-get install tzdata) or fix platform.timezone in the registry")
    try:
        skew = abs(float(asterisk_epoch) - local_epoch)
    except ValueError:
        skew = 0.0
    now = datetime.fromtimestamp(local_epoch, UTC).astimezone(tz)
    detail = f"dates decided in {zone} (now {now:%Y-%m-%d %H:%M %z})"
    if skew > 5:
        return warn(name, f"{detail}; Asterisk's clock is {skew:.0f} s off this host's",
                    "synchronise both clocks (NTP: systemd-timesyncd or chrony)")
    if today_pin:
        return warn(name, f"{detail}; HOTLINE_TODAY pins routing to {today_pin}",
                    "unset HOTLINE_TODAY outside rehearsals")
    return ok(name, detail)
