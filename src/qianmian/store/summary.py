"""What is in a store: rows per table, distinct users and items, the time span of events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from qianmian.store.base import Store


def summary(store: Store, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Counts per table plus users, items and the events' time span.

    With `now`, `last_ts` is the last event at or before `now` (the default date of reports and the
    console), so an event dated in the future (stored before intake refused such times) moves no
    default; `future_events` says how many there are.

    >>> summary(connect("duckdb://"))["tables"]["events"]
    0
    """
    tables = {name: store.count(name) for name in store.list_tables() if name != "schema_version"}
    ev = store.table("events")
    future = (ev.ts > now) if now is not None else None
    agg = ev.aggregate(
        users=ev.user_id.nunique(),
        items=ev.item_id.nunique(),
        first_ts=ev.ts.min(),
        last_ts=ev.ts.max(where=~future) if future is not None else ev.ts.max(),
        **({"future_events": future.sum()} if future is not None else {}),
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
        **({"future_events": _count(row["future_events"])} if now is not None else {}),
    }


def last_event_ts(store: Store) -> Any:
    """The time of the store's last event, as the engine returns it (None or NaT for no events)."""
    return store.execute(store.table("events").ts.max())


def _count(value: Any) -> int:
    """A SUM over no rows: NULL, which pandas may hand back as None or NaN (Spark)."""
    return 0 if value is None or value != value else int(value)
