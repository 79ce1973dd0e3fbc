"""The exposure log: who saw which variant of which experiment, and when.

Rows come from the storefront (one per page served to a unit in an experiment) or from a file
(CSV / Parquet with at least `experiment, variant, user_id, ts`). They land in the `exposures`
table of the store; an `exposure_id` is derived from (experiment, variant, user_id, ts) when the
row has none, so logging the same exposure twice stores it once.

>>> from qianmian.store import connect
>>> store = connect("duckdb://")
>>> log_exposures(store, [{"experiment": "hero", "variant": "test", "user_id": "u1", "ts": "2024-02-25 10:00"}])
1
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from qianmian.errors import InputError
from qianmian.experiments.assignment import buckets
from qianmian.store import Store
from qianmian.store.schema import EXPOSURES

REQUIRED = ("experiment", "variant", "user_id", "ts")


def log_exposures(store: Store, rows: Iterable[Mapping[str, Any]] | pd.DataFrame | pa.Table) -> int:
    """Append exposures; returns how many new rows were written (duplicates are skipped)."""
    df = _frame(rows)
    if df.empty:
        return 0
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError("exposure columns", f"at least {list(REQUIRED)}", sorted(df.columns))
    extra = set(df.columns) - set(EXPOSURES.names)
    if extra:
        raise InputError("exposure columns", f"a subset of {list(EXPOSURES.names)}", sorted(extra))
    df = _normalize(df)
    return store.append("exposures", df)


def _frame(rows: Iterable[Mapping[str, Any]] | pd.DataFrame | pa.Table) -> pd.DataFrame:
    if isinstance(rows, pd.DataFrame):
        return rows.copy()
    if isinstance(rows, pa.Table):
        return rows.to_pandas()
    return pd.DataFrame(list(rows))


def _normalize(df: pd.DataFrame) -> pd.DataFrame:
    for col in ("experiment", "variant", "user_id"):
        if df[col].isna().any():
            raise InputError(col, "a value on every exposure row", None)
        df[col] = df[col].astype(str)
    try:
        df["ts"] = pd.to_datetime(df["ts"]).astype("datetime64[us]")
    except (ValueError, TypeError) as exc:
        raise InputError("ts", "timestamps (naive local wall-clock time)", str(df["ts"].iloc[0])) from exc
    if getattr(df["ts"].dt, "tz", None) is not None:
        raise InputError("ts", "naive local wall-clock timestamps", str(df["ts"].dtype))
    ids = df["exposure_id"] if "exposure_id" in df.columns else pd.Series([None] * len(df), index=df.index)
    df["exposure_id"] = ids.where(ids.notna(), _derived_ids(df))
    return df


def _derived_ids(df: pd.DataFrame) -> pd.Series:
    """A stable id from experiment, variant, user and time (two independent 53-bit hashes)."""
    key = (df["experiment"] + "\x1f" + df["variant"] + "\x1f" + df["user_id"] + "\x1f" + df["ts"].astype(str)).to_numpy()
    a = (buckets("exposure-a", key) * 2**53).astype(np.uint64)
    b = (buckets("exposure-b", key) * 2**53).astype(np.uint64)
    return pd.Series(np.char.add(np.char.mod("%014x", a), np.char.mod("%014x", b)), index=df.index)


def read_exposure_file(path: str | Path) -> pa.Table:
    """Read a CSV or Parquet exposure file into Arrow (columns as in the `exposures` table)."""
    p = Path(path)
    if not p.is_file():
        raise InputError("path", "an existing CSV or Parquet file", str(p))
    if p.suffix.lower() in (".parquet", ".pq"):
        return pq.read_table(p)
    if p.suffix.lower() in (".csv", ".gz"):
        types = {c: pa.string() for c in ("exposure_id", "experiment", "variant", "user_id", "audience", "page", "source")}
        return pacsv.read_csv(p, convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True))
    raise InputError("path", "a .csv or .parquet file", str(p))


def ingest_exposures(store: Store, path: str | Path) -> int:
    """Load an exposure file into the store; returns the rows written."""
    table = read_exposure_file(path)
    return log_exposures(store, table)


def exposure_counts(store: Store) -> dict[str, dict[str, Any]]:
    """Per experiment: `exposures` (rows), `shoppers` (distinct users), `first_ts` and `last_ts`."""
    x = store.table("exposures")
    x = x.filter(x.experiment.notnull())
    seen = store.execute(x.group_by("experiment").aggregate(exposures=x.count(), shoppers=x.user_id.nunique(),
                                                            first_ts=x.ts.min(), last_ts=x.ts.max()))
    return {r["experiment"]: r for r in seen.to_dict("records")}
