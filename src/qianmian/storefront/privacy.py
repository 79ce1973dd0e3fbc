"""Privacy (seed 002: shoppers trade data only with brands that respect it): consent and erasure.

- Consent lives in `users.consent`; `False` means opted out: from then on the shopper gets the
  default, non-personalized page, their live events are not profiled, they are not assigned to
  experiments and their pages are not logged.
- `erase_user` deletes every row of the shopper from every table that has a user column —
  the core tables (events, users, user_tags, exposures) and any domain table (features,
  audience membership, experiment units …) — and reports the count per table. Model vectors and
  the write-ahead log are handled by the caller (see `qianmian.api.routers.users`).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import pandas as pd

from qianmian.errors import InputError
from qianmian.store import Store

USER_COLUMNS: Final[tuple[str, ...]] = ("user_id", "unit_id")
"""Columns that identify a shopper in any table."""


def check_user(user_id: str) -> str:
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 256:
        raise InputError("user_id", "a non-empty id of at most 256 characters", user_id)
    return user_id


def set_consent(store: Store, user_id: str, consent: bool, *, now: dt.datetime) -> None:
    """Record the shopper's consent, keeping the rest of their `users` row."""
    uid = check_user(user_id)
    users = store.table("users")
    row = store.execute(users.filter(users.user_id == uid))
    if row.empty:
        row = pd.DataFrame({"user_id": [uid]})
    row = row.iloc[:1].assign(consent=consent, updated_at=pd.Timestamp(now))
    times = row.select_dtypes(include=["datetime64"]).columns
    row[times] = row[times].astype("datetime64[us]")  # Spark cannot read nanosecond parquet timestamps
    with store.transaction():
        store.delete_where("users", "user_id", [uid])
        store.append("users", row)


def user_tables(store: Store) -> dict[str, list[str]]:
    """Every table with a user column, and which of `USER_COLUMNS` it has."""
    found: dict[str, list[str]] = {}
    for name in store.list_tables():
        cols = [c for c in USER_COLUMNS if c in store.table(name).columns]
        if cols:
            found[name] = cols
    return found


def erase_user(store: Store, user_id: str) -> dict[str, int]:
    """Delete the shopper everywhere; returns rows deleted per table (zeros included)."""
    uid = check_user(user_id)
    erased: dict[str, int] = {}
    for table, cols in user_tables(store).items():
        erased[table] = sum(store.delete_where(table, col, [uid]) for col in cols)
    return erased


def remaining(store: Store, user_id: str) -> dict[str, int]:
    """Rows still holding the shopper, per table (all zero after `erase_user`)."""
    out = {}
    for table, cols in user_tables(store).items():
        t = store.table(table)
        out[table] = sum(int(store.execute(t.filter(t[c] == user_id).count())) for c in cols)
    return out
