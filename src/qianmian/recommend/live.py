"""The live recent-events buffer: a shopper's last events, in memory, without retraining.

`observe` appends an event; `recent` returns a user's last events, newest last. The buffer is
bounded per user (`max_events`) and in users (`max_users`, least recently active dropped first).
Events older than `ttl_seconds` before a caller-given `now` are dropped by `expire(now)`: the
buffer never reads the clock itself.

Serving adds these events to the shopper's history rows with weight `boost · w(behaviour)` (the
newest counts most: each older event is discounted by `recency`), so item-based models move
towards the neighbours of what was just viewed, and ALS folds the new row in.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qianmian.errors import InputError
from qianmian.ingest import rules
from qianmian.store.schema import BEHAVIORS


@dataclass(frozen=True)
class LiveEvent:
    user_id: str
    item_id: str
    behavior: str
    ts: float

    @classmethod
    def from_dict(cls, event: Mapping[str, Any]) -> LiveEvent:
        """From an event dict: `user_id`, `item_id`, `behavior` required; `ts` epoch seconds or ISO text."""
        for key in ("user_id", "item_id", "behavior"):
            if not event.get(key):
                raise InputError(f"event.{key}", "a non-empty value", event.get(key))
        if event["behavior"] not in BEHAVIORS:
            raise InputError("event.behavior", f"one of {list(BEHAVIORS)}", event["behavior"])
        return cls(str(event["user_id"]), str(event["item_id"]), str(event["behavior"]), _seconds(event.get("ts")))

    @classmethod
    def usable(cls, event: Mapping[str, Any]) -> LiveEvent | None:
        """The live event for a valid stored event, or None when it cannot re-rank anything: an
        anonymous event (no shopper) or one of the item-less behaviours (`ingest.rules.ITEMLESS`),
        which the shared rules accept. An event the rules refuse raises `InputError`."""
        broken = [p for p in rules.problems(event) if p[0] in ("behavior", "item_id")]
        if broken:
            raise InputError(f"event.{broken[0][0]}", broken[0][1].split(": expected ", 1)[-1], event.get(broken[0][0]))
        if not event.get("user_id") or event.get("behavior") in rules.ITEMLESS:
            return None
        return cls.from_dict(event)


def _seconds(ts: Any) -> float:
    if ts is None:
        return 0.0
    if isinstance(ts, (int, float)):
        return float(ts)
    if hasattr(ts, "timestamp"):
        return float(ts.timestamp())
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(str(ts)).timestamp()
    except ValueError as exc:
        raise InputError("event.ts", "epoch seconds or an ISO timestamp", ts) from exc


class LiveBuffer:
    """Recent events per user (thread-safety: one writer; readers get copies)."""

    def __init__(self, *, max_events: int = 20, max_users: int = 100_000, ttl_seconds: float = 1800.0) -> None:
        if max_events < 1 or max_users < 1 or ttl_seconds <= 0:
            raise InputError("live buffer limits", "positive numbers", (max_events, max_users, ttl_seconds))
        self.max_events, self.max_users, self.ttl_seconds = max_events, max_users, ttl_seconds
        self._events: OrderedDict[str, deque[LiveEvent]] = OrderedDict()

    def observe(self, event: LiveEvent | Mapping[str, Any]) -> LiveEvent:
        e = event if isinstance(event, LiveEvent) else LiveEvent.from_dict(event)
        queue = self._events.pop(e.user_id, None) or deque(maxlen=self.max_events)
        queue.append(e)
        self._events[e.user_id] = queue
        while len(self._events) > self.max_users:
            self._events.popitem(last=False)
        return e

    def recent(self, user_id: str) -> list[LiveEvent]:
        return list(self._events.get(str(user_id), ()))

    def forget(self, user_id: str) -> None:
        self._events.pop(str(user_id), None)

    def expire(self, now: float) -> int:
        """Drop events older than `ttl_seconds` before `now`; returns how many were dropped."""
        dropped = 0
        for user in list(self._events):
            keep = [e for e in self._events[user] if now - e.ts <= self.ttl_seconds]
            dropped += len(self._events[user]) - len(keep)
            if keep:
                self._events[user] = deque(keep, maxlen=self.max_events)
            else:
                del self._events[user]
        return dropped

    def __len__(self) -> int:
        return len(self._events)
