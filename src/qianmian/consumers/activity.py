"""Recent activity: each shopper's latest events as they arrive over HTTP, kept in memory.

The next page and the popularity fallback read it at once, before the events reach the store.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from qianmian.consumers.weights import INTENT_WEIGHTS, weight_of


@dataclass(frozen=True)
class Seen:
    item_id: str | None
    category_id: str | None
    behavior: str
    at: float  # monotonic arrival time


class LiveActivity:
    """The latest events of each shopper as they arrive (bounded: `per_user` events, `max_users`)."""

    def __init__(self, *, per_user: int = 50, max_users: int = 200_000, window_seconds: float = 1800.0) -> None:
        self.per_user = per_user
        self.max_users = max_users
        self.window = window_seconds
        self._users: OrderedDict[str, deque[Seen]] = OrderedDict()
        self._lock = threading.Lock()

    def observe(self, rows: Iterable[Mapping[str, Any]], *, skip: frozenset[str] = frozenset()) -> None:
        """Record event rows (users in `skip` — opted out — are never recorded)."""
        now = time.monotonic()
        with self._lock:
            for r in rows:
                uid = r.get("user_id")
                if uid is None or uid in skip:
                    continue
                q = self._users.pop(uid, None) or deque(maxlen=self.per_user)
                q.append(Seen(r.get("item_id"), r.get("category_id"), r.get("behavior", ""), now))
                self._users[uid] = q
            while len(self._users) > self.max_users:
                self._users.popitem(last=False)

    def recent(self, user_id: str) -> list[Seen]:
        """The shopper's events within the live window, oldest first."""
        q = self._users.get(user_id)
        if not q:
            return []
        cutoff = time.monotonic() - self.window
        return [s for s in list(q) if s.at >= cutoff]

    def forget(self, user_id: str) -> None:
        with self._lock:
            self._users.pop(user_id, None)


def live_category(seen: list[Seen]) -> str | None:
    """The category with the highest intent weight among `seen` (latest wins ties; buys do not count)."""
    score: dict[str, float] = {}
    for s in seen:
        if s.category_id is not None:
            score[s.category_id] = score.get(s.category_id, 0.0) + weight_of(s.behavior, INTENT_WEIGHTS)
    best = max(score.values(), default=0.0)
    if best <= 0:
        return None
    return next(s.category_id for s in reversed(seen) if s.category_id is not None and score[s.category_id] == best)


def last_item(seen: list[Seen], behaviors: frozenset[str]) -> str | None:
    return next((s.item_id for s in reversed(seen) if s.behavior in behaviors and s.item_id), None)


def cart_items(seen: list[Seen]) -> list[str]:
    return list(dict.fromkeys(s.item_id for s in reversed(seen) if s.behavior == "cart" and s.item_id))
