"""Search over the published versions: an in-memory BM25F index per node, rebuilt when the knowledge base's
revision changes (a version published or retired, on this node or another).

Each search reads the revision (one small query); when it differs from the index's, the published versions are read
in one snapshot and the index is rebuilt in a worker thread (jieba's first load and the segmentation of every entry
would otherwise stall the event loop). One rebuild at a time; searches meanwhile wait for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ari_app.knowledge.model import Version
from ari_app.knowledge.ranking import Bm25Index, Document, QueryTerm
from ari_app.knowledge.terms import Terms


class PublishedSource(Protocol):
    async def revision(self) -> int: ...

    async def published(self) -> tuple[int, list[Version]]: ...


@dataclass(frozen=True)
class SearchHit:
    version: Version
    score: float
    matched: tuple[str, ...]


@dataclass(frozen=True)
class _Built:
    revision: int
    ranking: Bm25Index
    entries: dict[int, Version]


def documents(versions: Sequence[Version], terms: Terms) -> list[Document]:
    """The ranking's documents of versions: question, category and answer as terms."""
    return [
        Document(v.entry_id, {"question": terms.document(v.content.question),
                              "category": terms.document(v.content.category),
                              "answer": terms.document(v.content.answer)})
        for v in versions
    ]


class SearchIndex:
    def __init__(self, source: PublishedSource, terms: Terms) -> None:
        self._source = source
        self._terms = terms
        self._built: _Built | None = None
        self._lock = asyncio.Lock()

    @property
    def revision(self) -> int | None:
        return self._built.revision if self._built is not None else None

    async def _current(self) -> _Built:
        revision = await self._source.revision()
        built = self._built
        if built is not None and built.revision == revision:
            return built
        async with self._lock:
            built = self._built
            if built is not None and built.revision == await self._source.revision():
                return built  # rebuilt by the search this one waited for
            revision, published = await self._source.published()
            ranking = await asyncio.to_thread(lambda: Bm25Index(documents(published, self._terms)))
            self._built = _Built(revision, ranking, {v.entry_id: v for v in published})
            return self._built

    async def warm(self) -> None:
        """Prepare the terms and build the index now, off the event loop, so that the first search does not
        do it while calls are up (jieba's dictionary takes about half a second of CPU holding the GIL: done
        under load it stalled call handling by as much)."""
        if not self._terms.loaded:
            await asyncio.to_thread(self._terms.load)
        await self._current()

    async def query_terms(self, text: str) -> list[QueryTerm]:
        if not self._terms.loaded:
            await asyncio.to_thread(self._terms.load)
        return self._terms.query(text)

    async def search(
        self, text: str, limit: int, keep: Callable[[Version], bool] | None = None,
    ) -> tuple[list[QueryTerm], list[SearchHit]]:
        """The query's terms, and the published versions that match best (those ``keep`` accepts), best first."""
        built = await self._current()
        query = await self.query_terms(text)

        def accepted(entry_id: int) -> bool:
            return keep is None or keep(built.entries[entry_id])

        hits = built.ranking.rank(query, limit, accepted)
        return query, [SearchHit(built.entries[h.id], round(h.score, 3), h.matched) for h in hits]
