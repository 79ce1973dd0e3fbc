"""Privacy (seed 002: shoppers trade data only with brands that respect it): consent and erasure.

- `ConsentService` records consent (`qianmian.consumers.consent`: `users.consent`, `False` = opted
  out) and applies it at once: from then on the shopper gets the default, non-personalized page,
  their live events are not kept, the models stop using their history, they are not assigned to
  experiments and their pages are not logged.
- `erase_user` deletes every row of the shopper from every table that has a user column —
  the core tables (events, users, user_tags, exposures) and any domain table (features,
  audience membership, experiment units …) — and reports the count per table. `ErasureService`
  also drops them from the snapshots, the live buffer and the models; the write-ahead log is
  handled by the caller (see `qianmian.api.routers.users`).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any, Final

from qianmian.consumers.consent import check_user, set_consent
from qianmian.consumers.snapshot import Consumers
from qianmian.store import Store
from qianmian.storefront.service import StorefrontService

USER_COLUMNS: Final[tuple[str, ...]] = ("user_id", "unit_id")
"""Columns that identify a shopper in any table."""


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


class ConsentService:
    """Record a shopper's consent and apply it to serving at once."""

    def __init__(self, store: Store, *, lock: threading.RLock, consumers: Consumers, storefront: StorefrontService) -> None:
        self.store = store
        self.lock = lock
        self.consumers = consumers
        self.storefront = storefront

    def set_consent(self, user_id: str, consent: bool, *, now: dt.datetime) -> None:
        with self.lock:
            set_consent(self.store, user_id, consent, now=now)
        self.consumers.put_consent(user_id, consent)
        if not consent:
            self.storefront.products.withdraw(user_id)


class ErasureService:
    """Erase a shopper from the store, the shared snapshot, the live buffer and the models."""

    def __init__(self, store: Store, *, lock: threading.RLock, consumers: Consumers, storefront: StorefrontService) -> None:
        self.store = store
        self.lock = lock
        self.consumers = consumers
        self.storefront = storefront

    def erase(self, user_id: str) -> dict[str, Any]:
        """``{"tables": rows deleted per table, "models": what the models did}``."""
        with self.lock:
            tables = erase_user(self.store, user_id)
        self.consumers.forget(user_id)
        return {"tables": tables, "models": self.storefront.forget(user_id)}
