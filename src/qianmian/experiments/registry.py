"""Experiment definitions, kept in the domain-owned `experiments` table of the store.

>>> from qianmian.store import connect
>>> reg = ExperimentRegistry(connect("duckdb://"))
>>> _ = reg.create(Experiment("hero", (Variant("test", 2), Variant("control", 8))))
>>> reg.get("hero").control
'control'
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import ibis
import ibis.expr.datatypes as dtypes
import pandas as pd

from qianmian.errors import ConflictError, NotFoundError
from qianmian.experiments.assignment import Experiment, Variant, overlapping
from qianmian.store import Store

TABLE = "experiments"
_S = dtypes.String(nullable=True)
_F = dtypes.Float64(nullable=True)
_TS = dtypes.Timestamp(nullable=True)

EXPERIMENTS = ibis.schema(
    {
        "name": dtypes.String(nullable=False),
        "salt": _S,
        "variants": _S,  # JSON list of [name, weight]
        "control": _S,
        "layer": _S,
        "layer_start": _F,
        "layer_end": _F,
        "holdout": _F,
        "audience": _S,
        "campaign": _S,
        "metrics": _S,  # JSON list of metric names
        "start_ts": _TS,
        "end_ts": _TS,
        "window_days": _F,
        "pre_days": _F,
    }
)


def to_row(e: Experiment) -> dict[str, Any]:
    """The table row of one definition."""
    return {
        "name": e.name, "salt": e.salt, "variants": json.dumps([[v.name, v.weight] for v in e.variants], ensure_ascii=False),
        "control": e.control, "layer": e.layer, "layer_start": e.layer_range[0], "layer_end": e.layer_range[1],
        "holdout": e.holdout, "audience": e.audience, "campaign": e.campaign,
        "metrics": json.dumps(list(e.metrics)), "start_ts": e.start, "end_ts": e.end,
        "window_days": e.window_days, "pre_days": e.pre_days,
    }


def from_row(r: dict[str, Any]) -> Experiment:
    """The definition stored in one table row."""
    return Experiment(
        name=r["name"], variants=tuple(Variant(n, float(w)) for n, w in json.loads(r["variants"])),
        salt=r["salt"], control=r["control"], layer=_opt(r["layer"]),
        layer_range=(float(r["layer_start"]), float(r["layer_end"])), holdout=float(r["holdout"] or 0.0),
        audience=_opt(r["audience"]), campaign=_opt(r["campaign"]), metrics=tuple(json.loads(r["metrics"])),
        start=_ts(r["start_ts"]), end=_ts(r["end_ts"]), window_days=float(r["window_days"]), pre_days=float(r["pre_days"]),
    )


def _opt(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _ts(v: Any) -> dt.datetime | None:
    return None if v is None or pd.isna(v) else pd.Timestamp(v).to_pydatetime()


class ExperimentRegistry:
    """Create, list and read experiment definitions; layers are checked for overlap on create."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.table = store.ensure_table(TABLE, EXPERIMENTS)

    def list(self) -> list[Experiment]:
        df = self.store.execute(self.store.table(TABLE).order_by("name"))
        return [from_row(r) for r in df.to_dict("records")]

    def get(self, name: str) -> Experiment:
        t = self.store.table(TABLE)
        df = self.store.execute(t.filter(t.name == name))
        if df.empty:
            raise NotFoundError("experiment", name)
        return from_row(df.to_dict("records")[0])

    def by_campaign(self, campaign: str) -> list[Experiment]:
        t = self.store.table(TABLE)
        df = self.store.execute(t.filter(t.campaign == campaign).order_by("name"))
        return [from_row(r) for r in df.to_dict("records")]

    def create(self, experiment: Experiment) -> Experiment:
        """Store a new definition (`ConflictError` if the name is taken or a layer range overlaps)."""
        existing = self.list()
        if any(e.name == experiment.name for e in existing):
            raise ConflictError(f"experiment {experiment.name!r} already exists")
        clash = [e.name for e in existing if overlapping(e, experiment)]
        if clash:
            raise ConflictError(
                f"experiment {experiment.name!r}: layer {experiment.layer!r} range {experiment.layer_range} overlaps {clash}"
            )
        _check_metrics(experiment.metrics)
        self.store.append(TABLE, pd.DataFrame([to_row(experiment)]), dedupe=False)
        return experiment


def _check_metrics(names: tuple[str, ...]) -> None:
    """Every metric name must parse (a built-in or a behaviour filter); raises `InputError`."""
    from qianmian.experiments.metrics import resolve

    resolve(names)
