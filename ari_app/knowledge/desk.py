"""The knowledge desk: departments write and supervisors review the answers (答复口径) agents search.

Only published versions are found; each result says whether it has expired (``expired``, with a notice the agent
must heed: never given as the current answer) or is due for review (``review_due``). At start the desk imports
config/knowledge.yaml when the knowledge base is empty.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ari_app.configcheck.problems import ConfigError
from ari_app.knowledge.model import EntryContent, Version, expiry_notice, is_expired, is_review_due
from ari_app.knowledge.search import SearchHit, SearchIndex
from ari_app.knowledge.seed import SeedEntry, load_knowledge
from ari_app.knowledge.store import KnowledgeStore
from ari_app.knowledge.terms import JiebaTerms, Terms
from ari_app.knowledge.workflow import (
    Actor,
    EntryState,
    FieldError,
    KnowledgeAction,
    Role,
    allowed,
    may_write,
)
from ari_app.logs import get_logger
from ari_app.registry.model import Registry

log = get_logger("knowledge")
REVIEW_AFTER = timedelta(days=365)  # a new entry's review date when the department names none
MAX_RESULTS = 50  # a search's results at most
ACTIONS = (KnowledgeAction.SUBMIT, KnowledgeAction.APPROVE, KnowledgeAction.REJECT, KnowledgeAction.RETIRE)


class UnknownDepartment(LookupError):
    def __init__(self, target: str, known: list[str]) -> None:
        super().__init__(f"no department {target!r}")
        self.target, self.known = target, known


class UnknownHotline(LookupError):
    def __init__(self, number: str, known: list[str]) -> None:
        super().__init__(f"no hotline {number!r} in the registry")
        self.number, self.known = number, known


@dataclass(frozen=True)
class Draft:
    """A new entry as a department writes it; what is left out gets a default (the department's lines, a review
    date a year from today, no expiry; a department handler's own department)."""

    question: str
    answer: str
    category: str
    department: str = ""
    hotlines: tuple[str, ...] | None = None
    review_date: date | None = None
    expires: date | None = None


@dataclass(frozen=True)
class Changes:
    """A new version: the fields given replace the newest version's; ``clear_expires`` drops its expiry."""

    question: str | None = None
    answer: str | None = None
    category: str | None = None
    hotlines: tuple[str, ...] | None = None
    review_date: date | None = None
    expires: date | None = None
    clear_expires: bool = False


def _given(value: str | None, kept: str) -> str:
    return kept if value is None else value.strip()


class KnowledgeDesk:
    def __init__(
        self,
        store: KnowledgeStore,
        registry: Callable[[], Registry],
        seed_path: Path | None = None,
        terms: Terms | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``seed_path``: config/knowledge.yaml (next to the registry), imported by :meth:`start` into an empty
        knowledge base."""
        self._store, self._registry, self._seed_path, self._clock = store, registry, seed_path, clock
        self.index = SearchIndex(store, terms if terms is not None else JiebaTerms())

    async def warm(self) -> None:
        """Build the search index now (before calls arrive); any failure (the database, the dictionary) is
        logged and leaves it to the first search: the service starts all the same."""
        try:
            await self.index.warm()
        except Exception as exc:  # nothing here may stop the service from starting
            log.warning("knowledge_index_not_built", error=f"{type(exc).__name__}: {exc}"[:300])

    async def start(self) -> int:
        """Import the seed file when the knowledge base is empty; how many entries were imported.

        A missing file or one with problems imports nothing and is logged (with every problem): the service runs
        with an empty knowledge base, and the next start imports the corrected file.
        """
        if self._seed_path is None or await self._store.count() > 0:
            return 0
        source = str(self._seed_path)
        try:
            entries = load_knowledge(self._seed_path, self._registry())
        except ConfigError as exc:
            log.error("knowledge_seed_refused", source=source, problems=[str(p) for p in exc.problems])
            return 0
        except OSError as exc:
            log.warning("knowledge_seed_unreadable", source=source, error=exc.strerror or type(exc).__name__)
            return 0
        imported = await self.import_seed(entries)
        log.info("knowledge_seed_imported", entries=imported, source=source)
        return imported

    async def import_seed(self, entries: Sequence[SeedEntry]) -> int:
        """Import entries as published versions; keys imported before are skipped. How many were new."""
        return await self._store.import_seed(entries, self._clock())

    def today(self) -> date:
        return self._clock().astimezone(ZoneInfo(self._registry().platform.timezone)).date()

    # -- registry look-ups -----------------------------------------------------------------------------
    def department_id(self, target: str) -> str:
        """A department by short code, id or hotline number; UnknownDepartment if none."""
        registry = self._registry()
        found = registry.department_for(target)
        if found is None:
            raise UnknownDepartment(target, sorted(registry.departments))
        return found.id

    def department_name(self, department: str) -> str:
        found = self._registry().departments.get(department)
        return found.name if found is not None else department

    def _hotlines(self, numbers: tuple[str, ...] | None, department: str) -> tuple[str, ...]:
        registry = self._registry()
        if numbers is None:
            return tuple(n for n, line in registry.hotlines.items() if line.department == department)
        known = [registry.platform.number, *registry.hotlines]
        for number in numbers:
            if number not in known:
                raise UnknownHotline(number, known)
        return tuple(dict.fromkeys(numbers))

    def _checked(self, content: EntryContent) -> EntryContent:
        today = self.today()
        for name in ("question", "answer", "category"):
            if not getattr(content, name).strip():
                raise FieldError(name, f"{name} must not be empty")
        if content.expires is not None and content.expires < today:
            raise FieldError("expires", f"expires {content.expires} is already past: an entry must be valid when "
                                        "it is published")
        if content.review_date < today:
            raise FieldError("review_date", f"review_date {content.review_date} is already past: give the day the "
                                            "department will look at the entry again")
        return content

    # -- changes ---------------------------------------------------------------------------------------
    async def create(self, draft: Draft, actor: Actor) -> Version:
        may_write(actor)
        if draft.department:
            department = self.department_id(draft.department)
        elif actor.role is Role.DEPARTMENT and actor.department:
            department = self.department_id(actor.department)
        else:
            raise FieldError("department", "department is required (a department handler's own by default)")
        may_write(actor, department)
        content = self._checked(EntryContent(
            draft.question.strip(), draft.answer.strip(), draft.category.strip(),
            self._hotlines(draft.hotlines, department), draft.review_date or self.today() + REVIEW_AFTER,
            draft.expires,
        ))
        return await self._store.create(department, content, actor, self._clock())

    async def revise(self, entry_id: int, changes: Changes, actor: Actor) -> Version:
        def content(newest: Version) -> EntryContent:
            base = newest.content
            hotlines = base.hotlines if changes.hotlines is None else self._hotlines(changes.hotlines,
                                                                                     newest.department)
            expires = None if changes.clear_expires else changes.expires or base.expires
            return self._checked(EntryContent(
                _given(changes.question, base.question), _given(changes.answer, base.answer),
                _given(changes.category, base.category), hotlines, changes.review_date or base.review_date, expires,
            ))

        return await self._store.revise(entry_id, actor, self._clock(), content)

    async def act(
        self, entry_id: int, action: KnowledgeAction, actor: Actor, reason: str | None = None,
        version: int | None = None,
    ) -> Version:
        if action not in ACTIONS:
            raise FieldError("action", f"{action} is not one of {', '.join(a.value for a in ACTIONS)}")
        return await self._store.act(entry_id, action, actor, self._clock(), reason, version)

    # -- reading -----------------------------------------------------------------------------------------
    def flags(self, version: Version) -> dict[str, Any]:
        """Whether a version has expired (with the notice for the agent) or is due for review, as of today."""
        today = self.today()
        return {"expired": is_expired(version.content, today), "review_due": is_review_due(version.content, today),
                "notice": expiry_notice(version.content, today)}

    def version_json(self, version: Version) -> dict[str, Any]:
        return {**version.to_json(), "department_name": self.department_name(version.department),
                **self.flags(version)}

    async def entry(self, entry_id: int) -> dict[str, Any]:
        """An entry: its published version, its open one (draft or in review), every version, the history and
        what may be done now. EntryNotFound if there is none."""
        versions = await self._store.versions(entry_id)
        newest = versions[-1]

        def one(*states: EntryState) -> dict[str, Any] | None:
            found = next((v for v in versions if v.state in states), None)
            return self.version_json(found) if found is not None else None

        return {
            "id": entry_id, "key": newest.key, "department": newest.department,
            "department_name": self.department_name(newest.department),
            "published": one(EntryState.PUBLISHED), "open": one(EntryState.DRAFT, EntryState.IN_REVIEW),
            "versions": [self.version_json(v) for v in reversed(versions)],
            "history": await self._store.history(entry_id),
            "allowed": [a.value for a in allowed([v.workflow for v in versions])],
        }

    async def listing(self, department: str | None, state: EntryState | None, limit: int) -> list[Version]:
        return await self._store.listing(self.department_id(department) if department else None, state, limit)

    async def search(
        self, query: str, *, hotline: str | None = None, department: str | None = None, limit: int = 10,
    ) -> dict[str, Any]:
        """Published entries for a query in Chinese, best first, with their flags; optionally only those of a
        hotline number or a department."""
        wanted = self.department_id(department) if department else None
        if hotline is not None:
            self._hotlines((hotline,), "")  # UnknownHotline unless the registry has it

        def keep(version: Version) -> bool:
            return ((wanted is None or version.department == wanted)
                    and (hotline is None or hotline in version.content.hotlines))

        terms, hits = await self.index.search(query, limit, keep)
        return {"query": query, "terms": [t.term for t in terms], "results": [self.hit_json(h) for h in hits]}

    def hit_json(self, hit: SearchHit) -> dict[str, Any]:
        v = hit.version
        c = v.content
        return {
            "id": v.entry_id, "key": v.key, "version": v.version, "question": c.question, "answer": c.answer,
            "category": c.category, "department": v.department, "department_name": self.department_name(v.department),
            "hotlines": list(c.hotlines), "review_date": c.review_date.isoformat(),
            "expires": c.expires.isoformat() if c.expires else None,
            "published_at": v.published_at.isoformat() if v.published_at else None,
            "score": hit.score, "matched": list(hit.matched), **self.flags(v),
        }
