"""The knowledge review workflow (pure): who may write, submit, approve, reject and retire which version, and
what is refused with what message; and the seed file's loader with its problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from ari_app.configcheck.problems import ConfigError
from ari_app.knowledge.seed import parse_knowledge
from ari_app.knowledge.workflow import (
    Actor,
    EntryState,
    FieldError,
    Forbidden,
    IllegalTransition,
    KnowledgeAction,
    Role,
    VersionState,
    allowed,
    decide,
    may_write,
)
from ari_app.registry.loader import load_registry

ROOT = Path(__file__).resolve().parents[2]
HF = Actor("hf-li", Role.DEPARTMENT, "housing-fund")
WATER = Actor("water-wang", Role.DEPARTMENT, "water")
SUP = Actor("sup-zhao", Role.SUPERVISOR)
AGENT = Actor("1001", Role.AGENT)
A = KnowledgeAction
D, R, P, X = EntryState.DRAFT, EntryState.IN_REVIEW, EntryState.PUBLISHED, EntryState.RETIRED


def v(version: int, state: EntryState, author: str = "hf-li") -> VersionState:
    return VersionState(version, state, author)


def test_a_department_handler_writes_only_its_own_departments_entries() -> None:
    first = decide(A.CREATE, HF, "housing-fund", ())
    assert (first.version, first.from_state, first.to_state) == (1, None, D)
    may_write(SUP, "water")  # a supervisor writes for any department
    with pytest.raises(Forbidden, match="own entries"):
        decide(A.CREATE, WATER, "housing-fund", ())
    with pytest.raises(Forbidden, match="only admin, department, supervisor"):
        may_write(AGENT, "housing-fund")
    for action in (A.REVISE, A.SUBMIT, A.RETIRE):
        with pytest.raises(Forbidden, match="own entries"):
            decide(action, WATER, "housing-fund", [v(1, D)])


def test_submit_then_approve_publishes_and_retires_the_version_before() -> None:
    submitted = decide(A.SUBMIT, HF, "housing-fund", [v(1, P), v(2, D)])
    assert (submitted.version, submitted.from_state, submitted.to_state) == (2, D, R)
    approved = decide(A.APPROVE, SUP, "housing-fund", [v(1, P), v(2, R)])
    assert (approved.version, approved.to_state, approved.retires) == (2, P, 1)
    assert approved.detail == {"replaces": 1}
    assert decide(A.APPROVE, SUP, "housing-fund", [v(1, R)]).retires is None  # nothing published before


def test_only_a_supervisor_approves_and_never_their_own_version() -> None:
    with pytest.raises(Forbidden, match="only admin, supervisor"):
        decide(A.APPROVE, HF, "housing-fund", [v(1, R)])
    with pytest.raises(Forbidden, match="another supervisor"):
        decide(A.APPROVE, SUP, "housing-fund", [v(1, R, author="sup-zhao")])
    assert decide(A.APPROVE, Actor("admin", Role.ADMIN), "housing-fund", [v(1, R)]).to_state is P


def test_reject_needs_a_reason_and_returns_the_version_to_draft() -> None:
    with pytest.raises(FieldError, match="reason is required") as refused:
        decide(A.REJECT, SUP, "housing-fund", [v(1, P), v(2, R)], reason="  ")
    assert refused.value.field == "reason"
    rejected = decide(A.REJECT, SUP, "housing-fund", [v(1, P), v(2, R)], reason=" 材料清单不全 ")
    assert (rejected.version, rejected.from_state, rejected.to_state, rejected.retires) == (2, R, D, None)
    assert rejected.detail == {"reason": "材料清单不全"}


def test_a_new_version_replaces_an_open_draft_but_waits_for_a_review() -> None:
    revised = decide(A.REVISE, HF, "housing-fund", [v(1, P), v(2, D)])
    assert (revised.version, revised.to_state, revised.retires) == (3, D, 2)
    assert decide(A.REVISE, HF, "housing-fund", [v(1, P)]).retires is None
    with pytest.raises(IllegalTransition, match="version 2 is in review"):
        decide(A.REVISE, HF, "housing-fund", [v(1, P), v(2, R)])
    with pytest.raises(IllegalTransition, match="the entry exists"):
        decide(A.CREATE, HF, "housing-fund", [v(1, P)])


def test_an_action_without_its_version_says_what_is_allowed() -> None:
    with pytest.raises(IllegalTransition, match=r"no version is in_review .* allowed now: revise, retire"):
        decide(A.APPROVE, SUP, "housing-fund", [v(1, P)])
    with pytest.raises(IllegalTransition, match="no version is draft"):
        decide(A.SUBMIT, HF, "housing-fund", [v(1, P), v(2, R)])
    with pytest.raises(IllegalTransition, match="no version is published"):
        decide(A.RETIRE, HF, "housing-fund", [v(1, X), v(2, D)])
    retired = decide(A.RETIRE, HF, "housing-fund", [v(1, X), v(2, P)])
    assert (retired.version, retired.from_state, retired.to_state) == (2, P, X)


def test_allowed_actions_follow_the_versions() -> None:
    assert allowed([v(1, D)]) == (A.REVISE, A.SUBMIT)
    assert allowed([v(1, P), v(2, R)]) == (A.APPROVE, A.REJECT, A.RETIRE)
    assert allowed([v(1, X)]) == (A.REVISE,)


REGISTRY = load_registry(ROOT / "config" / "hotlines.yaml")


def test_the_seed_file_reads_and_defaults_to_the_departments_lines() -> None:
    text = (
        "entries:\n"
        "  - key: hf-one\n    department: housing-fund\n    category: 公积金\n    question: 问\n    answer: 答\n"
        "    review_date: 2027-06-30\n    expires: 2027-12-31\n"
        "  - key: mr-one\n    department: market-regulation\n    hotlines: [\"12315\", \"12345\"]\n"
        "    category: 消费\n    question: 问\n    answer: 答\n    review_date: 2027-06-30\n"
    )
    first, second = parse_knowledge(text, "k.yaml", REGISTRY)
    assert first.content.hotlines == ("12329",) and str(first.content.expires) == "2027-12-31"
    assert second.content.hotlines == ("12315", "12345") and second.content.expires is None


def test_the_seed_files_problems_are_reported_with_lines() -> None:
    text = (
        "entries:\n"
        "  - key: hf-one\n    department: housing-fnd\n    hotlines: [\"99999\"]\n    category: 公积金\n"
        "    question: 问\n    answer: 答\n    review_date: 2027-02-30\n"
        "  - key: hf-one\n    department: housing-fund\n    category: 公积金\n    question: 问\n    answer: 答\n"
        "    review_date: 2027-06-30\n    owner: x\n"
    )
    with pytest.raises(ConfigError) as refused:
        parse_knowledge(text, "k.yaml", REGISTRY)
    lines = str(refused.value).splitlines()
    assert lines == [
        "k.yaml:3: entries[0].department: no department 'housing-fnd' in the registry (did you mean 'housing-fund'?)",
        "k.yaml:4: entries[0].hotlines[0]: no hotline 99999 in the registry",
        "k.yaml:8: entries[0].review_date: not a valid date (YYYY-MM-DD): '2027-02-30'",
        "k.yaml:9: entries[1].key: duplicate key 'hf-one' (first at line 2)",
        "k.yaml:15: entries[1].owner: unknown key; expected one of key, department, category, question, answer, "
        "review_date, hotlines, expires",
    ]


def test_the_sample_seed_covers_the_registrys_departments() -> None:
    from ari_app.knowledge.seed import load_knowledge

    seeds = load_knowledge(ROOT / "config" / "knowledge.yaml", REGISTRY)
    assert len(seeds) >= 40
    assert {s.department for s in seeds} == set(REGISTRY.departments)
