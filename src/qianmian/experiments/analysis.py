"""The sample-ratio check for a per-unit results file (`qianmian experiment analyze`).

Units per variant are counted in the engine (one row per unit); the split is compared with the
expected weights (equal when none are given) by the χ² test of `stats.srm`:

>>> parse_weights("No E-Mail:1,Mens E-Mail:1,Womens E-Mail:1")
{'No E-Mail': 1.0, 'Mens E-Mail': 1.0, 'Womens E-Mail': 1.0}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import ibis.expr.types as ir

from qianmian.errors import InputError
from qianmian.experiments import stats as st
from qianmian.store import Store


def parse_weights(text: str) -> dict[str, float]:
    """`NAME:WEIGHT,NAME:WEIGHT…` (names may hold spaces; the weight follows the last ':')."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, weight = part.rpartition(":")
        try:
            value = float(weight)
        except ValueError:
            value = -1.0
        if not sep or not name.strip() or not 0 < value < math.inf:
            raise InputError("weights", "NAME:WEIGHT pairs with positive finite weights, e.g. control:8,test:2", text)
        if name.strip() in out:
            raise InputError("weights", "each variant named once", name.strip())
        out[name.strip()] = value
    if not out:
        raise InputError("weights", "NAME:WEIGHT pairs with positive weights, e.g. control:8,test:2", text)
    return out


def variant_units(store: Store, table: ir.Table, variant_col: str) -> dict[str, int]:
    """Rows (units) per value of `variant_col`, NULL variants left out."""
    if variant_col not in table.columns:
        raise InputError("variant-col", f"a column of the file {list(table.columns)}", variant_col)
    t = table.filter(table[variant_col].notnull())
    frame = store.execute(t.group_by(v=t[variant_col].cast("string")).aggregate(n=t.count()))
    return {str(v): int(n) for v, n in zip(frame.v, frame.n)}


def srm_check(units: Mapping[str, int], weights: Mapping[str, float] | None = None, *, threshold: float = 0.001) -> st.SRMResult:
    """χ² of the units per variant against `weights` (equal when None); variants in sorted order."""
    names = sorted(units)
    w = dict(weights) if weights is not None else {n: 1.0 for n in names}
    if set(w) != set(names):
        raise InputError("weights", f"one weight for each variant in the file: {names}", sorted(w))
    return st.srm([units[n] for n in names], [w[n] for n in names], threshold=threshold)


def file_units(path: str | Path, variant_col: str) -> dict[str, int]:
    """`variant_units` of a CSV or Parquet file, read by an in-memory DuckDB."""
    from qianmian.experiments.reports import read_results_file
    from qianmian.store import connect

    store = connect("duckdb://", migrate=False)
    try:
        return variant_units(store, read_results_file(store, path), variant_col)
    finally:
        store.close()
