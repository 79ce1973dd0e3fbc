"""The randomized data an uplift model learns from: per consumer, features, treatment and outcome.

Two sources:

- `from_file`: a per-consumer CSV / Parquet file of a randomized test (e.g. Hillstrom's e-mail
  test). `treatment` names the column of arms; rows whose arm is `control` are controls, rows in
  `treated` (default: every other arm) are treated, others are left out and counted.
- `from_experiment`: an experiment stored in Qianmian. Units are its cleanly exposed shoppers
  (`experiments.metrics.exposed_units`); the outcome is one experiment metric in each unit's
  attribution window; the features are the consumer feature table as of the day before the
  experiment's first exposure, so nothing the treatment caused leaks into them.

`FeatureEncoder` turns feature columns into a float matrix: numbers and booleans as they are
(missing stays NaN, which the boosted trees handle), text as one 0/1 column per value seen when
fitting (other values score as all zeros).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qianmian.dates import DateLike, to_date
from qianmian.errors import InputError
from qianmian.store import Store

MAX_LEVELS = 50
"""A text feature with more distinct values than this is refused (it would be an id, not a trait)."""
RFM_COLUMNS = ("recency_days", "frequency", "monetary")
STORE_FEATURES = (
    *(f"{b}_{w}d" for b in ("view", "fav", "cart", "buy") for w in (7, 30, 90, 365)),
    "recency_days", "frequency", "monetary", "tenure_days", "member", "aipl", "lifecycle", "customer",
)
"""Columns of the consumer feature table an experiment's model learns from."""


@dataclass(frozen=True)
class RCT:
    """One row per consumer: `ids`, raw `features`, `treatment` (1 treated, 0 control), `outcome`,
    and `rfm` (recency_days, frequency, monetary; NaN where unknown) for the RFM baseline."""

    ids: np.ndarray
    features: pd.DataFrame
    treatment: np.ndarray
    outcome: np.ndarray
    rfm: pd.DataFrame
    source: str
    left_out: int = 0
    arms: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class FeatureEncoder:
    """Numeric columns pass through; each text column becomes one 0/1 column per fitted value."""

    numeric: tuple[str, ...]
    levels: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def fit(cls, frame: pd.DataFrame) -> FeatureEncoder:
        numeric, levels = [], []
        for col in frame.columns:
            s = frame[col]
            if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
                numeric.append(col)
                continue
            values = sorted(s.dropna().astype(str).unique())
            if len(values) > MAX_LEVELS:
                raise InputError(f"feature {col}", f"numbers, or text with at most {MAX_LEVELS} distinct values", f"{len(values)} values")
            levels.append((col, tuple(values)))
        return cls(tuple(numeric), tuple(levels))

    @property
    def names(self) -> list[str]:
        return [*self.numeric, *(f"{col}={v}" for col, values in self.levels for v in values)]

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        missing = [c for c in (*self.numeric, *(c for c, _ in self.levels)) if c not in frame.columns]
        if missing:
            raise InputError("features", f"the columns the model was fitted on {self.names}", missing)
        # nullable columns (a boolean with <NA>) become floats with NaN, which the trees handle
        parts = [frame[list(self.numeric)].astype("Float64").to_numpy(dtype=float, na_value=np.nan)] if self.numeric else []
        for col, values in self.levels:
            text = frame[col].astype("string")
            parts.append(np.column_stack([(text == v).fillna(False).to_numpy(bool) for v in values]).astype(float))
        if not parts:
            raise InputError("features", "at least one feature column", [])
        return np.hstack(parts)


_BINARY = {"0": "1", "0.0": "1.0", "False": "True", "false": "true"}
"""Arm columns that need no `control`: the first value is control, the second treated."""


def _arms(values: pd.Series, treated: Sequence[str] | None, control: str | None) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(treatment 0/1, kept-row mask, arms description) from the arm column."""
    text = values.astype("string")
    seen = sorted(text.dropna().unique())
    if len(seen) < 2:  # a test needs a control arm and a treated arm to learn a difference from
        raise InputError(f"treatment column {values.name!r}", "a control arm and at least one treated arm",
                         f"only {seen[0]!r} in every row" if seen else "no values")
    if control is None:
        pair = next(((c, tr) for c, tr in _BINARY.items() if set(seen) <= {c, tr}), None)
        if pair is None:
            raise InputError("control", f"the control arm: one of {seen[:20]}", None)
        control, treated = pair[0], treated or [pair[1]]
    if control not in seen:
        raise InputError("control", f"one of the arms {seen[:20]}", control)
    chosen = list(treated) if treated else [v for v in seen if v != control]
    unknown = [v for v in chosen if v not in seen]
    if unknown or not chosen:
        raise InputError("treated", f"arms other than the control among {seen[:20]}", unknown or chosen)
    is_t = text.isin(chosen).fillna(False).to_numpy(bool)
    keep = is_t | (text == control).fillna(False).to_numpy(bool)
    return is_t[keep].astype(np.int8), keep, {"treated": chosen, "control": control}


def _outcome(values: pd.Series, column: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values):
        values = values.astype(int)
    if not pd.api.types.is_numeric_dtype(values):
        raise InputError(f"outcome {column}", "a numeric or 0/1 column", str(values.dtype))
    if values.isna().any():
        raise InputError(f"outcome {column}", "a value on every row", f"{int(values.isna().sum())} missing")
    return values.to_numpy(float)


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV (gzipped too) or Parquet file as a DataFrame, read by an in-memory DuckDB."""
    from qianmian.experiments.reports import read_results_file
    from qianmian.store import connect

    store = connect("duckdb://", migrate=False)
    try:
        return store.execute(read_results_file(store, path))
    finally:
        store.close()


