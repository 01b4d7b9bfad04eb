"""Knowledge entries in PostgreSQL (store/migrations/004_knowledge.sql).

Every change is one transaction: the entry row is locked, the workflow decides
(:func:`ari_app.knowledge.workflow.decide`) on the entry's versions, the versions are written and the history
appended together, or nothing is written at all. A change to what agents can find (publish, retire, import) bumps
``knowledge_revision`` in the same transaction, which tells every node's search index to rebuild.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from ari_app.knowledge.model import EntryContent, Version
from ari_app.knowledge.seed import SeedEntry
from ari_app.knowledge.workflow import (
    Actor,
    Decision,
    EntryState,
    IllegalTransition,
    KnowledgeAction,
    Role,
    decide,
)

SEED_ACTOR = Actor("seed", Role.SYSTEM)  # who imports config/knowledge.yaml
_SELECT = ("SELECT v.*, e.department, e.seed_key FROM knowledge_versions v"
           " JOIN knowledge_entries e ON e.id = v.entry_id")


class EntryNotFound(LookupError):
    def __init__(self, entry_id: int) -> None:
        super().__init__(f"no knowledge entry {entry_id}")
        self.entry_id = entry_id


def _version(row: Mapping[str, Any]) -> Version:
    content = EntryContent(row["question"], row["answer"], row["category"], tuple(row["hotlines"]),
                           row["review_date"], row["expires"])
    return Version(
        row["entry_id"], row["department"], row["seed_key"], row["version"], EntryState(row["state"]), content,
        row["author"], row["reviewer"], row["reject_reason"], row["created_at"], row["updated_at"],
        row["submitted_at"], row["published_at"], row["retired_at"],
    )


def _history_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "at": row["at"].isoformat(), "version": row["version"], "action": row["action"], "from": row["from_state"],
        "to": row["to_state"], "actor": row["actor"], "role": row["role"], "detail": json.loads(row["detail"]),
    }


async def _append(
    conn: asyncpg.Connection, entry_id: int, version: int, action: str, from_state: EntryState | None,
    to_state: EntryState, actor: Actor, at: datetime, detail: Mapping[str, str | int],
) -> None:
    await conn.execute(
        "INSERT INTO knowledge_history (entry_id, version, at, action, from_state, to_state, actor, role, detail)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        entry_id, version, at, action, from_state.value if from_state else None, to_state.value, actor.id,
        actor.role.value, json.dumps(dict(detail), ensure_ascii=False),
    )


async def _insert_version(
    conn: asyncpg.Connection, entry_id: int, version: int, state: EntryState, content: EntryContent, author: str,
    at: datetime, *, reviewer: str | None = None,
) -> None:
    published = at if state is EntryState.PUBLISHED else None
    await conn.execute(
        "INSERT INTO knowledge_versions (entry_id, version, state, question, answer, category, hotlines, review_date,"
        " expires, author, reviewer, created_at, updated_at, published_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)",
        entry_id, version, state.value, content.question, content.answer, content.category, list(content.hotlines),
        content.review_date, content.expires, author, reviewer, at, published,
    )


async def _bump(conn: asyncpg.Connection) -> None:
    await conn.execute("UPDATE knowledge_revision SET revision = revision + 1")


class KnowledgeStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    # -- changes ---------------------------------------------------------------------------------------
    async def import_seed(self, entries: Sequence[SeedEntry], at: datetime) -> int:
        """Import seed entries as published version 1, each key once (one transaction); how many were new."""
        imported = 0
        async with self._pool.acquire() as conn, conn.transaction():
            for seed in entries:
                entry_id: int | None = await conn.fetchval(
                    "INSERT INTO knowledge_entries (department, seed_key, created_at, created_by) VALUES ($1, $2, $3,"
                    " $4) ON CONFLICT (seed_key) DO NOTHING RETURNING id",
                    seed.department, seed.key, at, SEED_ACTOR.id,
                )
                if entry_id is None:
                    continue
                await _insert_version(conn, entry_id, 1, EntryState.PUBLISHED, seed.content, SEED_ACTOR.id, at,
                                      reviewer=SEED_ACTOR.id)
                await _append(conn, entry_id, 1, "import", None, EntryState.PUBLISHED, SEED_ACTOR, at,
                              {"key": seed.key})
                imported += 1
            if imported:
                await _bump(conn)
        return imported

    async def create(self, department: str, content: EntryContent, actor: Actor, at: datetime) -> Version:
        """A new entry of ``department`` with version 1 as a draft."""
        decision = decide(KnowledgeAction.CREATE, actor, department, ())
        async with self._pool.acquire() as conn, conn.transaction():
            entry_id: int = await conn.fetchval(
                "INSERT INTO knowledge_entries (department, created_at, created_by) VALUES ($1, $2, $3) RETURNING id",
                department, at, actor.id,
            )
            await _insert_version(conn, entry_id, decision.version, decision.to_state, content, actor.id, at)
            await _append(conn, entry_id, decision.version, decision.action.value, None, decision.to_state, actor, at,
                          {})
            return await self._one(conn, entry_id, decision.version)

    async def revise(
        self, entry_id: int, actor: Actor, at: datetime, content: Callable[[Version], EntryContent],
    ) -> Version:
        """A new draft version; ``content`` makes its content from the newest version (fields not given stay)."""
        async with self._pool.acquire() as conn, conn.transaction():
            department, versions = await self._locked(conn, entry_id)
            decision = decide(KnowledgeAction.REVISE, actor, department, [v.workflow for v in versions])
            new_content = content(max(versions, key=lambda v: v.version))
            await self._retire_replaced(conn, entry_id, versions, decision, actor, at)
            await _insert_version(conn, entry_id, decision.version, decision.to_state, new_content, actor.id, at)
            await _append(conn, entry_id, decision.version, decision.action.value, None, decision.to_state, actor, at,
                          decision.detail)
            return await self._one(conn, entry_id, decision.version)

    async def act(
        self, entry_id: int, action: KnowledgeAction, actor: Actor, at: datetime, reason: str | None = None,
        expected: int | None = None,
    ) -> Version:
        """Submit, approve, reject or retire (workflow errors propagate; nothing is written then). With
        ``expected``, refused unless that is the version the action works on (the one the actor looked at)."""
        async with self._pool.acquire() as conn, conn.transaction():
            department, versions = await self._locked(conn, entry_id)
            decision = decide(action, actor, department, [v.workflow for v in versions], reason)
            if expected is not None and expected != decision.version:
                raise IllegalTransition(f"version {expected} is not the one to {action}: version {decision.version} is")
            await self._retire_replaced(conn, entry_id, versions, decision, actor, at)
            reviewed = decision.action in (KnowledgeAction.APPROVE, KnowledgeAction.REJECT)
            await conn.execute(
                "UPDATE knowledge_versions SET state = $3, updated_at = $4,"
                " submitted_at = CASE WHEN $3 = 'in_review' THEN $4 ELSE submitted_at END,"
                " published_at = CASE WHEN $3 = 'published' THEN $4 ELSE published_at END,"
                " retired_at = CASE WHEN $3 = 'retired' THEN $4 ELSE retired_at END,"
                " reviewer = COALESCE($5, reviewer), reject_reason = COALESCE($6, reject_reason)"
                " WHERE entry_id = $1 AND version = $2",
                entry_id, decision.version, decision.to_state.value, at, actor.id if reviewed else None,
                decision.detail.get("reason") if decision.action is KnowledgeAction.REJECT else None,
            )
            await _append(conn, entry_id, decision.version, decision.action.value, decision.from_state,
                          decision.to_state, actor, at, decision.detail)
            if EntryState.PUBLISHED in (decision.from_state, decision.to_state):
                await _bump(conn)
            return await self._one(conn, entry_id, decision.version)

    async def _retire_replaced(
        self, conn: asyncpg.Connection, entry_id: int, versions: Sequence[Version], decision: Decision, actor: Actor,
        at: datetime,
    ) -> None:
        """Retire the version a decision replaces (the published one an approval replaces, a superseded draft)."""
        replaced = next((v for v in versions if v.version == decision.retires), None)
        if replaced is None:
            return
        await conn.execute(
            "UPDATE knowledge_versions SET state = 'retired', retired_at = $3, updated_at = $3"
            " WHERE entry_id = $1 AND version = $2",
            entry_id, replaced.version, at,
        )
        await _append(conn, entry_id, replaced.version, KnowledgeAction.RETIRE.value, replaced.state,
                      EntryState.RETIRED, actor, at, {"replaced_by": decision.version})
        if replaced.state is EntryState.PUBLISHED:
            await _bump(conn)

    async def _locked(self, conn: asyncpg.Connection, entry_id: int) -> tuple[str, list[Version]]:
        department: str | None = await conn.fetchval(
            "SELECT department FROM knowledge_entries WHERE id = $1 FOR UPDATE", entry_id)
        if department is None:
            raise EntryNotFound(entry_id)
        rows = await conn.fetch(f"{_SELECT} WHERE v.entry_id = $1 ORDER BY v.version", entry_id)
        return department, [_version(r) for r in rows]

    async def _one(self, conn: asyncpg.Connection, entry_id: int, version: int) -> Version:
        row = await conn.fetchrow(f"{_SELECT} WHERE v.entry_id = $1 AND v.version = $2", entry_id, version)
        assert row is not None
        return _version(row)

    # -- reading -----------------------------------------------------------------------------------------
    async def count(self) -> int:
        total: int = await self._pool.fetchval("SELECT count(*) FROM knowledge_entries")
        return total

    async def versions(self, entry_id: int) -> list[Version]:
        """Every version of an entry, oldest first; EntryNotFound if there is no such entry."""
        rows = await self._pool.fetch(f"{_SELECT} WHERE v.entry_id = $1 ORDER BY v.version", entry_id)
        if not rows:
            raise EntryNotFound(entry_id)
        return [_version(r) for r in rows]

    async def history(self, entry_id: int) -> list[dict[str, Any]]:
        rows = await self._pool.fetch("SELECT * FROM knowledge_history WHERE entry_id = $1 ORDER BY id", entry_id)
        return [_history_json(r) for r in rows]

    async def listing(self, department: str | None, state: EntryState | None, limit: int) -> list[Version]:
        """Versions in ``state`` (without: each entry's newest version), optionally of one department, by entry."""
        rows = await self._pool.fetch(
            f"{_SELECT} WHERE ($1::text IS NULL OR e.department = $1) AND CASE WHEN $2::text IS NULL"  # noqa: S608
            " THEN v.version = (SELECT max(w.version) FROM knowledge_versions w WHERE w.entry_id = v.entry_id)"
            " ELSE v.state = $2 END ORDER BY v.entry_id, v.version LIMIT $3",
            department, state.value if state else None, limit,
        )
        return [_version(r) for r in rows]

    async def revision(self) -> int:
        value: int = await self._pool.fetchval("SELECT revision FROM knowledge_revision")
        return value

    async def published(self) -> tuple[int, list[Version]]:
        """The revision and the published versions as of one snapshot (what a search index is built from)."""
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            revision: int = await conn.fetchval("SELECT revision FROM knowledge_revision")
            rows = await conn.fetch(f"{_SELECT} WHERE v.state = 'published' ORDER BY v.entry_id")
            return revision, [_version(r) for r in rows]
