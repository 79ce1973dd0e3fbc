"""The one in-memory snapshot of shoppers that serving shares.

`Consumers` holds a frozen `Snapshot` — each shopper's name, city, consent, top category and
active self-tags — built from the store by `refresh` and swapped whole. The storefront and the
recommendation service hold the same `Consumers`, so a tag set or consent withdrawn through one is
what the other reads next (no copy to keep in step). Updates (`put_tags`, `put_consent`, `forget`)
follow what was just written to the store, so serving sees it before the next refresh.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from qianmian.consumers.consent import load_opted_out
from qianmian.consumers.interests import top_categories
from qianmian.consumers.tags import load_tags
from qianmian.store import Store


@dataclass(frozen=True)
class Profile:
    """What serving knows about one shopper (an opted-out shopper's top category is not kept)."""

    user_id: str
    name: str | None = None
    city: str | None = None
    consent: bool = True
    top_category: str | None = None
    tags: tuple[str, ...] = ()


def _drop(m: Mapping[str, object], user_id: str) -> dict:
    return {k: v for k, v in m.items() if k != user_id}


@dataclass(frozen=True)
class Snapshot:
    """Every known shopper (an unknown shopper gets an empty, consenting profile)."""

    names: Mapping[str, str] = field(default_factory=dict)
    cities: Mapping[str, str] = field(default_factory=dict)
    opted_out: frozenset[str] = frozenset()
    top: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def consents(self, user_id: str) -> bool:
        return user_id not in self.opted_out

    def tags_of(self, user_id: str) -> tuple[str, ...]:
        return self.tags.get(user_id, ())

    def profile(self, user_id: str) -> Profile:
        consent = self.consents(user_id)
        top = self.top.get(user_id) if consent else None
        return Profile(user_id, self.names.get(user_id), self.cities.get(user_id), consent, top, self.tags_of(user_id))

    def with_tags(self, user_id: str, tags: Sequence[str]) -> Snapshot:
        return replace(self, tags={**_drop(self.tags, user_id), **({user_id: tuple(sorted(tags))} if tags else {})})

    def with_consent(self, user_id: str, consent: bool) -> Snapshot:
        return replace(self, opted_out=self.opted_out - {user_id} if consent else self.opted_out | {user_id})

    def without(self, user_id: str) -> Snapshot:
        return Snapshot(_drop(self.names, user_id), _drop(self.cities, user_id), self.opted_out - {user_id},
                        _drop(self.top, user_id), _drop(self.tags, user_id))


def _column_map(frame: pd.DataFrame, column: str) -> dict[str, str]:
    kept = frame.dropna(subset=[column])
    return dict(zip(kept["user_id"].astype(str), kept[column].astype(str)))


def load_snapshot(store: Store, *, profiles: bool = True) -> Snapshot:
    """Consent and tags (two queries); with `profiles`, also names, cities and each consenting
    shopper's top category over their whole history (two more)."""
    opted, tags = load_opted_out(store), load_tags(store)
    if not profiles:
        return Snapshot(opted_out=opted, tags=tags)
    frame = store.execute(store.table("users").select("user_id", "name", "city"))
    top = store.execute(top_categories(store.table("events"), n=1))
    top = top[~top["user_id"].isin(opted)]
    return Snapshot(_column_map(frame, "name"), _column_map(frame, "city"), opted,
                    dict(zip(top["user_id"].astype(str), top["category_id"].astype(str))), tags)


class Consumers:
    """The shared, swappable snapshot (reads take no lock: a snapshot is never changed in place)."""

    def __init__(self, snapshot: Snapshot | None = None) -> None:
        self.snapshot = snapshot or Snapshot()
        self.version = 0  # bumped on every change, so caches keyed on it follow
        self._lock = threading.Lock()

    @classmethod
    def load(cls, store: Store, *, profiles: bool = True) -> Consumers:
        return cls(load_snapshot(store, profiles=profiles))

    def refresh(self, store: Store, *, profiles: bool = True) -> None:
        self._swap(lambda _: load_snapshot(store, profiles=profiles))

    def consents(self, user_id: str) -> bool:
        return self.snapshot.consents(user_id)

    def tags_of(self, user_id: str) -> tuple[str, ...]:
        return self.snapshot.tags_of(user_id)

    def profile(self, user_id: str) -> Profile:
        return self.snapshot.profile(user_id)

    @property
    def opted_out(self) -> frozenset[str]:
        return self.snapshot.opted_out

    def put_tags(self, user_id: str, tags: Sequence[str]) -> None:
        """The shopper's active tags are now `tags` (after writing them to the tag log)."""
        self._swap(lambda s: s.with_tags(user_id, tags))

    def put_consent(self, user_id: str, consent: bool) -> None:
        self._swap(lambda s: s.with_consent(user_id, consent))

    def forget(self, user_id: str) -> None:
        """Drop everything held about the shopper (erasure)."""
        self._swap(lambda s: s.without(user_id))

    def _swap(self, change: Callable[[Snapshot], Snapshot]) -> None:
        with self._lock:
            self.snapshot = change(self.snapshot)
            self.version += 1