def from_frame(
    frame: pd.DataFrame, *, treatment: str, outcome: str, treated: Sequence[str] | None = None,
    control: str | None = None, features: Sequence[str] | None = None, id_col: str | None = None,
    rfm: dict[str, str] | None = None, source: str = "frame",
) -> RCT:
    """Split a per-consumer frame into an `RCT` (see `from_file`)."""
    rfm = rfm or {}
    named = [treatment, outcome, *(features or []), *([id_col] if id_col else []), *rfm.values()]
    missing = [c for c in named if c not in frame.columns]
    if missing:
        raise InputError("columns", f"columns of the data {list(frame.columns)}", missing)
    unknown_rfm = sorted(set(rfm) - set(RFM_COLUMNS))
    if unknown_rfm:
        raise InputError("rfm", f"keys among {list(RFM_COLUMNS)}", unknown_rfm)
    if treatment == outcome:
        raise InputError("outcome", f"a column other than the treatment {treatment!r}", outcome)
    t, keep, arms = _arms(frame[treatment], treated, control)
    rows = frame[keep].reset_index(drop=True)
    cols = list(features) if features else [c for c in frame.columns if c not in (treatment, outcome, id_col)]
    if outcome in cols or treatment in cols:
        raise InputError("features", "columns other than the treatment and the outcome", cols)
    ids = rows[id_col].astype(str).to_numpy() if id_col else np.flatnonzero(keep).astype(str)
    if id_col and len(set(ids)) != len(ids):
        raise InputError(f"id column {id_col}", "one row per consumer (unique ids)", "repeated ids")
    baseline = pd.DataFrame({k: pd.to_numeric(rows[rfm[k]], errors="coerce") if k in rfm else np.nan for k in RFM_COLUMNS},
                            index=rows.index)
    return RCT(ids, rows[cols], t, _outcome(rows[outcome], outcome), baseline, source, int((~keep).sum()), arms)


def from_file(path: str | Path, **options: Any) -> RCT:
    """An `RCT` from a per-consumer file. Without `id_col`, a consumer's id is its 0-based row
    number in the file. `rfm` maps recency_days / frequency / monetary to columns of the file.

    >>> rct = from_file("../shared/data/hillstrom/hillstrom.csv", treatment="segment", outcome="visit",
    ...                 control="No E-Mail", treated=["Womens E-Mail"], features=["recency", "history"],
    ...                 rfm={"recency_days": "recency", "monetary": "history"})  # doctest: +SKIP
    """
    return from_frame(read_table(path), source=str(path), **options)


def from_experiment(
    store: Store, name: str, *, metric: str, as_of: DateLike, treated: Sequence[str] | None = None,
) -> RCT:
    """An `RCT` from a stored experiment: its control variant against `treated` (default: every other)."""
    from qianmian.experiments.metrics import exposed_units, resolve, unit_values
    from qianmian.experiments.registry import ExperimentRegistry

    experiment = ExperimentRegistry(store).get(name)
    (m,) = resolve([metric])
    if m.kind == "ratio":
        raise InputError("metric", "a per-consumer metric (proportion or mean), not a ratio", metric)
    units = exposed_units(store.table("exposures"), name, as_of=as_of, start=experiment.start, end=experiment.end)
    clean = units.filter(units.n_variants == 1)
    values = store.execute(unit_values(clean, store.table("events"), [m], as_of=as_of, window_days=experiment.window_days, pre_days=0)
                           .select("user_id", "variant", "first_ts", outcome=m.name))
    if values.empty:
        raise InputError("experiment", f"exposures of {name!r} up to {to_date(as_of)}", "none")
    values = values.sort_values("user_id", ignore_index=True)  # engines return rows in any order; the split must not care
    frame = values.merge(feature_frame(store, as_of=_day_before(values.first_ts.min())), on="user_id", how="left")
    return from_frame(
        frame, treatment="variant", outcome="outcome", treated=treated, control=experiment.control,
        features=list(STORE_FEATURES), id_col="user_id", rfm={c: c for c in RFM_COLUMNS}, source=f"experiment {name}",
    )


def feature_frame(store: Store, *, as_of: DateLike) -> pd.DataFrame:
    """`STORE_FEATURES` of every consumer as of `as_of` (also what a fitted model scores)."""
    from qianmian.features import FeatureSpec, consumer_features

    feats = consumer_features(store, as_of=as_of, spec=FeatureSpec(windows=(7, 30, 90, 365)), parts=("activity", "lifecycle", "aipl"))
    frame = store.execute(feats.select("user_id", *STORE_FEATURES)).sort_values("user_id", ignore_index=True)
    return frame.astype({"member": "boolean"})  # one type on every engine (DuckDB bool, Spark object)


def _day_before(ts: Any) -> dt.date:
    return to_date(pd.Timestamp(ts).date()) - dt.timedelta(days=1)
