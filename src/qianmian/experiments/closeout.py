"""Campaign close-out (结案): the campaign's experiment overall and broken down by segment.

Segments of an exposed unit (fixed at its first exposure, so they cannot be moved by the treatment):

- `customer`: "returning" when the unit bought anything before its first exposure, else "new";
- `audience`: the audience recorded on the exposure ("(none)" when empty);
- `creative`: the `creative_id` in the exposure's `page` JSON ("(none)" when absent).

Every segment is compared test vs control with the report's statistics. Segment p-values are
corrected with Benjamini–Hochberg across all segment comparisons (they are leads for the next
campaign, not proof); the overall result keeps the report's correction (Holm by default).
The statistics of every segment come from one aggregate, grouped by (dimension, segment, variant).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir

from qianmian.dates import end_of
from qianmian.errors import InputError, NotFoundError
from qianmian.experiments.assignment import Experiment
from qianmian.experiments.metrics import (
    Metric,
    exposed_units,
    resolve,
    sufficient_statistics,
    unit_values,
)
from qianmian.experiments.registry import ExperimentRegistry
from qianmian.experiments.reports import (
    ExperimentReport,
    VariantResult,
    _results,
    corrected,
    report_from_frame,
    sentence,
    summary_text,
)
from qianmian.store import Store

Dimension = Literal["customer", "audience", "creative"]
DIMENSIONS: tuple[Dimension, ...] = ("customer", "audience", "creative")
NONE = "(none)"


@dataclass(frozen=True)
class SegmentResult:
    dimension: str
    segment: str
    results: tuple[VariantResult, ...]


@dataclass(frozen=True)
class Closeout:
    campaign: str
    report: ExperimentReport
    segments: tuple[SegmentResult, ...]

    @property
    def summary(self) -> str:
        return closeout_summary(self)


def segmented_units(units: ir.Table, events: ir.Table, *, as_of: dt.date | dt.datetime) -> ir.Table:
    """`units` plus `customer`, `audience` and `creative` columns (strings, never NULL)."""
    buys = events.filter(events.behavior == "buy", events.user_id.notnull(), events.ts < ibis.literal(end_of(as_of)))
    u = units.select("user_id", "first_ts")
    j = buys.join(u, "user_id")
    prior = j.filter(j.ts < j.first_ts).select("user_id").distinct().mutate(_returning=ibis.literal(1))
    t = units.left_join(prior, "user_id").select(units, prior._returning)
    creative = t.page.re_extract(r'"creative_id"\s*:\s*"([^"]*)"', 1)
    return t.select(
        *units.columns,
        customer=ibis.ifelse(t._returning.notnull(), "returning", "new"),
        audience_segment=t.audience.fill_null(NONE),
        creative=ibis.ifelse(creative.isnull() | (creative == ""), NONE, creative),
    )


def segment_statistics(
    exposures: ir.Table, events: ir.Table, exp: Experiment, metrics: Sequence[Metric], *, as_of: dt.date | dt.datetime,
    dimensions: Sequence[Dimension], pre_days: float,
) -> ir.Table:
    """One aggregate: per (dimension, segment, variant) the metrics' sufficient statistics;
    dimension "all" is the whole experiment."""
    units = exposed_units(exposures, exp.name, as_of=as_of, start=exp.start, end=exp.end, segments=True)
    clean = segmented_units(units.filter(units.n_variants == 1), events, as_of=as_of)
    per_unit = unit_values(clean, events, metrics, as_of=as_of, window_days=exp.window_days, pre_days=pre_days)
    cols = {"customer": "customer", "audience": "audience_segment", "creative": "creative"}
    parts = [per_unit.mutate(dimension=ibis.literal("all"), segment=ibis.literal("all"))]
    parts += [per_unit.mutate(dimension=ibis.literal(d), segment=per_unit[cols[d]]) for d in dimensions]
    stats = [sufficient_statistics(p, metrics, by=("dimension", "segment", "variant")) for p in parts]
    dup = units.filter(units.n_variants > 1).count().as_scalar()
    return ibis.union(*stats).mutate(multiple_exposures=dup)


def closeout(
    store: Store,
    campaign: str,
    *,
    as_of: dt.date | dt.datetime,
    experiment: str | None = None,
    metrics: Sequence[str | Metric] | None = None,
    dimensions: Sequence[Dimension] = DIMENSIONS,
    alpha: float = 0.05,
    cuped: bool = True,
    srm_threshold: float = 0.001,
) -> Closeout:
    """Close out `campaign`: its experiment's report plus results per customer type, audience, creative."""
    exp = _campaign_experiment(ExperimentRegistry(store), campaign, experiment)
    bad = [d for d in dimensions if d not in DIMENSIONS]
    if bad:
        raise InputError("dimensions", f"some of {list(DIMENSIONS)}", bad)
    ms = resolve(metrics if metrics is not None else exp.metrics)
    expr = segment_statistics(store.table("exposures"), store.table("events"), exp, ms, as_of=as_of,
                              dimensions=dimensions, pre_days=exp.pre_days if cuped else 0.0)
    frame = store.execute(expr)
    overall = frame[frame.dimension == "all"]
    report = report_from_frame(exp, overall, ms, as_of=as_of, alpha=alpha, cuped=cuped, srm_threshold=srm_threshold)
    segs = _segments(frame[frame.dimension != "all"], exp, ms, alpha=alpha, cuped=cuped)
    return Closeout(campaign, report, segs)


