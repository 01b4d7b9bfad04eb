"""The knowledge search's pure parts: BM25F ranking, jieba terms with the vocabulary, the expiry and review flags,
and the ranking alone on the sample entries against the query test set."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from ari_app.knowledge.model import EntryContent, expiry_notice, is_expired, is_review_due
from ari_app.knowledge.ranking import Bm25Index, Document, QueryTerm
from ari_app.knowledge.terms import JiebaTerms, expand, normalise
from ari_app.registry.loader import load_registry

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "tests" / "data" / "knowledge_queries.yaml"


def doc(doc_id: int, question: str = "", answer: str = "", category: str = "") -> Document:
    return Document(doc_id, {"question": question.split(), "answer": answer.split(), "category": category.split()})


def q(*terms: str, weight: float = 1.0) -> list[QueryTerm]:
    return [QueryTerm(t, weight) for t in terms]


@pytest.fixture(scope="module")
def terms() -> JiebaTerms:
    loaded = JiebaTerms()
    loaded.load()
    return loaded


def test_a_rare_term_outweighs_a_common_one() -> None:
    index = Bm25Index([doc(1, "办理 提取"), doc(2, "办理 挂失"), doc(3, "办理 登记"), doc(4, "办理 转移")])
    hits = index.rank(q("办理", "提取"), 10)
    assert hits[0].id == 1
    assert index.idf("提取") > index.idf("办理") > 0
    assert hits[0].matched == ("提取", "办理")  # best first


def test_the_question_counts_more_than_the_answer() -> None:
    index = Bm25Index([doc(1, "公积金 贷款", "提取"), doc(2, "公积金 提取", "贷款"), doc(3, "社保卡", "挂失")])
    assert [h.id for h in index.rank(q("提取"), 10)] == [2, 1]
    assert [h.id for h in index.rank(q("贷款"), 10)] == [1, 2]


def test_a_long_field_counts_a_term_less_than_a_short_one() -> None:
    filler = " ".join(f"词{i}" for i in range(40))
    index = Bm25Index([doc(1, "施工", f"噪声 {filler}"), doc(2, "施工", "噪声 扰民"), doc(3, "暖气", "供热")])
    assert [h.id for h in index.rank(q("噪声"), 10)] == [2, 1]


def test_repeating_a_query_term_changes_nothing_and_a_synonym_counts_less() -> None:
    index = Bm25Index([doc(1, "提取 公积金"), doc(2, "取出 存款"), doc(3, "社保卡 挂失")])
    once = index.rank(q("提取"), 10)
    assert index.rank(q("提取", "提取", "提取"), 10) == once
    # The caller said 取出; 提取 is added for it at a lower weight: the entry with the caller's own word wins.
    hits = index.rank([QueryTerm("取出"), QueryTerm("提取", 0.6)], 10)
    assert [h.id for h in hits] == [2, 1]
    # Given twice, a term counts with its larger weight.
    assert index.rank([QueryTerm("提取", 0.6), QueryTerm("提取", 1.0)], 10) == once


def test_filter_limit_ties_and_no_match() -> None:
    index = Bm25Index([doc(i, "供热 暖气") for i in range(1, 6)] + [doc(6, "路灯")])
    assert [h.id for h in index.rank(q("暖气"), 3)] == [1, 2, 3]  # equal scores: by id
    assert [h.id for h in index.rank(q("暖气"), 10, keep=lambda i: i % 2 == 0)] == [2, 4]
    assert index.rank(q("公积金"), 10) == []
    assert Bm25Index([]).rank(q("公积金"), 10) == []


def test_jieba_loads_once_on_first_use() -> None:
    fresh = JiebaTerms()
    assert not fresh.loaded
    assert fresh.document("社保卡") == ["社保", "社保卡"]  # cut for search: the word and its dictionary parts
    assert fresh.loaded


def test_domain_words_stay_whole_and_long_words_give_their_parts(terms: JiebaTerms) -> None:
    words = terms.words("社保卡丢了咋办")
    assert "社保卡" in words and "咋办" not in words and "了" not in words
    assert {"住房", "公积金", "住房公积金", "提取"} <= set(terms.words("住房公积金提取需要什么材料？"))


def test_punctuation_and_stopwords_are_dropped_and_text_normalised(terms: JiebaTerms) -> None:
    assert normalise("ＡＰＰ１２３４５") == "app12345"
    words = terms.words("请问，我的社保卡怎么挂失？！")
    assert words == ["社保", "社保卡", "挂失"]
    assert "app" in terms.words("通过“爱山东”ＡＰＰ办理")


def test_a_query_gets_the_entries_words_for_the_callers(terms: JiebaTerms) -> None:
    query = {t.term: t.weight for t in terms.query("公积金怎么取出来")}
    assert query["公积金"] == 1.0 and query["提取"] < 1.0
    assert {t.term for t in terms.query("社保卡丢了咋办")} >= {"社保卡", "社会保障卡", "丢失", "挂失"}
    expanded = expand(["房产证", "房产证"], {"房产证": ("不动产权证书",)}, 0.5)
    assert expanded == [QueryTerm("房产证", 1.0), QueryTerm("不动产权证书", 0.5)]
    assert expand(["提取", "取"], {"取": ("提取",)}, 0.5)[0] == QueryTerm("提取", 1.0)  # the caller's own word wins


def test_expired_and_review_due_flags() -> None:
    content = EntryContent("q", "a", "c", ("12329",), review_date=date(2027, 3, 1), expires=date(2027, 6, 30))
    assert not is_expired(content, date(2027, 6, 30)) and is_expired(content, date(2027, 7, 1))
    assert not is_review_due(content, date(2027, 2, 28)) and is_review_due(content, date(2027, 3, 1))
    assert expiry_notice(content, date(2027, 6, 30)) is None
    notice = expiry_notice(content, date(2027, 7, 1))
    assert notice is not None and "2027-06-30" in notice and "过期" in notice
    forever = EntryContent("q", "a", "c", (), review_date=date(2027, 3, 1))
    assert not is_expired(forever, date(2099, 1, 1))


def test_the_ranking_alone_finds_the_sample_entries_for_the_query_set(terms: JiebaTerms) -> None:
    """The same measurement as the integration test, without the database: the first hit per query."""
    from ari_app.knowledge.seed import load_knowledge

    seeds = load_knowledge(ROOT / "config" / "knowledge.yaml", load_registry(ROOT / "config" / "hotlines.yaml"))
    index = Bm25Index([
        Document(i, {"question": terms.document(s.content.question), "category": terms.document(s.content.category),
                     "answer": terms.document(s.content.answer)})
        for i, s in enumerate(seeds)
    ])
    cases = yaml.safe_load(QUERIES.read_text(encoding="utf-8"))["queries"]
    assert len(cases) >= 30 and {c["expect"] for c in cases} <= {s.key for s in seeds}
    right = 0
    for case in cases:
        hits = index.rank(terms.query(case["q"]), 1)
        right += bool(hits) and seeds[hits[0].id].key == case["expect"]
    assert right / len(cases) >= 0.9, f"{right}/{len(cases)}"
