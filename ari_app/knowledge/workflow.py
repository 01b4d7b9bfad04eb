"""The review workflow of knowledge entries as pure code: versions, their states, who may do what.

An entry has numbered versions, every one kept. A department handler (of the entry's department) or a supervisor
writes a new version as a draft and submits it; a supervisor approves it (it becomes the published version, the one
agents find, and the version published before is retired) or rejects it with a reason (back to draft). Until the
approval the previous published version stays what agents see. A published version can be retired (withdrawn: the
entry leaves the search). An entry has at most one published version and at most one open version (draft or in
review); a new version while a draft is open replaces that draft (the draft is retired, kept in the history).

No database and no clock: the store passes the entry's versions, this module decides (:func:`decide`) or refuses
with the work orders' errors: Forbidden (403), IllegalTransition (409, saying what is possible now), FieldError (400).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ari_app.workorders.states import Actor, FieldError, Forbidden, IllegalTransition, Role

__all__ = [
    "Actor", "Decision", "EntryState", "FieldError", "Forbidden", "IllegalTransition", "KnowledgeAction", "Role",
    "VersionState", "allowed", "decide", "may_write",
]


class EntryState(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    RETIRED = "retired"

    @property
    def label(self) -> str:
        return _LABELS[self]


class KnowledgeAction(StrEnum):
    CREATE = "create"  # a new entry: its version 1, a draft
    REVISE = "revise"  # a new version of an entry, a draft
    SUBMIT = "submit"  # draft -> in review
    APPROVE = "approve"  # in review -> published (the published one before is retired)
    REJECT = "reject"  # in review -> draft, with a reason
    RETIRE = "retire"  # published -> retired: agents no longer find the entry

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS: Mapping[StrEnum, str] = {
    EntryState.DRAFT: "草稿", EntryState.IN_REVIEW: "待审核", EntryState.PUBLISHED: "已发布",
    EntryState.RETIRED: "已停用",
    KnowledgeAction.CREATE: "新建", KnowledgeAction.REVISE: "修订", KnowledgeAction.SUBMIT: "提交审核",
    KnowledgeAction.APPROVE: "审核通过", KnowledgeAction.REJECT: "退回修改", KnowledgeAction.RETIRE: "停用",
}

AUTHORS = frozenset({Role.DEPARTMENT, Role.SUPERVISOR, Role.ADMIN})
REVIEWERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
ROLES: Mapping[KnowledgeAction, frozenset[Role]] = {
    KnowledgeAction.CREATE: AUTHORS, KnowledgeAction.REVISE: AUTHORS, KnowledgeAction.SUBMIT: AUTHORS,
    KnowledgeAction.APPROVE: REVIEWERS, KnowledgeAction.REJECT: REVIEWERS, KnowledgeAction.RETIRE: AUTHORS,
}
# The state of the version an action works on (create and revise make a new one).
SOURCE: Mapping[KnowledgeAction, EntryState] = {
    KnowledgeAction.SUBMIT: EntryState.DRAFT, KnowledgeAction.APPROVE: EntryState.IN_REVIEW,
    KnowledgeAction.REJECT: EntryState.IN_REVIEW, KnowledgeAction.RETIRE: EntryState.PUBLISHED,
}
TARGET: Mapping[KnowledgeAction, EntryState] = {
    KnowledgeAction.CREATE: EntryState.DRAFT, KnowledgeAction.REVISE: EntryState.DRAFT,
    KnowledgeAction.SUBMIT: EntryState.IN_REVIEW, KnowledgeAction.APPROVE: EntryState.PUBLISHED,
    KnowledgeAction.REJECT: EntryState.DRAFT, KnowledgeAction.RETIRE: EntryState.RETIRED,
}


@dataclass(frozen=True)
class VersionState:
    """What the workflow needs of a stored version."""

    version: int
    state: EntryState
    author: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", EntryState(self.state))


@dataclass(frozen=True)
class Decision:
    """An action's effect: version ``version`` goes from ``from_state`` (None: it is new) to ``to_state``;
    ``retires`` names another version retired with it (the published one an approval replaces, or the draft a
    new version replaces)."""

    action: KnowledgeAction
    version: int
    from_state: EntryState | None
    to_state: EntryState
    retires: int | None = None
    detail: Mapping[str, str | int] = field(default_factory=dict, hash=False)


def may_write(actor: Actor, department: str | None = None) -> None:
    """Forbidden unless ``actor`` may write entries (agents never), of ``department`` if named (a department
    handler only its own)."""
    if actor.role not in AUTHORS:
        raise Forbidden(f"{actor.role} may not write knowledge entries: only {_who(AUTHORS)} may")
    if department is not None:
        _own(actor, department, "write")


def _own(actor: Actor, department: str, what: str) -> None:
    if actor.role is Role.DEPARTMENT and actor.department != department:
        raise Forbidden(f"{actor.id} of {actor.department} may not {what} an entry of {department}: "
                        "a department handler acts only on the department's own entries")


def _who(roles: frozenset[Role]) -> str:
    return ", ".join(sorted(r.value for r in roles))


def _find(versions: Sequence[VersionState], state: EntryState) -> VersionState | None:
    return next((v for v in versions if v.state is state), None)


def allowed(versions: Sequence[VersionState]) -> tuple[KnowledgeAction, ...]:
    """The actions the entry's versions allow now (whoever acts), in workflow order."""
    found: list[KnowledgeAction] = []
    if _find(versions, EntryState.IN_REVIEW) is None:
        found.append(KnowledgeAction.REVISE)
    found.extend(a for a, state in SOURCE.items() if _find(versions, state) is not None)
    return tuple(found)


