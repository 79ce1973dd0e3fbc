"""Schema versions. Each migration runs once per store, in order, and is recorded.

Add a migration by appending to `MIGRATIONS`; never edit one that has shipped.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable

import ibis

from qianmian.errors import SchemaError
from qianmian.store import schema as S
from qianmian.store.base import Store


def _v1_core_tables(store: Store) -> None:
    for name, sch in S.TABLES.items():
        store.ensure_table(name, sch)


def _v2_consumer_days(store: Store) -> None:
    # Stores created since have it from v1 (it creates every table of S.TABLES); filled lazily
    # by qianmian.store.rollup.
    store.ensure_table("consumer_days", S.CONSUMER_DAYS)


def _v3_store_identity(store: Store) -> None:
    # Written once: a new store gets its id when it is created, an existing one when it migrates.
    store.ensure_table(S.IDENTITY, S.STORE_IDENTITY)
    if store.count(S.IDENTITY) == 0:
        row = {"id": [uuid.uuid4().hex[:16]], "created_at": [_dt.datetime.now()]}
        store.con.insert(S.IDENTITY, ibis.memtable(row).cast(S.STORE_IDENTITY))


MIGRATIONS: list[tuple[int, str, Callable[[Store], None]]] = [
    (1, "core tables: events, items, users, user_tags, stores, campaigns, creatives, exposures, quarantine, ingests", _v1_core_tables),
    (2, "consumer_days: the daily consumer rollup of events", _v2_consumer_days),
    (3, "store_identity: the store's id, which trained models record", _v3_store_identity),
]
LATEST = MIGRATIONS[-1][0]


def current_version(store: Store) -> int:
    if "schema_version" not in store.list_tables():
        return 0
    v = store.execute(store.table("schema_version").version.max())
    return int(v) if v is not None and v == v else 0


def migrate(store: Store) -> int:
    """Apply every migration newer than the store's version; returns the resulting version."""
    store.ensure_table("schema_version", S.SCHEMA_VERSION)
    have = current_version(store)
    if have > LATEST:
        raise SchemaError(f"store schema version {have} is newer than this Qianmian ({LATEST}); upgrade Qianmian")
    for version, description, apply in MIGRATIONS:
        if version <= have:
            continue
        apply(store)
        row = {"version": [version], "description": [description], "applied_at": [_dt.datetime.now()]}
        store.con.insert("schema_version", ibis.memtable(row).cast(S.SCHEMA_VERSION))
        store.forget_tables()  # a migration may change a core table's schema
    return LATEST
