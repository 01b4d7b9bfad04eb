"""The knowledge search is made ready when the service starts, not by the first search under load: the terms'
dictionary is loaded in a worker thread (it holds the GIL for about half a second) and the index is built once;
a database fault while warming leaves the build to the first search instead of stopping the service."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from ari_app.knowledge.desk import KnowledgeDesk
from ari_app.knowledge.model import Version
from ari_app.knowledge.ranking import QueryTerm
from ari_app.knowledge.search import SearchIndex


class CountingTerms:
    def __init__(self) -> None:
        self.loaded = False
        self.loaded_in: list[str] = []

    def load(self) -> None:
        self.loaded_in.append(threading.current_thread().name)
        self.loaded = True

    def document(self, text: str) -> list[str]:
        return text.split()

    def query(self, text: str) -> list[QueryTerm]:
        return [QueryTerm(w) for w in text.split()]


class Source:
    def __init__(self, fail: bool = False) -> None:
        self.builds = 0
        self.fail = fail

    async def revision(self) -> int:
        if self.fail:
            raise OSError("connection refused")
        return 7

    async def published(self) -> tuple[int, list[Version]]:
        self.builds += 1
        return 7, []


def test_warming_loads_the_terms_off_the_event_loop_and_builds_the_index_once() -> None:
    terms, source = CountingTerms(), Source()
    index = SearchIndex(source, terms)

    async def scenario() -> tuple[Any, ...]:
        await index.warm()
        after_warm = (index.revision, source.builds)
        found = await index.search("公积金 提取", 5)
        return after_warm, source.builds, found

    after_warm, builds, found = asyncio.run(scenario())
    assert after_warm == (7, 1)
    assert builds == 1  # the search used the index built while warming
    assert found == ([QueryTerm("公积金"), QueryTerm("提取")], [])
    assert len(terms.loaded_in) == 1 and terms.loaded_in[0] != threading.main_thread().name


def test_a_database_fault_while_warming_is_logged_not_raised() -> None:
    terms, source = CountingTerms(), Source(fail=True)
    desk = KnowledgeDesk(source, lambda: None, None, terms)  # type: ignore[arg-type]

    asyncio.run(desk.warm())
    assert terms.loaded and desk.index.revision is None  # the index is left to the first search


def test_a_dictionary_that_cannot_load_does_not_stop_the_start() -> None:
    class BrokenTerms(CountingTerms):
        def load(self) -> None:
            raise RuntimeError("jieba cache unreadable")

    desk = KnowledgeDesk(Source(), lambda: None, None, BrokenTerms())  # type: ignore[arg-type]

    asyncio.run(desk.warm())
    assert desk.index.revision is None  # left to the first search, which reports its own error
