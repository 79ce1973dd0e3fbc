"""Self-tags (seed 001): shoppers declare tags such as "budget", "unscented" or "vegan".

Tags live in the `user_tags` table as an append-only log of (user_id, tag, active, source, ts):
setting a tag appends `active = true`, removing it appends `active = false`.

**The reading rule** (the only one; audiences, features, recommendations and the storefront all
read tags through `active_tags_table`): per (user, tag) the latest record by `ts` decides; when a
set and a removal share the same `ts`, the removal wins; a record whose `active` is missing counts
as a removal. So a tag is active only when its latest record says so unambiguously.

>>> normalize_tag("  Unscented ")
'unscented'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

import ibis
import pandas as pd

from qianmian.dates import DateLike, end_of
from qianmian.errors import InputError
from qianmian.store import Store

TABLE = "user_tags"
TAG_PATTERN = re.compile(r"[^\W_][\w\- ]{0,39}")
"""A tag: 1–40 letters (any script), digits, '_', '-' or spaces, starting with a letter or digit."""


def normalize_tag(tag: str) -> str:
    """Trim and lower-case a tag; raises `InputError` when it is not a valid tag."""
    text = str(tag).strip().lower()
    if not TAG_PATTERN.fullmatch(text):
        raise InputError("tag", "1-40 letters, digits, '_', '-' or spaces, starting with a letter or digit", tag)
    return text


def set_tags(
    store: Store, user_id: str, tags: Iterable[str], *, source: str, ts: dt.datetime, replace: bool = False
) -> list[str]:
    """Declare `tags` for `user_id` at time `ts`; with `replace`, every other active tag is removed.

    Returns the shopper's active tags afterwards, sorted.
    """
    wanted = sorted({normalize_tag(t) for t in tags})
    uid = _user(user_id)
    dropped = sorted(set(active_tags(store, uid)) - set(wanted)) if replace else []
    _log(store, uid, wanted, True, source, ts)
    _log(store, uid, dropped, False, source, ts)
    return active_tags(store, uid)


def remove_tags(store: Store, user_id: str, tags: Iterable[str], *, source: str, ts: dt.datetime) -> list[str]:
    """Record that `user_id` no longer has `tags`; returns the remaining active tags."""
    uid = _user(user_id)
    _log(store, uid, sorted({normalize_tag(t) for t in tags}), False, source, ts)
    return active_tags(store, uid)


def active_tags(store: Store, user_id: str, *, as_of: DateLike | None = None) -> list[str]:
    """The shopper's active tags (as of the end of `as_of` when given, else every record), sorted."""
    log = store.table(TABLE)
    current = active_tags_table(log.filter(log.user_id == _user(user_id)), as_of=as_of)
    return sorted(store.execute(current.select("tag"))["tag"].tolist())


def active_tags_table(user_tags: ibis.Table, *, as_of: DateLike | None = None) -> ibis.Table:
    """(user_id, tag) for every active tag, by the reading rule of the module docstring."""
    log = user_tags if as_of is None else user_tags.filter(user_tags.ts < end_of(as_of))
    removal_first = log.active.fill_null(False).cast("int8")  # in a same-`ts` tie, false (0) sorts first
    ranked = log.mutate(_rank=ibis.row_number().over(group_by=[log.user_id, log.tag], order_by=[ibis.desc(log.ts), removal_first]))
    latest = ranked.filter(ranked._rank == 0, ranked.active.fill_null(False))
    return latest.select("user_id", "tag")


def load_tags(store: Store) -> dict[str, tuple[str, ...]]:
    """Every shopper's active tags, sorted (for the in-memory snapshot); empty without a tag log."""
    if TABLE not in store.list_tables():
        return {}
    frame = store.execute(active_tags_table(store.table(TABLE)))
    return {str(u): tuple(sorted(g.astype(str))) for u, g in frame.groupby("user_id")["tag"]}


def _user(user_id: str) -> str:
    uid = str(user_id).strip()
    if not uid:
        raise InputError("user_id", "a non-empty consumer id", user_id)
    return uid


def _log(store: Store, user_id: str, tags: list[str], active: bool, source: str, ts: dt.datetime) -> None:
    if not tags:
        return
    if not isinstance(ts, dt.datetime):
        raise InputError("ts", "a datetime (when the consumer declared the tags)", ts)
    rows = pd.DataFrame(
        {"user_id": user_id, "tag": tags, "active": active, "source": str(source), "ts": ts.replace(tzinfo=None)}
    )
    store.append(TABLE, rows, dedupe=False)
