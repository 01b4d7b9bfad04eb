"""Knowledge entries as the rest of the room sees them: a version's content, a stored version, and the flags
agents get with a search result (expired, review due).

Dates are days in the platform's time zone (Asia/Shanghai): an entry ``expires`` at the end of that day, and is due
for review from its ``review_date`` on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ari_app.knowledge.workflow import EntryState, VersionState

QUESTION_TEXT = 200  # characters of a question
ANSWER_TEXT = 2000  # characters of an answer (答复口径)
CATEGORY_TEXT = 64
MAX_HOTLINES = 10


@dataclass(frozen=True)
class EntryContent:
    """What a department writes: one version's text and dates."""

    question: str
    answer: str
    category: str
    hotlines: tuple[str, ...]
    review_date: date
    expires: date | None = None


@dataclass(frozen=True)
class Version:
    """One stored version of an entry."""

    entry_id: int
    department: str
    key: str | None  # the seed file's key, for an imported entry
    version: int
    state: EntryState
    content: EntryContent
    author: str
    reviewer: str | None
    reject_reason: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    published_at: datetime | None
    retired_at: datetime | None

    @property
    def workflow(self) -> VersionState:
        return VersionState(self.version, self.state, self.author)

    def to_json(self) -> dict[str, Any]:
        c = self.content

        def iso(value: date | datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "id": self.entry_id, "key": self.key, "department": self.department, "version": self.version,
            "state": self.state.value, "state_label": self.state.label, "question": c.question, "answer": c.answer,
            "category": c.category, "hotlines": list(c.hotlines), "review_date": c.review_date.isoformat(),
            "expires": iso(c.expires), "author": self.author, "reviewer": self.reviewer,
            "reject_reason": self.reject_reason, "created_at": iso(self.created_at), "updated_at": iso(self.updated_at),
            "submitted_at": iso(self.submitted_at), "published_at": iso(self.published_at),
            "retired_at": iso(self.retired_at),
        }


def is_expired(content: EntryContent, today: date) -> bool:
    """Past its last valid day: never to be given as the current answer."""
    return content.expires is not None and today > content.expires


def is_review_due(content: EntryContent, today: date) -> bool:
    return today >= content.review_date


def expiry_notice(content: EntryContent, today: date) -> str | None:
    """What an agent must be told with an expired entry's answer."""
    if not is_expired(content, today):
        return None
    return f"本口径已于{content.expires}过期，不能作为现行答复口径；请向承办单位核实最新政策后答复。"
