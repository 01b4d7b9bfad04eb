"""The knowledge base's starting entries: config/knowledge.yaml, read with the configuration toolkit.

Every problem is reported with file, line and field path (:class:`~ari_app.configcheck.problems.ConfigError`), and
with a registry the departments and hotline numbers are checked against it (an entry without ``hotlines`` gets its
department's lines). The store imports the entries as published versions, once per key
(:meth:`ari_app.knowledge.store.KnowledgeStore.import_seed`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ari_app.configcheck.problems import ConfigError, did_you_mean
from ari_app.configcheck.reader import SLUG, Fields, Keys, Reader, Unique
from ari_app.configcheck.yamlnodes import read_utf8
from ari_app.knowledge.model import ANSWER_TEXT, CATEGORY_TEXT, MAX_HOTLINES, QUESTION_TEXT, EntryContent
from ari_app.registry.model import Registry

TOP = Keys(("entries",))
ENTRY = Keys(("key", "department", "category", "question", "answer", "review_date"), ("hotlines", "expires"))
EXPECTED = "the knowledge entries"  # what an empty file lacks
_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


@dataclass(frozen=True)
class SeedEntry:
    key: str
    department: str
    content: EntryContent


def _bounded(f: Fields, key: str, limit: int) -> str | None:
    value = f.text(key)
    if value is not None and len(value.strip()) > limit:
        f.problem(key, f"at most {limit} characters, got {len(value.strip())}")
        return None
    return value.strip() if value is not None else None


def _hotlines(r: Reader, f: Fields, department: str | None, registry: Registry | None) -> tuple[str, ...] | None:
    if not f.has("hotlines"):
        if registry is None or department is None:
            return ()
        return tuple(n for n, line in registry.hotlines.items() if line.department == department)
    numbers: list[str] = []
    for node, path in f.sequence("hotlines"):
        number = r.digits(node, path)
        if number is None:
            continue
        known = () if registry is None else (registry.platform.number, *registry.hotlines)
        if registry is not None and number not in known:
            r.problem(node, path, f"no hotline {number} in the registry{did_you_mean(number, known)}")
            continue
        numbers.append(number)
    if len(numbers) > MAX_HOTLINES:
        f.problem("hotlines", f"at most {MAX_HOTLINES} numbers")
        return None
    return tuple(dict.fromkeys(numbers))


def parse_knowledge(text: str, source: str, registry: Registry | None = None) -> tuple[SeedEntry, ...]:
    r = Reader(source)
    root = r.document(text, EXPECTED)
    top = r.mapping(root, "", TOP) if root is not None else None
    entries: list[SeedEntry] = []
    keys = Unique("key")
    for node, path in top.sequence("entries") if top is not None else []:
        f = r.mapping(node, path, ENTRY)
        if f is None:
            continue
        key = f.matching("key", _KEY, "a slug of a-z, 0-9 and - (at most 64)")
        keys.check(f, "key", key)
        department = f.matching("department", SLUG, "a department id")
        if department is not None and registry is not None and department not in registry.departments:
            f.problem("department", f"no department {department!r} in the registry"
                                    f"{did_you_mean(department, registry.departments)}")
            department = None
        hotlines = _hotlines(r, f, department, registry)
        question = _bounded(f, "question", QUESTION_TEXT)
        answer = _bounded(f, "answer", ANSWER_TEXT)
        category = _bounded(f, "category", CATEGORY_TEXT)
        review_date = f.date("review_date")
        expires = f.date("expires")
        if key and department and hotlines is not None and question and answer and category and review_date:
            content = EntryContent(question, answer, category, hotlines, review_date, expires)
            entries.append(SeedEntry(key, department, content))
    if r.problems:
        raise ConfigError(r.problems)
    return tuple(entries)


def load_knowledge(path: Path, registry: Registry | None = None) -> tuple[SeedEntry, ...]:
    """The entries of ``path``; ConfigError lists every problem, OSError (missing, unreadable) propagates."""
    return parse_knowledge(read_utf8(path), str(path), registry)

