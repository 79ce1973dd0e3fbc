"""GTA (GMV To AIPL): from a GMV goal back to the consumers needed at each stage.

Reference period R (last year's same window, the previous window, or any period): every consumer
is put in the stage held the day before R starts (A, I, P, L, or "new" when none), and what each
stage contributed during R is measured:

    pool_s    consumers in stage s at the start of R ("new": the buyers who had no stage)
    buyers_s  of those, consumers who bought during R
    gmv_s     their GMV during R (buys - returns); anonymous GMV is its own line, "anonymous"

    conversion_s = buyers_s / pool_s      value_s = gmv_s / buyers_s      share_s = gmv_s / Σ gmv

For a goal G, keeping the reference mix (or rates the user supplies as a benchmark):

    needed_gmv_s    = G · share_s
    needed_buyers_s = needed_gmv_s / value_s
    needed_s        = needed_buyers_s / conversion_s          ("new": needed_buyers_s)
    gap_s           = needed_s - current_s                    (current_s = stage count as of `as_of`)

Σ needed_gmv_s = G. A positive gap is how many more consumers the stage must hold.

With `repeat_days` the plan also shows what today's buyers are expected to bring on their own in
the next `repeat_days` days (BG/NBD + Gamma-Gamma fitted on the buys up to `as_of`, see
docs/clv.md): expected repeat purchases, expected repeat GMV = Σ E[purchases] × E[spend per
purchase], and the share of the goal it covers; the rest must come from new buyers and from moving
consumers up the stages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from qianmian.dates import DateLike, Period, as_of_label, check_days, to_date
from qianmian.errors import InputError
from qianmian.metrics.aipl import STAGES, AIPLRules, aipl_counts, aipl_stages
from qianmian.metrics.common import in_period, ratio, scoped, signed_amount
from qianmian.store import Store

GTA_STAGES = (*STAGES, "new", "anonymous")


def gta_reference(
    events: ir.Table,
    *,
    reference: Period,
    rules: AIPLRules = AIPLRules(),
    brand: str | None = None,
    category: str | None = None,
) -> ir.Table:
    """Per starting stage: `stage, pool, buyers, gmv` over the reference period."""
    start = aipl_stages(events, as_of=reference.start - dt.timedelta(days=1), rules=rules, brand=brand, category=category)
    ev = scoped(events, brand=brand, category=category)
    ev = ev.filter(ev.behavior.isin(["buy", "return"]), in_period(ev, reference))
    known = ev.filter(ev.user_id.notnull())
    per_user = known.group_by("user_id").aggregate(gmv=signed_amount(known).sum(), bought=(known.behavior == "buy").any())
    j = start.outer_join(per_user, start.user_id == per_user.user_id)
    j = j.select(stage=j.stage.fill_null("new"), gmv=j.gmv.fill_null(0.0), bought=j.bought.fill_null(False))
    by_stage = j.group_by("stage").aggregate(members=j.count(), buyers=j.bought.cast("int64").sum(), gmv=j.gmv.sum())
    by_stage = by_stage.mutate(pool=ibis.ifelse(by_stage.stage == "new", by_stage.buyers, by_stage.members))
    anon = ev.filter(ev.user_id.isnull())
    anon_row = anon.aggregate(gmv=signed_amount(anon).sum().fill_null(0.0)).select(
        stage=ibis.literal("anonymous"), pool=ibis.null().cast("int64"), buyers=ibis.null().cast("int64"), gmv="gmv"
    )
    return by_stage.select("stage", pool=by_stage.pool.cast("int64"), buyers=by_stage.buyers.cast("int64"), gmv="gmv").union(anon_row)


@dataclass(frozen=True)
class StageRate:
    """A stage's conversion (buyers ÷ pool), GMV per buyer, and share of GMV; None = unknown."""

    conversion: float | None
    value_per_buyer: float | None
    share: float


def reference_rates(frame: pd.DataFrame) -> dict[str, StageRate]:
    """Rates per stage from `gta_reference` output (every GTA stage present)."""
    rows = {r.stage: r for r in frame.itertuples(index=False)}  # at most 6 rows
    total = float(frame.gmv.sum())
    out = {}
    for s in GTA_STAGES:
        r = rows.get(s)
        gmv = float(r.gmv) if r is not None else 0.0
        pool = None if r is None or pd.isna(r.pool) else int(r.pool)
        buyers = None if r is None or pd.isna(r.buyers) else int(r.buyers)
        out[s] = StageRate(conversion=ratio(buyers, pool), value_per_buyer=ratio(gmv, buyers), share=ratio(gmv, total) or 0.0)
    return out


