"""The daily consumer rollup `consumer_days`: events summed per user × day × source × brand.

AIPL, flow and funnel read it instead of `events` when their question is made of whole days
(`qianmian.metrics.daily`). It is kept up to date lazily and incrementally, outside the ingest path:

- **Cells.** Bookkeeping is per cell, a (`source`, day) pair; `source` is the batch that wrote an
  event (a file ingest's id, "api", …). A cell is current when its rollup rows sum to exactly the
  number of its events. `refresh_rollup` rebuilds every cell where the two differ: it deletes the
  cell's rows and aggregates the cell's events again, in one transaction on DuckDB. A new file
  batch is new cells; events arriving through the API grow the ("api", day) cells of their days.
- **Deletes.** Appends only add events, so a cell whose sums match has absorbed every event it
  holds, provided deletes are seen. `Store.delete_where` on `events` first drops the rollup rows that counted them:
  deleting a user's events deletes that user's rollup rows (their cells stay exact); any other
  delete drops the rows of every cell it touches (rebuilt on the next refresh). Privacy erasure
  also deletes the rollup's rows itself, the table having a `user_id` column. So the rollup never
  counts an erased shopper or a deleted event. (A write that bypasses `Store`, such as raw SQL on
  the connection, is outside this contract.)
- **Cost.** When nothing changed: one query (the number of events against the rollup's sum).
  Otherwise one count per source, one count per day of the sources that changed, and one
  aggregation of the changed cells' events.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from qianmian.errors import NotFoundError
from qianmian.store import schema as S
from qianmian.store.base import ROLLUP as TABLE
from qianmian.store.base import Store, as_day

KEY = ("user_id", "day", "source", "brand_id")


@dataclass(frozen=True)
class Refreshed:
    """What a refresh did: events aggregated (0 when the rollup was current) and whether it built
    the whole rollup (first use, or `rebuild=True`) rather than the changed cells."""

    events: int
    full: bool


def refresh_rollup(store: Store, *, rebuild: bool = False) -> Refreshed:
    """Bring `consumer_days` up to date with `events`; with `rebuild`, build it again from scratch.

    >>> refresh_rollup(connect("duckdb://"))
    Refreshed(events=0, full=False)
    """
    return _refresh(store, _table(store), rebuild=rebuild)


def current_rollup(store: Store, *, events: ir.Table | None = None) -> ir.Table:
    """`consumer_days`, refreshed first (one small query when nothing changed). `events`: the
    store's events table when the caller has it already (saves looking it up again)."""
    rollup = _table(store)
    _refresh(store, rollup, events=events)
    return rollup


def _table(store: Store) -> ir.Table:
    try:
        return store.table(TABLE)
    except NotFoundError:  # a store opened without migrating: the table is derived, so start it
        return store.ensure_table(TABLE, S.CONSUMER_DAYS)


def _refresh(store: Store, rollup: ir.Table, *, rebuild: bool = False, events: ir.Table | None = None) -> Refreshed:
    if rebuild:
        store.con.truncate_table(TABLE)
    events = store.table("events") if events is None else events
    have, absorbed = _totals(store, events, rollup)
    if have == absorbed:
        return Refreshed(0, False)
    if absorbed == 0:
        with store.transaction():
            return Refreshed(_absorb(store, events), True)
    whole, partial = _stale_cells(store, events, rollup)
    parts = [_is(events.source, s) for s in whole]
    parts += [_is(events.source, s) & events.ts.date().isin(days) for s, days in partial.items() if days]
    with store.transaction():
        for source, days in partial.items():
            store.delete_matching(TABLE, {"source": [source], "day": days})
        n = _absorb(store, events.filter(functools.reduce(operator.or_, parts))) if parts else 0
    return Refreshed(n, False)


def _totals(store: Store, events: ir.Table, rollup: ir.Table) -> tuple[int, int]:
    """Events in the store, and events the rollup accounts for."""
    if store.engine == "duckdb":  # runs before every read of the rollup: spare it Ibis' compile (~5 ms)
        have, absorbed = store.con.con.execute(
            f'SELECT (SELECT count(*) FROM "events"), (SELECT coalesce(sum("events"), 0) FROM "{TABLE}")'
        ).fetchone()
        return int(have), int(absorbed)
    both = events.aggregate(have=events.count()).cross_join(rollup.aggregate(absorbed=rollup.events.sum()))
    row = store.execute(both).iloc[0]
    absorbed = row["absorbed"]
    return int(row["have"]), 0 if absorbed is None or absorbed != absorbed else int(absorbed)


def _stale_cells(
    store: Store, events: ir.Table, rollup: ir.Table
) -> tuple[list[str | None], dict[str | None, list[dt.date]]]:
    """Sources to absorb whole (none of their events absorbed yet), and for every other source
    whose count changed, the days whose counts differ."""
    have = _counts(store, events.group_by(source=events.source).aggregate(n=events.count()))
    done = _counts(store, rollup.group_by("source").aggregate(n=rollup.events.sum()))
    whole = [s for s in have if s not in done]
    partial = {
        s: _stale_days(store, events, rollup, s)
        for s in sorted(set(done) | set(have), key=str)
        if s in done and have.get(s, 0) != done[s]
    }
    return whole, partial


def _stale_days(store: Store, events: ir.Table, rollup: ir.Table, source: str | None) -> list[dt.date]:
    ev = events.filter(_is(events.source, source))
    ru = rollup.filter(_is(rollup.source, source))
    have = _counts(store, ev.group_by(day=ev.ts.date()).aggregate(n=ev.count()), "day")
    done = _counts(store, ru.group_by("day").aggregate(n=ru.events.sum()), "day")
    return sorted(d for d in set(have) | set(done) if have.get(d, 0) != done.get(d, 0))


def _counts(store: Store, expr: ir.Table, key: str = "source") -> dict:
    """A small `key, n` result as a dict (None for a NULL key; a handful of rows: sources or days)."""
    frame = store.execute(expr)
    keys = [None if k is None or k != k else as_day(k) if key == "day" else k for k in frame[key]]
    return dict(zip(keys, (int(n) for n in frame["n"])))


def _is(column: ir.Value, value: object) -> ir.BooleanValue:
    return column.isnull() if value is None else column == value


def _absorb(store: Store, events: ir.Table) -> int:
    """Append the rollup rows of `events` (which no row counts yet); returns how many events."""
    rows = aggregate(events)
    if store.engine == "duckdb":
        rows = rows.order_by("user_id", "day")  # a consumer's rows stored together: faster group-bys
    total = store.table(TABLE).events.sum().fill_null(0)
    before = int(store.execute(total))
    store.con.insert(TABLE, rows)
    return int(store.execute(total)) - before


def aggregate(events: ir.Table) -> ir.Table:
    """`events` summed per user × day × source × brand, in the schema of `consumer_days`."""
    ev = events.mutate(day=events.ts.date(), _amount=events.amount.fill_null(0.0))
    measures: dict[str, ir.Scalar] = {"events": ev.count()}
    for b in S.BEHAVIORS:
        is_b = ev.behavior == b
        measures[f"n_{b}"] = ibis.ifelse(is_b, 1, 0).sum()
        measures[f"amount_{b}"] = ibis.ifelse(is_b, ev._amount, 0.0).sum()
    rows = ev.group_by(list(KEY)).aggregate(**measures)
    return rows.select(*[rows[c].cast(t).name(c) for c, t in S.CONSUMER_DAYS.items()])
