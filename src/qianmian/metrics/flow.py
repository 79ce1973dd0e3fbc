"""AIPL flow: how consumers moved between stages from one date to another.

    consumers(s → t) = |{u : stage(u, start) = s and stage(u, end) = t}|
    rate(s → t)      = consumers(s → t) / |{u : stage(u, start) = s}|

"none" stands for holding no stage: `s → none` is churn, `none → t` is a newcomer.
Up-moves (A→I, I→P, P→L, and any higher jump) deepen the relationship; down-moves lose depth.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import ibis.expr.types as ir

from qianmian.dates import DateLike, as_of_label, end_of
from qianmian.errors import InputError
from qianmian.metrics import daily
from qianmian.metrics.aipl import STAGES, AIPLRules, stage_table
from qianmian.metrics.common import ratio
from qianmian.store import Store

NONE = "none"
ORDER = {NONE: 0, **{s: i + 1 for i, s in enumerate(STAGES)}}
ALL = (NONE, *STAGES)


def aipl_transitions(
    events: ir.Table,
    *,
    start: DateLike,
    end: DateLike,
    rules: AIPLRules = AIPLRules(),
    brand: str | None = None,
    category: str | None = None,
    rollup: ir.Table | None = None,
) -> ir.Table:
    """Per consumer: `user_id, from_stage, to_stage` ("none" when no stage held on that date).

    Both dates' stages come from one pass over the events (`stage_table`), or over `rollup`, the
    current daily rollup, when it can answer (`qianmian.metrics.daily`).
    """
    if end_of(start) >= end_of(end):
        raise InputError("start", f"a date before end ({as_of_label(end)})", as_of_label(start))
    ends = [end_of(start), end_of(end)]
    t = stage_table(events, ends=ends, rules=rules, brand=brand, category=category, rollup=rollup)
    t = t.filter(t.stage_0.notnull() | t.stage_1.notnull())
    return t.select("user_id", from_stage=t.stage_0.fill_null(NONE), to_stage=t.stage_1.fill_null(NONE))


def aipl_flow(
    events: ir.Table,
    *,
    start: DateLike,
    end: DateLike,
    rules: AIPLRules = AIPLRules(),
    brand: str | None = None,
    category: str | None = None,
    rollup: ir.Table | None = None,
) -> ir.Table:
    """The transition matrix as rows `from_stage, to_stage, consumers`."""
    t = aipl_transitions(events, start=start, end=end, rules=rules, brand=brand, category=category, rollup=rollup)
    return t.group_by(["from_stage", "to_stage"]).aggregate(consumers=t.count())


@dataclass(frozen=True)
class FlowReport:
    """Counts and row rates of the (none, A, I, P, L) × (none, A, I, P, L) matrix, and summaries."""

    start: str
    end: str
    counts: dict[str, dict[str, int]]
    rates: dict[str, dict[str, float | None]]
    up: int
    down: int
    stayed: int
    churned: int
    new: int

    def to_dict(self) -> dict:
        return asdict(self)

    def links(self) -> list[dict]:
        """Non-zero cells as `{from, to, consumers, rate}` rows (Sankey and tables)."""
        return [
            {"from": a, "to": b, "consumers": n, "rate": self.rates[a][b]}
            for a, row in self.counts.items() for b, n in row.items() if n
        ]


def flow_report(
    store: Store,
    *,
    start: DateLike,
    end: DateLike,
    rules: AIPLRules = AIPLRules(),
    brand: str | None = None,
    category: str | None = None,
) -> FlowReport:
    """Execute `aipl_flow` (over the daily rollup when it can answer) and summarise it."""
    events = store.table("events")
    rollup = daily.rollup_if(store, daily.usable(ends=[end_of(start), end_of(end)], category=category), events)
    flow = aipl_flow(events, start=start, end=end, rules=rules, brand=brand, category=category, rollup=rollup)
    frame = store.execute(flow)
    counts = {a: {b: 0 for b in ALL} for a in ALL}
    for a, b, n in frame[["from_stage", "to_stage", "consumers"]].itertuples(index=False):
        counts[a][b] = int(n)  # at most 25 cells
    rates = {a: {b: ratio(n, sum(row.values())) for b, n in row.items()} for a, row in counts.items()}
    cells = [(ORDER[a], ORDER[b], n) for a, row in counts.items() for b, n in row.items()]
    return FlowReport(
        start=as_of_label(start), end=as_of_label(end), counts=counts, rates=rates,
        up=sum(n for a, b, n in cells if 0 < a < b), down=sum(n for a, b, n in cells if a > b > 0),
        stayed=sum(n for a, b, n in cells if a == b > 0), churned=sum(n for a, b, n in cells if a > 0 and b == 0),
        new=sum(n for a, b, n in cells if a == 0 and b > 0),
    )
