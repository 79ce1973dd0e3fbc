"""RFM: recency, frequency and monetary scores and named cells, computed in the engine.

Inputs per consumer come from `lifecycle_states` (recency_days, frequency = orders, monetary = GMV).
Each score runs from 1 to `bins` by percent rank, ties sharing the lowest score of their tie:

    score(x) = 1 + min(bins - 1, floor(percent_rank(x) · bins)),
    percent_rank = (rank - 1) / (n - 1)  (0 when n = 1)

R ranks by recency descending (the most recent get the highest R); F and M ascending.

Cells:
- "eight" — the eight classic cells from R, F, M each high (score > the mean score) or low:
  important_value (H H H), important_development (H L H), important_retention (L H H),
  important_winback (L L H), general_value (H H L), general_development (H L L),
  general_retention (L H L), general_winback (L L L)        (重要价值/发展/保持/挽留, 一般…)
- "grid" — the R × F map with `bins = 5`: champions, loyal_customers, potential_loyalists,
  new_customers, promising, need_attention, about_to_sleep, at_risk, cant_lose, hibernating.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir

from qianmian.dates import DateLike, as_of_label
from qianmian.errors import InputError
from qianmian.metrics.lifecycle import LifecycleRules, lifecycle_states
from qianmian.store import Store
from qianmian.store.rows import records

Cells = Literal["eight", "grid"]

EIGHT = {
    (True, True, True): "important_value", (True, False, True): "important_development",
    (False, True, True): "important_retention", (False, False, True): "important_winback",
    (True, True, False): "general_value", (True, False, False): "general_development",
    (False, True, False): "general_retention", (False, False, False): "general_winback",
}

# (cell, R scores, F scores) on the 5 × 5 grid; the first match wins.
GRID = (
    ("champions", (5,), (4, 5)),
    ("loyal_customers", (3, 4, 5), (4, 5)),
    ("potential_loyalists", (4, 5), (2, 3)),
    ("new_customers", (5,), (1,)),
    ("promising", (4,), (1,)),
    ("need_attention", (3,), (3,)),
    ("about_to_sleep", (3,), (1, 2)),
    ("cant_lose", (1, 2), (5,)),
    ("at_risk", (1, 2), (3, 4)),
    ("hibernating", (1, 2), (1, 2)),
)


def _score(col: ir.NumericValue, bins: int, descending: bool = False) -> ir.IntegerValue:
    pr = ibis.percent_rank().over(order_by=col.desc() if descending else col)
    return (1 + ibis.least((pr * bins).floor(), bins - 1)).cast("int64")


def rfm_scores(
    states: ir.Table, *, bins: int = 5, cells: Cells = "eight"
) -> ir.Table:
    """`states` (from `lifecycle_states`) plus `r, f, m` scores and `cell`."""
    if not isinstance(bins, int) or bins < 2:
        raise InputError("bins", "a whole number >= 2", bins)
    if cells not in ("eight", "grid"):
        raise InputError("cells", "'eight' or 'grid'", cells)
    if cells == "grid" and bins != 5:
        raise InputError("bins", "5 for the 'grid' cells", bins)
    t = states.mutate(
        r=_score(states.recency_days, bins, descending=True), f=_score(states.frequency, bins),
        m=_score(states.monetary, bins),
    )
    return t.mutate(cell=_eight(t) if cells == "eight" else _grid(t))


def _eight(t: ir.Table) -> ir.StringValue:
    hi = {k: t[k] > t[k].mean().over(ibis.window()) for k in ("r", "f", "m")}
    return ibis.cases(*[((hi["r"] == r) & (hi["f"] == f) & (hi["m"] == m), name) for (r, f, m), name in EIGHT.items()])


def _grid(t: ir.Table) -> ir.StringValue:
    return ibis.cases(*[(t.r.isin(list(rs)) & t.f.isin(list(fs)), name) for name, rs, fs in GRID], else_="other")


def rfm_summary(scored: ir.Table) -> ir.Table:
    """Per cell: consumers, mean recency, frequency and monetary."""
    return scored.group_by("cell").aggregate(
        consumers=scored.count(), recency_days=scored.recency_days.mean(),
        frequency=scored.frequency.mean(), monetary=scored.monetary.mean(), gmv=scored.monetary.sum(),
    )


@dataclass(frozen=True)
class RFMReport:
    as_of: str
    cells_kind: str
    bins: int
    cells: list[dict]
    total: int

    def to_dict(self) -> dict:
        return asdict(self)


def store_rfm_scores(
    store: Store,
    *,
    as_of: DateLike,
    bins: int = 5,
    cells: Cells = "eight",
    rules: LifecycleRules = LifecycleRules(),
    brand: str | None = None,
    category: str | None = None,
) -> ir.Table:
    """`rfm_scores` of every consumer of the store's events as of `as_of` (one row each)."""
    states = lifecycle_states(store.table("events"), as_of=as_of, rules=rules, brand=brand, category=category)
    return rfm_scores(states, bins=bins, cells=cells)


def rfm_report(
    store: Store,
    *,
    as_of: DateLike,
    bins: int = 5,
    cells: Cells = "eight",
    rules: LifecycleRules = LifecycleRules(),
    brand: str | None = None,
    category: str | None = None,
) -> RFMReport:
    """Execute `rfm_summary(rfm_scores(lifecycle_states(...)))`, largest cells first."""
    scores = store_rfm_scores(store, as_of=as_of, bins=bins, cells=cells, rules=rules, brand=brand, category=category)
    frame = store.execute(rfm_summary(scores))
    frame = frame.sort_values(["consumers", "cell"], ascending=[False, True])
    return RFMReport(as_of=as_of_label(as_of), cells_kind=cells, bins=bins, cells=records(frame), total=int(frame.consumers.sum()))
