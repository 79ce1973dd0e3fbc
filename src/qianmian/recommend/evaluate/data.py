"""The evaluation protocols' data: R1 (Online Retail II purchases) and R2 (Taobao category layers).

This is offline evaluation, so the files are read directly with DuckDB (parameterized, no SQL
built from input) rather than through a store. Each protocol yields a `Split` for validation and
one for test, carved by the same rule.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np
import pandas as pd
import scipy.sparse as sp

from qianmian.errors import InputError
from qianmian.recommend.catalog import NON_PRODUCT_CODES
from qianmian.recommend.ids import IdMap
from qianmian.recommend.interactions import Interactions

Protocol = Literal["R1", "R2"]

R1_FILE = Path("online_retail_ii/online_retail_ii_2009_2010.csv.gz")
R2_FILE = Path("taobao_userbehavior/ub_head_by_user_84k.csv")
R2_BEHAVIOR_WEIGHTS = {"pv": 1.0, "fav": 2.0, "cart": 3.0, "buy": 4.0}
"""Protocol R2's own definition (docs/recommend.md, "pv 1, fav 2, cart 3, buy 4"), on the raw Taobao
file's behaviour codes: a published evaluation keeps its weights even if the product's
`qianmian.consumers.weights.BEHAVIOR_WEIGHTS` change, so it is not read from there."""


@dataclass(frozen=True)
class Split:
    """Train interactions, evaluation users and their targets, for one cutoff.

    `target` has one row per evaluation user (aligned with `users`) over the train items;
    `target_size` counts all target items, including ones absent from train (never hittable).
    """

    name: str
    train: Interactions
    users: np.ndarray
    target: sp.csr_matrix
    target_size: np.ndarray
    exclude_seen: bool
    k: int
    user_ids: IdMap
    item_ids: IdMap
    cutoff: dt.datetime | None = None
    """Train = events before `cutoff`; the target comes from [cutoff, end)."""
    end: dt.datetime | None = None

    @property
    def n_items(self) -> int:
        return self.train.shape[1]


@dataclass(frozen=True)
class ProtocolData:
    protocol: Protocol
    validation: Split
    test: Split
    cutoff: dt.date | None = None
    """The rolling-origin cutoff these splits were carved at (None: the protocol's fixed split)."""


def load_protocol(protocol: Protocol, data_dir: Path | str) -> ProtocolData:
    """Both splits of `protocol` from the shared data folder."""
    if protocol == "R1":
        return r1(Path(data_dir) / R1_FILE)
    if protocol == "R2":
        return r2(Path(data_dir) / R2_FILE)
    raise InputError("protocol", "'R1' or 'R2'", protocol)


# -- R1: Online Retail II ---------------------------------------------------------------------
R1_COLUMNS = {
    "Invoice": "VARCHAR",
    "StockCode": "VARCHAR",
    "Description": "VARCHAR",
    "Quantity": "BIGINT",
    "InvoiceDate": "TIMESTAMP",
    "Price": "DOUBLE",
    "Customer ID": "VARCHAR",
    "Country": "VARCHAR",
}

R1_QUERY = """
with lines as (
    select trim("Customer ID") as user_id, upper(trim(StockCode)) as item_id, Invoice as invoice, InvoiceDate as ts
    from read_csv($path, header = true, columns = $columns)
    where Quantity > 0 and not starts_with(Invoice, 'C') and "Customer ID" is not null and trim("Customer ID") <> ''
)
select user_id, item_id, invoice, min(ts) as ts
from lines
where regexp_matches(item_id, '[0-9]') and not list_contains($codes, item_id)
group by all
"""


def r1_purchases(path: Path) -> pd.DataFrame:
    """One row per (customer, StockCode, invoice) under R1's purchase rules."""
    _require(path)
    con = duckdb.connect()
    try:
        params = {"path": str(path), "columns": R1_COLUMNS, "codes": list(NON_PRODUCT_CODES)}
        return con.execute(R1_QUERY, params).df()
    finally:
        con.close()


def r1(path: Path) -> ProtocolData:
    """R1: train before 2010-10-01, test after; validation = the last two months of train."""
    p = r1_purchases(path)
    cutoff, val_cutoff = pd.Timestamp("2010-10-01"), pd.Timestamp("2010-08-01")
    test = _carve_new_items("R1 test", p, cutoff, None)
    validation = _carve_new_items("R1 validation", p[p.ts < cutoff], val_cutoff, None)
    return ProtocolData("R1", validation, test)


WINDOW_MONTHS = 2
"""Rolling R1: the validation window is the two months before each cutoff, the test window the
two months after it (or up to the next cutoff, when that comes sooner)."""


def parse_cutoffs(text: str) -> list[dt.date]:
    """`"2010-06-01,2010-08-01"` → sorted distinct dates (a clear error names the bad one)."""
    out: set[dt.date] = set()
    for part in (t.strip() for t in text.split(",")):
        if not part:
            continue
        try:
            out.add(dt.date.fromisoformat(part))
        except ValueError as exc:
            raise InputError("--cutoffs", "comma-separated dates YYYY-MM-DD", part) from exc
    if not out:
        raise InputError("--cutoffs", "at least one date YYYY-MM-DD", text)
    return sorted(out)


def load_rolling(protocol: Protocol, data_dir: Path | str, cutoffs: Sequence[dt.date]) -> list[ProtocolData]:
    """One `ProtocolData` per cutoff, carved by the protocol's rules with that date as the split."""
    if protocol != "R1":
        raise InputError("--protocol", "R1 (the only protocol with rolling cutoffs)", protocol)
    p = r1_purchases(Path(data_dir) / R1_FILE)
    first, last = p.ts.min(), p.ts.max()
    days = sorted(cutoffs)
    out = []
    for n, day in enumerate(days):
        cutoff = pd.Timestamp(day)
        val_cutoff = cutoff - pd.DateOffset(months=WINDOW_MONTHS)
        end = cutoff + pd.DateOffset(months=WINDOW_MONTHS)
        if n + 1 < len(days):
            end = min(end, pd.Timestamp(days[n + 1]))
        if not (first < val_cutoff and cutoff <= last):
            raise InputError(
                "--cutoffs",
                f"dates with two months of data before them and data after them ({first.date()} … {last.date()})",
                day.isoformat(),
            )
        validation = _carve_new_items(f"R1 validation {day}", p[p.ts < cutoff], val_cutoff, cutoff)
        test = _carve_new_items(f"R1 test {day}", p, cutoff, end)
        out.append(ProtocolData("R1", validation, test, day))
    return out


def _carve_new_items(name: str, p: pd.DataFrame, cutoff: pd.Timestamp, end: pd.Timestamp | None) -> Split:
    before, after = p[p.ts < cutoff], p[p.ts >= cutoff]
    if end is not None:
        after = after[after.ts < end]
    users, items = IdMap.from_values(before.user_id), IdMap.from_values(before.item_id)
    train = _interactions(before, users, items, cutoff, np.ones(len(before)))
    seen = before[["user_id", "item_id"]].drop_duplicates()
    new = after[["user_id", "item_id"]].drop_duplicates().merge(seen, how="left", indicator=True)
    new = new[(new["_merge"] == "left_only") & new.user_id.isin(seen.user_id)]
    split = _split(name, train, new, users, items, exclude_seen=True, k=20)
    return dataclasses.replace(split, cutoff=cutoff.to_pydatetime(), end=None if end is None else end.to_pydatetime())


# -- R2: Taobao UserBehavior, category layers -------------------------------------------------
R2_QUERY = """
select cast(column0 as varchar) as user_id, cast(column2 as varchar) as item_id, column3 as behavior,
       make_timestamp(cast(column4 as bigint) * 1000000) + interval 8 hour as ts
from read_csv($path, header = false, columns = {'column0': 'BIGINT', 'column1': 'BIGINT',
     'column2': 'BIGINT', 'column3': 'VARCHAR', 'column4': 'BIGINT'})
"""
R2_FIRST_DAY, R2_LAST_DAY = dt.date(2017, 11, 25), dt.date(2017, 12, 3)


def r2_events(path: Path) -> pd.DataFrame:
    """Events with Beijing wall-clock `ts`, within 2017-11-25 … 12-03; item_id = the category."""
    _require(path)
    con = duckdb.connect()
    try:
        e = con.execute(R2_QUERY, {"path": str(path)}).df()
    finally:
        con.close()
    day = e.ts.dt.normalize()
    keep = (day >= pd.Timestamp(R2_FIRST_DAY)) & (day <= pd.Timestamp(R2_LAST_DAY)) & e.behavior.isin(list(R2_BEHAVIOR_WEIGHTS))
    return e[keep].reset_index(drop=True)


def r2(path: Path) -> ProtocolData:
    """R2: test day 2017-12-03, validation day 12-02; train = the days before each."""
    e = r2_events(path)
    test = _carve_day("R2 test", e, pd.Timestamp("2017-12-03"))
    validation = _carve_day("R2 validation", e[e.ts < pd.Timestamp("2017-12-03")], pd.Timestamp("2017-12-02"))
    return ProtocolData("R2", validation, test)


def _carve_day(name: str, e: pd.DataFrame, day: pd.Timestamp) -> Split:
    before = e[e.ts < day]
    on_day = e[(e.ts >= day) & (e.ts < day + pd.Timedelta(days=1))]
    users, items = IdMap.from_values(before.user_id), IdMap.from_values(before.item_id)
    weights = before.behavior.map(R2_BEHAVIOR_WEIGHTS).to_numpy(np.float64)
    train = _interactions(before, users, items, day, weights)
    target = on_day[on_day.user_id.isin(before.user_id)][["user_id", "item_id"]].drop_duplicates()
    split = _split(name, train, target, users, items, exclude_seen=False, k=10)
    return dataclasses.replace(split, cutoff=day.to_pydatetime(), end=(day + pd.Timedelta(days=1)).to_pydatetime())


# -- shared -----------------------------------------------------------------------------------
def _interactions(rows: pd.DataFrame, users: IdMap, items: IdMap, cutoff: pd.Timestamp, weight: np.ndarray) -> Interactions:
    age = ((cutoff - rows.ts).dt.total_seconds() / 86400.0).to_numpy(np.float64)
    return Interactions(
        users.index(rows.user_id.to_numpy()),
        items.index(rows.item_id.to_numpy()),
        np.asarray(weight, np.float64),
        age,
        (len(users), len(items)),
    )


def _split(
    name: str, train: Interactions, target: pd.DataFrame, users: IdMap, items: IdMap, *, exclude_seen: bool, k: int
) -> Split:
    """Evaluation users = users with a target (all have train rows); target rows aligned with them."""
    u = users.index(target.user_id.to_numpy())
    eval_users, row_of = np.unique(u, return_inverse=True)
    size = np.bincount(row_of, minlength=len(eval_users))
    i = items.index(target.item_id.to_numpy())
    known = i >= 0
    t = sp.csr_matrix((np.ones(known.sum(), np.float32), (row_of[known], i[known])), shape=(len(eval_users), len(items)))
    t.sum_duplicates()
    return Split(name, train, eval_users, t, size, exclude_seen, k, users, items)


def _require(path: Path) -> None:
    if not path.is_file():
        raise InputError("data", f"the protocol file at {path}", "a missing file")
