"""What the page needs to know about a shopper, kept in memory so a page costs no query.

`Profiles` is a snapshot built from the store (rebuilt every ``cache_refresh_seconds``): name,
city and consent from `users`, and each consenting shopper's top category over their whole
history (behaviour-weighted, see `top_category`). `LiveActivity` holds each shopper's latest
events as they arrive over HTTP, so the next page reflects them at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import ibis
import pandas as pd

from qianmian.store import Store
from qianmian.storefront.greeting import BEHAVIOR_WEIGHT

HISTORY_WEIGHT: Final[Mapping[str, float]] = {**BEHAVIOR_WEIGHT, "buy": 4.0}


def category_weights(events: ibis.Table, weights: Mapping[str, float] = HISTORY_WEIGHT) -> ibis.Table:
    """(user_id, category_id, weight): Σ behaviour weight per shopper and category."""
    w = ibis.cases(*[(events.behavior == b, v) for b, v in weights.items()], else_=0.0)
    known = events.filter(events.user_id.notnull(), events.category_id.notnull())
    return known.group_by(["user_id", "category_id"]).aggregate(weight=w.sum())


def top_category(events: ibis.Table) -> ibis.Table:
    """(user_id, category_id): each shopper's highest-weight category (ties: smallest id)."""
    cw = category_weights(events)
    ranked = cw.mutate(_r=ibis.row_number().over(group_by="user_id", order_by=[ibis.desc("weight"), "category_id"]))
    return ranked.filter((ranked._r == 0) & (ranked.weight > 0)).select("user_id", "category_id")


@dataclass(frozen=True)
class Profile:
    user_id: str
    name: str | None = None
    city: str | None = None
    consent: bool = True
    top_category: str | None = None


@dataclass(frozen=True)
class Profiles:
    """Snapshot of every known shopper (absent shoppers get an empty, consenting profile)."""

    names: Mapping[str, str] = field(default_factory=dict)
    cities: Mapping[str, str] = field(default_factory=dict)
    opted_out: frozenset[str] = frozenset()
    top: Mapping[str, str] = field(default_factory=dict)

    def get(self, user_id: str) -> Profile:
        consent = user_id not in self.opted_out
        return Profile(user_id, self.names.get(user_id), self.cities.get(user_id), consent, self.top.get(user_id) if consent else None)

    def with_consent(self, user_id: str, consent: bool) -> Profiles:
        out = self.opted_out - {user_id} if consent else self.opted_out | {user_id}
        return Profiles(self.names, self.cities, frozenset(out), self.top)

    def without(self, user_id: str) -> Profiles:
        drop = lambda m: {k: v for k, v in m.items() if k != user_id}  # noqa: E731
        return Profiles(drop(self.names), drop(self.cities), self.opted_out - {user_id}, drop(self.top))


def _column_map(frame: pd.DataFrame, column: str) -> dict[str, str]:
    kept = frame.dropna(subset=[column])
    return dict(zip(kept["user_id"].astype(str), kept[column].astype(str)))


def load_profiles(store: Store) -> Profiles:
    """Build the snapshot with two queries (users; top category per consenting shopper)."""
    users = store.table("users")
    frame = store.execute(users.select("user_id", "name", "city", "consent"))
    opted = frozenset(frame.loc[frame["consent"].eq(False), "user_id"].astype(str))
    top = store.execute(top_category(store.table("events")))
    top = top[~top["user_id"].isin(opted)]
    return Profiles(_column_map(frame, "name"), _column_map(frame, "city"), opted, dict(zip(top["user_id"], top["category_id"])))


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
    """The category with the highest behaviour weight among `seen` (latest wins ties)."""
    score: dict[str, float] = {}
    for s in seen:
        if s.category_id is not None:
            score[s.category_id] = score.get(s.category_id, 0.0) + BEHAVIOR_WEIGHT.get(s.behavior, 0.0)
    best = max(score.values(), default=0.0)
    if best <= 0:
        return None
    return next(s.category_id for s in reversed(seen) if s.category_id is not None and score[s.category_id] == best)


def last_item(seen: list[Seen], behaviors: frozenset[str]) -> str | None:
    return next((s.item_id for s in reversed(seen) if s.behavior in behaviors and s.item_id), None)


def cart_items(seen: list[Seen]) -> list[str]:
    return list(dict.fromkeys(s.item_id for s in reversed(seen) if s.behavior == "cart" and s.item_id))