@dataclass(frozen=True)
class GTARow:
    stage: str
    share: float
    conversion: float | None
    value_per_buyer: float | None
    needed_gmv: float
    needed_buyers: float | None
    needed: float | None
    current: int | None
    gap: float | None


def plan(goal: float, rates: Mapping[str, StageRate], current: Mapping[str, int]) -> list[GTARow]:
    """The needed buyers and consumers per stage for `goal`, and the gap against `current`."""
    rows = []
    for s in GTA_STAGES:
        r = rates[s]
        needed_gmv = goal * r.share
        buyers = needed_gmv / r.value_per_buyer if r.value_per_buyer else (0.0 if needed_gmv == 0 else None)
        if s == "anonymous":
            needed, buyers = None, None
        elif s == "new":
            needed = buyers
        else:
            needed = buyers / r.conversion if buyers is not None and r.conversion else (0.0 if buyers == 0 else None)
        cur = current.get(s)
        gap = needed - cur if needed is not None and cur is not None else (needed if s == "new" else None)
        rows.append(GTARow(s, r.share, r.conversion, r.value_per_buyer, needed_gmv, buyers, needed, cur, gap))
    return rows


@dataclass(frozen=True)
class GTAReport:
    goal: float
    reference: str
    reference_gmv: float
    as_of: str
    rates_source: str
    rows: list[GTARow]
    expected_repeats: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def expected_repeats(store: Store, *, as_of: DateLike, days: int, goal: float) -> dict:
    """What the buyers up to `as_of` are expected to bring in the next `days` days (BG/NBD + Gamma-Gamma)."""
    from qianmian.clv.scores import fit_store, score_frame

    check_days(days, "repeat_days")
    model, summary = fit_store(store, calibration_end=to_date(as_of))
    scored = score_frame(model, summary, purchase_days=(days,), value_days=())
    purchases = scored[f"expected_purchases_{days}d"]
    gmv = float((purchases * scored.expected_spend).sum()) if model.gamma_gamma is not None else None
    return {"days": days, "buyers": len(scored), "expected_purchases": float(purchases.sum()), "expected_gmv": gmv,
            "share_of_goal": gmv / goal if gmv is not None and goal > 0 else None}


def gta_report(
    store: Store,
    *,
    reference: Period,
    as_of: DateLike,
    goal: float | None = None,
    goal_ratio: float | None = None,
    benchmark: Mapping[str, StageRate] | None = None,
    rules: AIPLRules = AIPLRules(),
    brand: str | None = None,
    category: str | None = None,
    repeat_days: int | None = None,
) -> GTAReport:
    """Plan for `goal` (or `goal_ratio` × the reference GMV); current stages counted as of `as_of`.

    `benchmark` replaces the reference rates of the stages it names (e.g. an industry benchmark);
    `repeat_days` adds the repeat purchases and GMV today's buyers are expected to bring (module docstring).
    """
    if (goal is None) == (goal_ratio is None):
        raise InputError("goal", "exactly one of goal or goal_ratio", {"goal": goal, "goal_ratio": goal_ratio})
    ev = store.table("events")
    frame = store.execute(gta_reference(ev, reference=reference, rules=rules, brand=brand, category=category))
    ref_gmv = float(frame.gmv.sum())
    if ref_gmv <= 0 and not benchmark:
        raise InputError("reference", "a period with GMV > 0 (buy events with amounts)", str(reference))
    rates = reference_rates(frame)
    if benchmark:
        unknown = sorted(set(benchmark) - set(GTA_STAGES))
        if unknown:
            raise InputError("benchmark", f"stages among {list(GTA_STAGES)}", unknown)
        rates = {**rates, **benchmark}
    target = goal if goal is not None else goal_ratio * ref_gmv
    counts = store.execute(aipl_counts(aipl_stages(ev, as_of=as_of, rules=rules, brand=brand, category=category)))
    current = {s: int(dict(zip(counts.stage, counts.consumers)).get(s, 0)) for s in STAGES}
    return GTAReport(
        goal=float(target), reference=str(reference), reference_gmv=ref_gmv, as_of=as_of_label(as_of),
        rates_source="reference+benchmark" if benchmark else "reference", rows=plan(float(target), rates, current),
        expected_repeats=None if repeat_days is None else expected_repeats(store, as_of=as_of, days=repeat_days, goal=float(target)),
    )

