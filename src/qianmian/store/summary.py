"""What is in a store: rows per table, distinct users and items, the time span of events."""

from __future__ import annotations

from typing import Any

from qianmian.store.base import Store


def summary(store: Store) -> dict[str, Any]:
    """Counts per table plus users, items and the events' time span.

    >>> summary(connect("duckdb://"))["tables"]["events"]
    0
    """
    tables = {name: store.count(name) for name in store.list_tables() if name != "schema_version"}
    ev = store.table("events")
    agg = ev.aggregate(
        users=ev.user_id.nunique(),
        items=ev.item_id.nunique(),
        first_ts=ev.ts.min(),
        last_ts=ev.ts.max(),
    )
    row = store.execute(agg).iloc[0].to_dict()
    span = {k: (None if row[k] is None or row[k] != row[k] else row[k].isoformat()) for k in ("first_ts", "last_ts")}
    return {
        "store": store.url,
        "engine": store.engine,
        "tables": tables,
        "users": int(row["users"]),
        "items": int(row["items"]),
        **span,
    }