def _campaign_experiment(reg: ExperimentRegistry, campaign: str, experiment: str | None) -> Experiment:
    found = reg.by_campaign(campaign)
    if experiment is not None:
        found = [e for e in found if e.name == experiment]
    if not found:
        raise NotFoundError("experiment for campaign", campaign)
    if len(found) > 1:
        raise InputError("experiment", f"one of {[e.name for e in found]} (campaign {campaign!r} has several)", None)
    return found[0]


def _segments(frame, exp: Experiment, metrics: Sequence[Metric], *, alpha: float, cuped: bool) -> tuple[SegmentResult, ...]:
    groups = []
    for (dim, seg), g in frame.groupby(["dimension", "segment"], sort=True):
        rows = {str(r["variant"]): r for r in g.to_dict("records")}
        if exp.control not in rows or len(rows) < 2:
            continue  # a segment without both arms has nothing to compare
        present = {v: rows[v] for v in exp.variant_names if v in rows}
        groups.append((str(dim), str(seg), _results(present, metrics, exp.control, alpha=alpha, cuped=cuped, sequential=False, tuning_n=5000)))
    flat = [r for _, _, res in groups for r in res]
    adjusted = iter(corrected(flat, "bh"))
    return tuple(SegmentResult(d, s, tuple(next(adjusted) for _ in res)) for d, s, res in groups)


def closeout_summary(c: Closeout) -> str:
    """The report's summary, then one sentence per segment on the primary (first) metric."""
    parts = [f"Close-out of campaign {c.campaign}.", summary_text(c.report)]
    primary = c.report.results[0].metric if c.report.results else None
    lines = []
    for s in c.segments:
        for r in s.results:
            if r.metric == primary and r.comparison is not None:
                lines.append(f"[{s.dimension} = {s.segment}, {r.n:,} {r.variant}] {sentence(r, c.report.control)}")
    if lines:
        parts.append("By segment (Benjamini-Hochberg corrected; leads, not proof): " + " ".join(lines))
    return " ".join(parts)


def lift_rows(c: Closeout, metric: str | None = None) -> list[dict[str, object]]:
    """Rows for a chart of relative lifts with intervals: overall, then every segment."""
    metric = metric or (c.report.results[0].metric if c.report.results else None)
    rows = []
    for label, results in [("all", c.report.results), *[(f"{s.dimension}: {s.segment}", s.results) for s in c.segments]]:
        for r in results:
            if r.metric == metric and r.comparison is not None and r.comparison.error is None:
                p = r.p_adjusted if r.p_adjusted == r.p_adjusted else r.comparison.p_value
                rows.append({"label": f"{label} ({r.variant})", "lift_rel": r.comparison.lift_rel,
                             "ci_low": r.comparison.ci_rel[0], "ci_high": r.comparison.ci_rel[1],
                             "significant": p < r.comparison.alpha, "higher_is_better": r.higher_is_better})
    return rows


def closeout_dict(c: Closeout) -> dict[str, object]:
    from qianmian.experiments.reports import report_dict, result_rows

    return {
        "campaign": c.campaign, "report": report_dict(c.report),
        "segments": [{"dimension": s.dimension, "segment": s.segment, "results": result_rows(s.results)} for s in c.segments],
        "summary": c.summary,
    }
