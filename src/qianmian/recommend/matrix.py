"""Build the training matrices from the store's `events` table, in the engine.

Each cell is computed by one Ibis aggregation (the same expression on DuckDB and Spark):

    value(u, i) = AGG over events e of (u, i) with ts < cutoff of  w(behavior_e) · 2^(−age_e / h)

with w from `MatrixSpec` (view/fav/cart/buy; other behaviours weigh 0 and are dropped), age in
days at the cutoff, AGG = sum or max. Rows are shoppers (`rows="user"`) or orders (`rows="order"`,
buy events grouped by `order_id`, for "bought together"); columns are items or categories.
Shoppers who opted out (`qianmian.consumers.consent.opted_out_table`) are never profiled, so their events are left out.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal

import ibis
import numpy as np
import pandas as pd
import scipy.sparse as sp

from qianmian.consumers.consent import opted_out_table
from qianmian.dates import end_of
from qianmian.errors import InputError
from qianmian.recommend.ids import IdMap
from qianmian.recommend.interactions import MatrixSpec
from qianmian.store import Store

Level = Literal["item", "category"]
RowKey = Literal["user", "order"]
BEHAVIOR_RANK = {b: rank for rank, b in enumerate(("view", "fav", "cart", "buy"), start=1)}
"""How strong a behaviour is, an order (not a weight; weights are `qianmian.consumers.weights`), for
reasons ("because you bought X" beats "viewed")."""


@dataclass(frozen=True)
class Matrix:
    """A CSR matrix with the external ids of its rows and columns."""

    values: sp.csr_matrix
    rows: IdMap
    cols: IdMap


def _weight(ev: ibis.Table, weights: dict[str, float]) -> ibis.Value:
    cases = [(ev.behavior == b, ibis.literal(float(w))) for b, w in weights.items() if w]
    if not cases:
        raise InputError("behaviour weights", "at least one positive weight", weights)
    return ibis.cases(*cases, else_=ibis.literal(0.0))


def usable_events(
    events: ibis.Table, *, cutoff: dt.datetime, users: ibis.Table | None = None, since: dt.datetime | None = None
) -> ibis.Table:
    """Events in [since, cutoff) with a user and an item, minus shoppers who opted out."""
    ev = events.filter(events.ts < ibis.literal(cutoff), events.user_id.notnull(), events.item_id.notnull())
    if since is not None:
        ev = ev.filter(ev.ts >= ibis.literal(since))
    if users is not None:
        ev = ev.anti_join(opted_out_table(users), "user_id")
    return ev


def cell_values(
    events: ibis.Table,
    *,
    cutoff: dt.datetime,
    spec: MatrixSpec,
    level: Level = "item",
    rows: RowKey = "user",
    users: ibis.Table | None = None,
    since: dt.datetime | None = None,
) -> ibis.Table:
    """One row per (row_id, col_id) with `value` (see module docstring) and `strongest` behaviour rank."""
    ev = usable_events(events, cutoff=cutoff, users=users, since=since)
    col = {"item": ev.item_id, "category": ev.category_id}[level]
    row = ev.user_id if rows == "user" else ev.order_id
    ev = ev.mutate(row_id=row, col_id=col, w=_weight(ev, spec.behavior_weights()))
    ev = ev.filter(ev.row_id.notnull(), ev.col_id.notnull(), ev.w > 0)
    value = ev.w
    if spec.half_life_days is not None:
        age = (ibis.literal(cutoff).epoch_seconds() - ev.ts.epoch_seconds()) / 86400.0
        value = value * (age * (-math.log(2.0) / spec.half_life_days)).exp()
    rank = ibis.cases(*[(ev.behavior == b, r) for b, r in BEHAVIOR_RANK.items()], else_=0)
    ev = ev.mutate(v=value, r=rank)
    agg = ev.v.max() if spec.aggregate == "max" else ev.v.sum()
    return ev.group_by(["row_id", "col_id"]).aggregate(value=agg, strongest=ev.r.max())


def load_matrix(
    store: Store,
    *,
    as_of: dt.date | dt.datetime,
    spec: MatrixSpec,
    level: Level = "item",
    rows: RowKey = "user",
    row_ids: IdMap | None = None,
    col_ids: IdMap | None = None,
    since: dt.datetime | None = None,
) -> tuple[Matrix, sp.csr_matrix]:
    """The (transformed) value matrix and the strongest-behaviour matrix, with their ids.

    Pass `row_ids`/`col_ids` to align with an existing id map (unknown ids are dropped), and
    `since` to keep only events from that time on (a holdout window).
    """
    users = store.table("users") if "users" in store.list_tables() else None
    expr = cell_values(
        store.table("events"), cutoff=end_of(as_of), spec=spec, level=level, rows=rows, users=users, since=since
    )
    frame = store.to_pyarrow(expr).to_pandas()
    r_ids = row_ids or IdMap.from_values(frame.row_id)
    c_ids = col_ids or IdMap.from_values(frame.col_id)
    r, c = r_ids.index(frame.row_id.to_numpy()), c_ids.index(frame.col_id.to_numpy())
    keep = (r >= 0) & (c >= 0)
    shape = (len(r_ids), len(c_ids))
    values = _csr(frame.value.to_numpy(np.float64)[keep], r[keep], c[keep], shape)
    values.data = _transform(values.data, spec)
    strongest = _csr(frame.strongest.to_numpy(np.float64)[keep], r[keep], c[keep], shape)
    return Matrix(values, r_ids, c_ids), strongest


def _csr(v: np.ndarray, r: np.ndarray, c: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    m = sp.csr_matrix((v.astype(np.float32), (r, c)), shape=shape)
    m.sum_duplicates()
    return m


def _transform(data: np.ndarray, spec: MatrixSpec) -> np.ndarray:
    if spec.transform == "log1p":
        return np.log1p(data).astype(np.float32)
    if spec.transform == "binary":
        return np.ones_like(data)
    return data


def item_categories(store: Store, items: IdMap, categories: IdMap, *, cutoff: dt.datetime) -> np.ndarray:
    """Category number of each item (-1 unknown): from the `items` table, else from its events."""
    ev = store.table("events")
    ev = ev.filter(ev.ts < ibis.literal(cutoff), ev.item_id.notnull(), ev.category_id.notnull())
    pairs = store.to_pyarrow(ev.group_by("item_id").aggregate(category_id=ev.category_id.max())).to_pandas()
    if "items" in store.list_tables():
        it = store.table("items")
        listed = store.to_pyarrow(it.filter(it.category_id.notnull()).select("item_id", "category_id")).to_pandas()
        pairs = pd.concat([pairs[~pairs.item_id.isin(listed.item_id)], listed], ignore_index=True)
    out = np.full(len(items), -1, np.int64)
    pos = items.index(pairs.item_id.to_numpy())
    ok = pos >= 0
    out[pos[ok]] = categories.index(pairs.category_id.astype(str).to_numpy()[ok])
    return out


def distinct_ids(store: Store, *, as_of: dt.date | dt.datetime) -> tuple[IdMap, IdMap, IdMap]:
    """Users, items and categories of the usable events before the cutoff."""
    users = store.table("users") if "users" in store.list_tables() else None
    ev = usable_events(store.table("events"), cutoff=end_of(as_of), users=users)
    frames = [store.to_pyarrow(ev.select(c).distinct()).to_pandas()[c] for c in ("user_id", "item_id", "category_id")]
    return IdMap.from_values(frames[0]), IdMap.from_values(frames[1]), IdMap.from_values(frames[2])
