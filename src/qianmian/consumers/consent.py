"""Consent (seed 002: shoppers trade data only with brands that respect it).

Consent lives in `users.consent`; `False` means opted out, and a missing value (or no `users` row)
means consent was never withdrawn. An opted-out shopper gets the default, non-personalized page, is
not profiled (no feature row, no audience), not assigned to experiments, and their live events are
not kept. `opted_out_table` is the one query every reader (features, serving snapshots) goes through.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from qianmian.errors import InputError
from qianmian.store import Store


def check_user(user_id: str) -> str:
    """`user_id` when it is a usable shopper id; `InputError` otherwise."""
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 256:
        raise InputError("user_id", "a non-empty id of at most 256 characters", user_id)
    return user_id


def opted_out_table(users: ibis.Table) -> ibis.Table:
    """(user_id) of every shopper whose `consent` is false."""
    return users.filter(users.consent == ibis.literal(False)).select("user_id")


def load_opted_out(store: Store) -> frozenset[str]:
    """The ids of every shopper who opted out (empty without a `users` table)."""
    if "users" not in store.list_tables():
        return frozenset()
    frame = store.execute(opted_out_table(store.table("users")))
    return frozenset(frame["user_id"].astype(str))


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
