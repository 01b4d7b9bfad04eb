"""Chinese text to search terms: jieba's search-engine segmentation, loaded once and lazily.

``cut_for_search`` gives the words and, for long words, their dictionary parts as well (住房公积金 ->
住房/公积/公积金/住房公积金), so a query with the part finds the whole. Text is normalised first (NFKC: full-width
letters and digits become ASCII, lowercase); punctuation and :data:`~ari_app.knowledge.vocabulary.STOPWORDS` are
dropped. A query also gets the entries' words for the caller's words (:data:`~ari_app.knowledge.vocabulary.SYNONYMS`).

jieba needs about a second to build its dictionary: :meth:`JiebaTerms.load` does it the first time any text is cut,
under a lock, and the desk calls it in a worker thread so the event loop never waits for it.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

import jieba

from ari_app.knowledge.ranking import QueryTerm
from ari_app.knowledge.vocabulary import DOMAIN_WORDS, STOPWORDS, SYNONYMS

DOMAIN_WORD_FREQ = 200_000  # above jieba's common words, so a domain word is kept whole
SYNONYM_WEIGHT = 0.6  # a word added for the caller's word counts this much of the caller's own


class Terms(Protocol):
    """Turns text into search terms (a document's terms, or a query's with its synonyms)."""

    @property
    def loaded(self) -> bool: ...

    def load(self) -> None:
        """Whatever is slow to prepare (blocking; the desk calls it in a worker thread)."""

    def document(self, text: str) -> list[str]: ...

    def query(self, text: str) -> list[QueryTerm]: ...


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _meaningful(word: str) -> bool:
    word = word.strip()
    if not word or word in STOPWORDS:
        return False
    return any(unicodedata.category(ch)[0] in "LN" for ch in word)  # letters or digits, not punctuation alone


def expand(
    words: Iterable[str], synonyms: Mapping[str, tuple[str, ...]] = SYNONYMS, weight: float = SYNONYM_WEIGHT,
) -> list[QueryTerm]:
    """The caller's words (weight 1), each followed by the entries' words for it (``weight``); each term once,
    with its larger weight."""
    out: dict[str, float] = {}
    for word in words:
        out[word] = 1.0
        for term in synonyms.get(word, ()):
            out.setdefault(term, weight)
    return [QueryTerm(t, w) for t, w in out.items()]


class JiebaTerms:
    """Search terms by jieba's ``cut_for_search`` (without its HMM guesses for unknown words: an unknown stretch
    falls apart into characters, which match better than invented words such as 吵得 or 娃要)."""

    def __init__(self, cache_dir: Path | None = None, words: Iterable[str] = DOMAIN_WORDS) -> None:
        self._lock = threading.Lock()
        self._words = tuple(words)
        self._cache_dir = cache_dir
        self._tokenizer: jieba.Tokenizer | None = None

    @property
    def loaded(self) -> bool:
        return self._tokenizer is not None

    def load(self) -> None:
        """Build jieba's dictionary now (about a second; blocking) rather than at the first text."""
        self._load()

    def _load(self) -> jieba.Tokenizer:
        with self._lock:
            if self._tokenizer is None:
                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                if self._cache_dir is not None:
                    self._cache_dir.mkdir(parents=True, exist_ok=True)
                    tokenizer.tmp_dir = str(self._cache_dir)
                tokenizer.initialize()
                for word in self._words:
                    tokenizer.add_word(word, DOMAIN_WORD_FREQ)
                self._tokenizer = tokenizer
            return self._tokenizer

    def words(self, text: str) -> list[str]:
        """The meaningful words of ``text``, in order, repeats kept (term frequencies count them)."""
        cut: Iterable[str] = self._load().cut_for_search(normalise(text), HMM=False)
        return [w for w in cut if _meaningful(w)]

    def document(self, text: str) -> list[str]:
        return self.words(text)

    def query(self, text: str) -> list[QueryTerm]:
        return expand(self.words(text))