def decide(
    action: KnowledgeAction, actor: Actor, department: str, versions: Sequence[VersionState], reason: str | None = None,
) -> Decision:
    """What ``action`` by ``actor`` does to an entry of ``department`` with these versions; raises Forbidden (role,
    department, or approving one's own version), IllegalTransition (nothing to act on) or FieldError (no reason)."""
    action = KnowledgeAction(action)
    if actor.role not in ROLES[action]:
        raise Forbidden(f"{actor.role} may not {action} a knowledge entry: only {_who(ROLES[action])} may")
    _own(actor, department, action.value)
    if action is KnowledgeAction.CREATE:
        if versions:
            raise IllegalTransition("the entry exists: write a new version of it (revise)")
        return Decision(action, 1, None, EntryState.DRAFT)
    newest = max((v.version for v in versions), default=0)
    if action is KnowledgeAction.REVISE:
        reviewed = _find(versions, EntryState.IN_REVIEW)
        if reviewed is not None:
            raise IllegalTransition(f"version {reviewed.version} is in review: a supervisor approves or rejects it "
                                    f"before a new version is written; allowed now: {_listing(versions)}")
        draft = _find(versions, EntryState.DRAFT)
        return Decision(action, newest + 1, None, EntryState.DRAFT, retires=draft.version if draft else None,
                        detail={"replaces_draft": draft.version} if draft else {})
    subject = _find(versions, SOURCE[action])
    if subject is None:
        raise IllegalTransition(f"no version is {SOURCE[action].value} ({SOURCE[action].label}) to {action}; "
                                f"allowed now: {_listing(versions)}")
    if action is KnowledgeAction.APPROVE:
        if subject.author == actor.id:
            raise Forbidden(f"{actor.id} wrote version {subject.version}: another supervisor reviews it")
        published = _find(versions, EntryState.PUBLISHED)
        return Decision(action, subject.version, subject.state, EntryState.PUBLISHED,
                        retires=published.version if published else None,
                        detail={"replaces": published.version} if published else {})
    if action is KnowledgeAction.REJECT:
        if reason is None or not reason.strip():
            raise FieldError("reason", "reason is required to reject a version (what the department must change)")
        return Decision(action, subject.version, subject.state, EntryState.DRAFT, detail={"reason": reason.strip()})
    return Decision(action, subject.version, subject.state, TARGET[action],
                    detail={"reason": reason.strip()} if reason and reason.strip() else {})


def _listing(versions: Sequence[VersionState]) -> str:
    return ", ".join(a.value for a in allowed(versions)) or "nothing"
