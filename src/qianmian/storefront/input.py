"""What shoppers tell the storefront themselves: self-tags, and the guide whose answers become tags.

Both write the tag log (`qianmian.consumers.tags`) and then the shared `Consumers` snapshot, so the
next page and the next recommendation (same snapshot) read the new tags at once. A shopper who
opted out can record neither (`OptedOutError`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence

from qianmian.consumers import tags as tag_log
from qianmian.consumers.consent import check_user
from qianmian.consumers.snapshot import Consumers
from qianmian.errors import OptedOutError
from qianmian.store import Store
from qianmian.storefront import guide
from qianmian.storefront.guide import Question


class TagService:
    """Set, remove and read a shopper's self-tags."""

    def __init__(self, store: Store, *, lock: threading.RLock, consumers: Consumers) -> None:
        self.store = store
        self.lock = lock
        self.consumers = consumers

    def set_tags(self, user_id: str, tags: Sequence[str], *, now: dt.datetime, source: str = "self",
                 remove: Sequence[str] = (), replace_all: bool = False) -> list[str]:
        """Set (and remove) self-tags at `now`; returns the shopper's active tags."""
        uid = check_user(user_id)
        self.require_consent(uid)
        with self.lock:
            active = tag_log.set_tags(self.store, uid, tags, source=source, ts=now, replace=replace_all)
            if remove:
                active = tag_log.remove_tags(self.store, uid, remove, source=source, ts=now)
        self.consumers.put_tags(uid, active)
        return active

    def tags_of(self, user_id: str) -> list[str]:
        return list(self.consumers.tags_of(user_id))

    def require_consent(self, user_id: str) -> None:
        if not self.consumers.consents(user_id):
            raise OptedOutError(f"user {user_id!r} opted out: no tags or guide answers are recorded")


class GuideService:
    """The guided-selling flow: the next unanswered question, and answers recorded as tags."""

    def __init__(self, questions: Sequence[Question], tags: TagService) -> None:
        self.questions = tuple(questions)
        self.tags = tags

    def next(self, user_id: str) -> Question | None:
        self.tags.require_consent(user_id)
        return guide.next_question(self.questions, self.tags.consumers.tags_of(user_id))

    def answer(self, user_id: str, question_id: str, choices: Sequence[str], *, now: dt.datetime) -> list[str]:
        add, drop = guide.answer_tags(self.questions, question_id, choices)
        held = set(self.tags.consumers.tags_of(user_id))
        return self.tags.set_tags(user_id, add, now=now, source="guide", remove=[t for t in drop if t in held])
