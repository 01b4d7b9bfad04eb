"""Read the catalogue: one folder per scenario, its ``expect.yaml`` checked with file, line and field path."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

from ari_app.configcheck.problems import ConfigError, Problem
from ari_app.configcheck.reader import DIGITS, Fields, Keys, Reader
from ari_app.configcheck.yamlnodes import read_utf8
from ari_app.scenarios.loader_steps import read_steps, record_fields, seconds, text_map
from ari_app.scenarios.model import AgentPeer, CallStep, CitizenPeer, DatedExpect, DepartmentPeer, Expect, Scenario

EXPECT_FILE = "expect.yaml"
_EXPECT_KEYS = ("listen_ms", "sipp_exit", "answer", "min_voiced_seconds", "max_voiced_seconds", "record",
                "events", "prompts")
_TOP = Keys(("description",), ("dial", "caller", "values", "agents", "department", "citizen", "steps", "needs",
                                "dates", *_EXPECT_KEYS))
_AGENT = Keys(("id",), ("phone", "hold_ms", "rings", "values", "log_in"))
_DEPARTMENT = Keys((), ("phone", "hold_ms", "rings", "line"))
_CITIZEN = Keys((), ("phone", "hold_ms", "rings", "values"))
_DATED = Keys(("from",), _EXPECT_KEYS)


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
    agents = tuple(a for a in (_agent(reader, node, at, folder, peers) for node, at in f.sequence("agents")) if a)
    later = {a.id for a in agents if not a.log_in_at_start}
    steps = read_steps(reader, f.sequence("steps"), later) if f.has("steps") else (CallStep(),)
    calls = any(isinstance(s, CallStep) for s in steps)
    dial = f.matching("dial", DIGITS, "a number (digits)") if f.has("dial") or calls else ""
    if calls and not f.has("dial"):
        f.problem("dial", "missing required key (the caller's call needs a number)")
    caller = _script(f, "caller", folder, peers, "scenario.xml") if calls else folder / EXPECT_FILE
    changes = _expect_changes(reader, f)  # read even without a dial, to report all problems at once
    expect = Expect(dial, **changes) if dial is not None else None  # type: ignore[arg-type]
    department = f.sub("department", _DEPARTMENT, lambda d: _department(d, folder, peers))
    citizen = f.sub("citizen", _CITIZEN, lambda c: _citizen(reader, c, folder, peers))
    dates = tuple(d for d in (_dated(reader, node, at) for node, at in f.sequence("dates")) if d)
    values = f.get("values", lambda n, p: text_map(reader, n, p)) or {}
    needs = f.text("needs") if f.has("needs") else ""
    if description is None or expect is None or caller is None:
        return None
    for agent_id in later - {s.agent for s in steps if hasattr(s, "agent")}:
        f.problem("steps", f"agent {agent_id} has `log_in: later` but no `log_in: \"{agent_id}\"` step")
    return Scenario(folder.name, folder, " ".join(description.split()), caller, expect, agents, department, dates,
                    tuple(values.items()), citizen, steps, " ".join((needs or "").split()))


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
        limit = f.get(key, lambda node, at: seconds(reader, node, at))
        if limit is not None:
            changes[key] = limit
    record = f.get("record", lambda node, at: record_fields(reader, node, at))
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
    values = f.get("values", lambda n, p: text_map(reader, n, p)) or {}
    when = f.text("log_in") if f.has("log_in") else "start"
    if when not in ("start", "later", None):
        f.problem("log_in", f"expected `start` (before the call, the default) or `later` (at a `log_in` step), "
                            f"got {when!r}")
    if agent_id is None or phone is None:
        return None
    return AgentPeer(agent_id, str(phone), f.integer("hold_ms", low=0) or 2000,
                     f.integer("rings", low=0), tuple(values.items()), when != "later")


def _citizen(reader: Reader, f: Fields, folder: Path, peers: Path) -> CitizenPeer | None:
    phone = _script(f, "phone", folder, peers, "answer-then-bye.xml")
    values = f.get("values", lambda n, p: text_map(reader, n, p)) or {}
    if phone is None:
        return None
    return CitizenPeer(str(phone), f.integer("hold_ms", low=0) or 2000, f.integer("rings", low=0),
                       tuple(values.items()))


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
