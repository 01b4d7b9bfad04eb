"""Read the catalogue: one folder per scenario, its ``expect.yaml`` checked with file, line and field path."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

from ari_app.configcheck.problems import ConfigError, Problem
from ari_app.configcheck.reader import DIGITS, Fields, Keys, Reader
from ari_app.configcheck.yamlnodes import FLOAT, INT, describe, read_utf8
from ari_app.scenarios.model import AgentPeer, DatedExpect, DepartmentPeer, Expect, Scenario

EXPECT_FILE = "expect.yaml"
_EXPECT_KEYS = ("listen_ms", "sipp_exit", "answer", "min_voiced_seconds", "max_voiced_seconds", "record",
                "events", "prompts")
_TOP = Keys(("description", "dial"), ("caller", "values", "agents", "department", "dates", *_EXPECT_KEYS))
_AGENT = Keys(("id",), ("phone", "hold_ms", "rings", "values"))
_DEPARTMENT = Keys((), ("phone", "hold_ms", "rings", "line"))
_DATED = Keys(("from",), _EXPECT_KEYS)
_RECORD_FIELDS = ("hotline", "route", "outcome", "rating", "caller")


def scenario_folders(catalogue: Path) -> list[Path]:
    """The catalogue's scenario folders (those with an expect.yaml), by name."""
    return sorted(p for p in catalogue.iterdir() if (p / EXPECT_FILE).is_file())


def load_catalogue(catalogue: Path, peers: Path, names: list[str] | None = None) -> list[Scenario]:
    """Every scenario (or those named), all problems of all files in one ConfigError."""
    folders = scenario_folders(catalogue)
    if names:
        known = {p.name: p for p in folders}
        missing = [n for n in names if n not in known]
        if missing:
            raise ConfigError([Problem(str(catalogue), 1, n, "no such scenario (see `hotline scenario list`)")
                               for n in missing])
        folders = [known[n] for n in names]
    scenarios, problems = [], []
    for folder in folders:
        try:
            scenarios.append(load_scenario(folder, peers))
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return scenarios


def load_scenario(folder: Path, peers: Path) -> Scenario:
    path = folder / EXPECT_FILE
    reader = Reader(str(path))
    root = reader.document(read_utf8(path), "what the scenario expects (dial, description, ...)")
    fields = reader.mapping(root, "", _TOP) if root is not None else None
    scenario = _scenario(reader, fields, folder, peers) if fields is not None else None
    if reader.problems or scenario is None:
        raise ConfigError(reader.problems or [Problem(str(path), 1, "<document>", "unreadable")])
    return scenario


def _scenario(reader: Reader, f: Fields, folder: Path, peers: Path) -> Scenario | None:
    description = f.text("description")
    dial = f.matching("dial", DIGITS, "a number (digits)")
    caller = _script(f, "caller", folder, peers, "scenario.xml")
    changes = _expect_changes(reader, f)  # read even without a dial, to report all problems at once
    expect = Expect(dial, **changes) if dial is not None else None  # type: ignore[arg-type]
    agents = tuple(a for a in (_agent(reader, node, at, folder, peers) for node, at in f.sequence("agents")) if a)
    department = f.sub("department", _DEPARTMENT, lambda d: _department(d, folder, peers))
    dates = tuple(d for d in (_dated(reader, node, at) for node, at in f.sequence("dates")) if d)
    values = f.get("values", lambda n, p: _text_map(reader, n, p)) or {}
    if description is None or expect is None or caller is None:
        return None
    return Scenario(folder.name, folder, " ".join(description.split()), caller, expect, agents, department, dates,
                    tuple(values.items()))


def _expect_changes(reader: Reader, f: Fields) -> dict[str, object]:
    changes: dict[str, object] = {}
    for key in ("listen_ms", "sipp_exit"):
        value = f.integer(key, low=0)
        if value is not None:
            changes[key] = value
    answer = f.integer("answer", low=100, high=699)
    if answer is not None:
        changes["answer"] = answer
    for key in ("min_voiced_seconds", "max_voiced_seconds"):
        seconds = f.get(key, lambda node, at: _seconds(reader, node, at))
        if seconds is not None:
            changes[key] = seconds
    record = f.get("record", lambda node, at: _record(reader, node, at))
    if record is not None:
        changes["record"] = record
    for key in ("events", "prompts"):
        if f.has(key):
            changes[key] = tuple(t for t in (reader.text(node, at) for node, at in f.sequence(key)) if t is not None)
    return changes


def _dated(reader: Reader, node: yaml.Node, at: str) -> DatedExpect | None:
    f = reader.mapping(node, at, _DATED)
    if f is None:
        return None
    start: date | None = f.date("from")
    changes = _expect_changes(reader, f)
    return DatedExpect(start, changes) if start is not None else None


def _agent(reader: Reader, node: yaml.Node, at: str, folder: Path, peers: Path) -> AgentPeer | None:
    f = reader.mapping(node, at, _AGENT)
    if f is None:
        return None
    agent_id = f.matching("id", DIGITS, "an agent id (digits, as in config/seats.yaml)")
    phone = _script(f, "phone", folder, peers, "answer-then-bye.xml")
    values = f.get("values", lambda n, p: _text_map(reader, n, p)) or {}
    if agent_id is None or phone is None:
        return None
    return AgentPeer(agent_id, str(phone), f.integer("hold_ms", low=0) or 2000,
                     f.integer("rings", low=0), tuple(values.items()))


def _department(f: Fields, folder: Path, peers: Path) -> DepartmentPeer | None:
    phone = _script(f, "phone", folder, peers, "answer-then-bye.xml")
    if phone is None:
        return None
    return DepartmentPeer(str(phone), f.integer("hold_ms", low=0) or 2000, f.integer("rings", low=0),
                          f.digits("line") or "")


def _script(f: Fields, key: str, folder: Path, peers: Path, default: str) -> Path | None:
    """A SIPp file named by ``key``: looked up in the scenario's folder, then in the peers folder."""
    name = f.text(key) if f.has(key) else default
    if name is None:
        return None
    for candidate in (folder / name, peers / name):
        if candidate.is_file():
            return candidate
    f.problem(key, f"no SIPp file {name!r} in {folder} or {peers}")
    return None


def _seconds(reader: Reader, node: yaml.Node, at: str) -> float | None:
    if isinstance(node, yaml.ScalarNode) and node.tag in (INT, FLOAT):
        value = float(node.value)
        if value >= 0:
            return value
    reader.problem(node, at, f"expected a number of seconds (0 or more), got {describe(node)}")
    return None


def _record(reader: Reader, node: yaml.Node, at: str) -> tuple[tuple[str, str], ...] | None:
    values = _text_map(reader, node, at)
    if values is None:
        return None
    for key in values:
        if key not in _RECORD_FIELDS:
            reader.problem(node, f"{at}.{key}", f"not a call record field; expected one of {', '.join(_RECORD_FIELDS)}")
    return tuple(values.items())


def _text_map(reader: Reader, node: yaml.Node, at: str) -> dict[str, str] | None:
    entries = reader.entries(node, at)
    if entries is None:
        return None
    out: dict[str, str] = {}
    for key, _key_node, value in entries:
        text = reader.text(value, f"{at}.{key}")
        if text is not None:
            out[key] = text
    return out
