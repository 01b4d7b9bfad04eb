"""Relevance ranking of knowledge entries: BM25F over the question, the category and the answer.

Pure code over terms (:mod:`ari_app.knowledge.terms` makes them). Each field's term frequencies are normalised by the
field's length against that field's average (b), weighted (the question counts most: it is what a caller asks), and
summed into one pseudo frequency per term and entry, which saturates with k1 as in BM25. A term's weight is its
inverse document frequency over the entries: 提取 (in a few entries) counts far more than 办理 (in most).

A query term counts once however often the query repeats it; terms added as synonyms count less than the caller's
own words (``synonym_weight``), so an entry that uses the caller's exact word ranks first.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

FIELD_WEIGHTS: Mapping[str, float] = {"question": 3.0, "category": 1.5, "answer": 1.0}
K1 = 1.2
B = 0.75


@dataclass(frozen=True)
class Document:
    id: int
    fields: Mapping[str, Sequence[str]]  # field name -> its terms, in order, repeats kept


@dataclass(frozen=True)
class QueryTerm:
    term: str
    weight: float = 1.0  # the caller's word: 1; a word added for it (a synonym): less


@dataclass(frozen=True)
class Hit:
    id: int
    score: float
    matched: tuple[str, ...]  # the query's terms found in the entry, best first


class Bm25Index:
    def __init__(
        self, documents: Sequence[Document], weights: Mapping[str, float] = FIELD_WEIGHTS, k1: float = K1,
        b: float = B,
    ) -> None:
        self.k1 = k1
        self.size = len(documents)
        lengths: dict[str, float] = {
            f: (sum(len(d.fields.get(f, ())) for d in documents) / self.size if self.size else 0.0) for f in weights
        }
        self._tf: dict[int, dict[str, float]] = {}  # entry -> term -> weighted, length-normalised frequency
        df: Counter[str] = Counter()
        for doc in documents:
            pseudo: dict[str, float] = {}
            for name, weight in weights.items():
                terms = doc.fields.get(name, ())
                if not terms:
                    continue
                norm = 1 - b + b * len(terms) / lengths[name] if lengths[name] else 1.0
                for term, count in Counter(terms).items():
                    pseudo[term] = pseudo.get(term, 0.0) + weight * count / norm
            self._tf[doc.id] = pseudo
            df.update(pseudo.keys())
        self._idf = {t: math.log(1 + (self.size - n + 0.5) / (n + 0.5)) for t, n in df.items()}

    def __len__(self) -> int:
        return self.size

    def idf(self, term: str) -> float:
        return self._idf.get(term, 0.0)

    def score(self, doc_id: int, query: Sequence[QueryTerm]) -> tuple[float, tuple[str, ...]]:
        """An entry's score for a query (each term once, with its largest weight), and the terms that matched."""
        tf = self._tf.get(doc_id, {})
        total, matched = 0.0, []
        for q in _unique(query):
            f = tf.get(q.term)
            if not f:
                continue
            part = q.weight * self._idf[q.term] * f * (self.k1 + 1) / (f + self.k1)
            total += part
            matched.append((part, q.term))
        matched.sort(key=lambda m: -m[0])
        return total, tuple(t for _, t in matched)

    def rank(self, query: Sequence[QueryTerm], limit: int, keep: Callable[[int], bool] | None = None) -> list[Hit]:
        """The best ``limit`` entries with a positive score (those ``keep`` accepts), best first; ties by id."""
        terms = {q.term for q in query}
        hits: list[Hit] = []
        for doc_id, tf in self._tf.items():
            if terms.isdisjoint(tf) or (keep is not None and not keep(doc_id)):
                continue
            score, matched = self.score(doc_id, query)
            if score > 0:
                hits.append(Hit(doc_id, score, matched))
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits[:limit]


def _unique(query: Sequence[QueryTerm]) -> list[QueryTerm]:
    best: dict[str, float] = {}
    for q in query:
        best[q.term] = max(best.get(q.term, 0.0), q.weight)
    return [QueryTerm(t, w) for t, w in best.items()]
