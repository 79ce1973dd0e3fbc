"""Experiment metrics per variant, computed by the store as sufficient statistics.

The unit of analysis is the exposed shopper. A unit's **first exposure** to the experiment starts
its attribution window `[first, first + window)`; its events in that window (capped at `as_of`)
are its outcome, and the same measure over `[first − pre, first)` is its pre-period covariate
(CUPED). Units seen in more than one variant are excluded and counted (`multiple_exposures`).

Events are grouped into sessions by `session_id` (an event without one falls in a per-day session).
Built-in metrics (the seeds' A/B read-outs; names, labels and formulas are terms of
`qianmian.metrics.glossary`, shared with the funnel):

| metric | kind | definition per variant |
| --- | --- | --- |
| purchase_conversion | proportion | units with a `buy` / exposed units |
| click_through | proportion | units with a `click` (the interactive module) / exposed units |
| browse_conversion | ratio | units with a `view` and a `buy` / units with a `view` |
| visitor_conversion | ratio | units with a `buy` / units with any non-`expose` event (visitors) |
| bounce_rate | ratio | sessions whose only event is one `view` / sessions with a `view` (lower is better) |
| average_order_value | ratio | Σ buy amount / Σ orders (distinct order ids per session) |
| gmv_per_visitor | mean | Σ (buy − return amount) / exposed units |
| revenue_capped | mean | GMV per unit capped at its pooled 99th percentile |

Any other metric is a `Metric` over a `Measure` (a behaviour filter, optionally on the
`properties` {"module": …} of the event), e.g. `parse_metric("exists:click@coupon-banner")`.

The single aggregate `variant_statistics` returns per variant: `n` and, per metric, `sum`,
`sum_squares` and (ratio) denominator sums and cross sums, (CUPED) pre-period sums and cross sums.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir

from qianmian.dates import end_of
from qianmian.errors import InputError
from qianmian.experiments.assignment import bucket
from qianmian.metrics.glossary import label as term_label
from qianmian.store.schema import BEHAVIORS

Value = Literal["exists", "count", "amount", "revenue", "orders", "sessions", "bounced_sessions"]
Kind = Literal["proportion", "mean", "ratio"]
VISIT = tuple(b for b in BEHAVIORS if b != "expose")


@dataclass(frozen=True)
class Measure:
    """A per-unit quantity from the unit's events: `value` over events with one of `behaviors`
    (empty = every behaviour but `expose`) and, if `module` is set, `properties` {"module": module}."""

    value: Value
    behaviors: tuple[str, ...] = ()
    module: str | None = None


@dataclass(frozen=True)
class Metric:
    """A metric: `proportion`/`mean` of the numerator per unit, or a `ratio` Σnumerator/Σdenominator.

    `among_denominator`: the numerator counts only units whose denominator is positive (buyers
    among viewers). `cap_percentile`: per-unit values above this pooled percentile are capped.
    """

    name: str
    kind: Kind
    numerator: Measure
    denominator: Measure | None = None
    among_denominator: bool = False
    cap_percentile: float | None = None
    higher_is_better: bool = True
    label: str = ""

    def __post_init__(self) -> None:
        if (self.kind == "ratio") != (self.denominator is not None):
            raise InputError(f"metric {self.name} denominator", "a denominator exactly when kind is 'ratio'", self.denominator)
        if self.cap_percentile is not None and not (0 < self.cap_percentile < 1 and self.kind == "mean"):
            raise InputError(f"metric {self.name} cap_percentile", "a fraction in (0, 1) on a mean metric", self.cap_percentile)
        for b in self.numerator.behaviors + (self.denominator.behaviors if self.denominator else ()):
            if b not in BEHAVIORS:
                raise InputError(f"metric {self.name} behaviour", f"one of {list(BEHAVIORS)}", b)


BUY = ("buy",)
BUILTIN: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("purchase_conversion", "proportion", Measure("exists", BUY), label=term_label("purchase_conversion")),
        Metric("click_through", "proportion", Measure("exists", ("click",)), label=term_label("click_through")),
        Metric("browse_conversion", "ratio", Measure("exists", BUY), Measure("exists", ("view",)), among_denominator=True, label=term_label("browse_conversion")),
        Metric("visitor_conversion", "ratio", Measure("exists", BUY), Measure("exists", VISIT), label=term_label("visitor_conversion")),
        Metric("bounce_rate", "ratio", Measure("bounced_sessions"), Measure("sessions"), higher_is_better=False, label=term_label("bounce_rate")),
        Metric("average_order_value", "ratio", Measure("amount", BUY), Measure("orders"), label=term_label("average_order_value")),
        Metric("gmv_per_visitor", "mean", Measure("revenue"), label=term_label("gmv_per_visitor")),
        Metric("revenue_capped", "mean", Measure("revenue"), cap_percentile=0.99, label=term_label("revenue_capped")),
    )
}


def parse_metric(spec: str) -> Metric:
    """A built-in name, or `VALUE:BEHAVIOUR[+BEHAVIOUR…][@MODULE]` with VALUE exists (a proportion),
    count or amount (means): `exists:click@coupon-banner`, `count:cart`, `amount:buy`."""
    if spec in BUILTIN:
        return BUILTIN[spec]
    value, sep, rest = spec.partition(":")
    if not sep or value not in ("exists", "count", "amount"):
        raise InputError("metric", f"one of {sorted(BUILTIN)} or exists|count|amount:BEHAVIOUR[@MODULE]", spec)
    behaviours, _, module = rest.partition("@")
    kind: Kind = "proportion" if value == "exists" else "mean"
    return Metric(spec, kind, Measure(value, tuple(behaviours.split("+")), module or None), label=spec)  # type: ignore[arg-type]


def resolve(metrics: Sequence[str | Metric]) -> tuple[Metric, ...]:
    out = tuple(m if isinstance(m, Metric) else parse_metric(m) for m in metrics)
    if not out:
        raise InputError("metrics", "at least one metric", list(metrics))
    if len({m.name for m in out}) != len(out):
        raise InputError("metrics", "distinct metric names", [m.name for m in out])
    return out


# -- units ---------------------------------------------------------------------------------------
def exposed_units(
    exposures: ir.Table,
    experiment: str,
    *,
    as_of: dt.date | dt.datetime,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    segments: bool = False,
) -> ir.Table:
    """One row per exposed unit: `user_id, variant, n_variants, first_ts` and, with `segments`,
    the `audience` and `page` of its first exposure."""
    cutoff = end_of(as_of)
    e = exposures.filter(exposures.experiment == experiment, exposures.ts < ibis.literal(cutoff))
    if start is not None:
        e = e.filter(e.ts >= ibis.literal(start))
    if end is not None:
        e = e.filter(e.ts < ibis.literal(end))
    aggs = {"variant": e.variant.min(), "n_variants": e.variant.nunique(), "first_ts": e.ts.min()}
    if segments:  # ordered aggregates cost time: only the close-out asks for them
        aggs |= {"audience": e.audience.argmin(e.ts), "page": e.page.argmin(e.ts)}
    return e.group_by("user_id").aggregate(**aggs)


# -- per-unit measures ----------------------------------------------------------------------------
def _matches(ev: ir.Table, m: Measure) -> ir.BooleanValue:
    cond = ev.behavior.isin(list(m.behaviors or VISIT))
    if m.module is not None:
        # properties is JSON text; match the "module" key without building SQL from input
        got = ev.properties.re_extract(r'"module"\s*:\s*"([^"]*)"', 1)
        cond = cond & (got == m.module)
    return cond


def _session_expr(ev: ir.Table, m: Measure, period: ir.BooleanValue) -> ir.NumericValue:
    """The measure's value within one session (summed over sessions later)."""
    zero = ibis.literal(0.0)
    if m.value in ("exists", "count"):
        return (period & _matches(ev, m)).cast("float64").sum()
    if m.value == "amount":
        return ibis.ifelse(period & _matches(ev, m), ev.amount.fill_null(0.0), zero).sum()
    if m.value == "revenue":
        amount = ev.amount.fill_null(0.0)
        signed = ibis.cases((ev.behavior == "buy", amount), (ev.behavior == "return", -amount), else_=zero)
        return ibis.ifelse(period, signed, zero).sum()
    if m.value == "orders":
        order = ev.order_id.fill_null(ev.event_id)
        return ibis.ifelse(period & (ev.behavior == "buy"), order, ibis.null("string")).nunique().cast("float64")
    views = (period & (ev.behavior == "view")).cast("float64").sum()
    if m.value == "sessions":
        return (views > 0).cast("float64")
    visits = (period & ev.behavior.isin(list(VISIT))).cast("float64").sum()
    return ((views == 1) & (visits == 1)).cast("float64")


def _measures(metrics: Sequence[Metric]) -> tuple[dict[str, Measure], set[str]]:
    """Every distinct measure the metrics need, keyed by a column-safe name, and the keys that
    also need their pre-period value (numerators of mean and proportion metrics)."""
    out: dict[str, Measure] = {}
    pre: set[str] = set()
    for m in metrics:
        for meas in (m.numerator, m.denominator):
            if meas is not None:
                out.setdefault(_key(meas), meas)
        if m.kind != "ratio":
            pre.add(_key(m.numerator))
    return out, pre


def _key(m: Measure) -> str:
    mod = f"_m{int(bucket('module', m.module) * 1e12)}" if m.module else ""
    names = "visit" if m.behaviors in ((), VISIT) else "_".join(m.behaviors)
    return f"{m.value}__{names}{mod}"


def unit_values(
    units: ir.Table, events: ir.Table, metrics: Sequence[Metric], *, as_of: dt.date | dt.datetime, window_days: float, pre_days: float
) -> ir.Table:
    """`units` with, per metric, its per-unit value `<metric>` and (ratio) `<metric>__den`,
    (mean/proportion) `<metric>__pre` over the pre-period. Units without events get zeros."""
    meas, with_pre = _measures(metrics)
    window, pre = ibis.interval(seconds=int(window_days * 86400)), ibis.interval(seconds=int(pre_days * 86400))
    u = units.select("user_id", "first_ts")
    ev = events.filter(events.user_id.notnull(), events.ts < ibis.literal(end_of(as_of)))
    j = ev.join(u, "user_id").filter(lambda t: (t.ts >= t.first_ts - pre) & (t.ts < t.first_ts + window))
    j = j.mutate(_post=j.ts >= j.first_ts, _session=j.session_id.fill_null(j.ts.date().cast("string")))
    aggs = {}
    for k, m in meas.items():
        aggs[k] = _session_expr(j, m, j._post)
        if k in with_pre and pre_days > 0:
            aggs[k + "__pre"] = _session_expr(j, m, ~j._post)
    per_session = j.group_by(["user_id", "_session"]).aggregate(**aggs)
    per_unit = per_session.group_by("user_id").aggregate(**{c: per_session[c].sum() for c in aggs})
    joined = units.left_join(per_unit, "user_id").select(units, *[per_unit[c].fill_null(0.0).name(c) for c in aggs])
    return joined.select(*units.columns, *_metric_columns(joined, metrics))


def _metric_columns(t: ir.Table, metrics: Sequence[Metric]) -> list[ir.Value]:
    cols: list[ir.Value] = []
    for m in metrics:
        num = _value(t, m.numerator, "")
        if m.kind == "ratio":
            den = _value(t, m.denominator, "")  # type: ignore[arg-type]
            num = ibis.ifelse(den > 0, num, 0.0) if m.among_denominator else num
            cols += [num.name(m.name), den.name(m.name + "__den")]
            continue
        pre = _value(t, m.numerator, "__pre")
        if m.cap_percentile is not None:
            num = ibis.least(num, num.quantile(m.cap_percentile).as_scalar())
            if isinstance(pre, ir.Column):  # a literal 0 when no pre-period was asked for
                pre = ibis.least(pre, pre.quantile(m.cap_percentile).as_scalar())
        cols += [num.name(m.name), pre.name(m.name + "__pre")]
    return cols


def _value(t: ir.Table, m: Measure, suffix: str) -> ir.NumericValue:
    if _key(m) + suffix not in t.columns:  # no pre-period asked for
        return ibis.literal(0.0)
    col = t[_key(m) + suffix]
    return (col > 0).cast("float64") if m.value == "exists" else col


# -- sufficient statistics -------------------------------------------------------------------------
def sufficient_statistics(per_unit: ir.Table, metrics: Sequence[Metric], *, by: Sequence[str] = ("variant",)) -> ir.Table:
    """One row per `by` group: `n` and, per metric, `<m>__sum`, `<m>__ss` and (ratio) `<m>__dsum`,
    `<m>__dss`, `<m>__xy` or (mean/proportion) `<m>__psum`, `<m>__pss`, `<m>__xp`."""
    t = per_unit
    aggs = {"n": t.count()}
    for m in metrics:
        x = t[m.name]
        aggs[m.name + "__sum"], aggs[m.name + "__ss"] = x.sum(), (x * x).sum()
        other = t[m.name + ("__den" if m.kind == "ratio" else "__pre")]
        tag = ("d", "xy") if m.kind == "ratio" else ("p", "xp")
        aggs[f"{m.name}__{tag[0]}sum"], aggs[f"{m.name}__{tag[0]}ss"] = other.sum(), (other * other).sum()
        aggs[f"{m.name}__{tag[1]}"] = (x * other).sum()
    return t.group_by(list(by)).aggregate(**aggs)


def variant_statistics(
    exposures: ir.Table,
    events: ir.Table,
    experiment: str,
    metrics: Sequence[Metric],
    *,
    as_of: dt.date | dt.datetime,
    window_days: float,
    pre_days: float,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> ir.Table:
    """The one aggregate a report needs: per variant, `n` and every metric's sufficient statistics,
    plus `multiple_exposures` (units seen in several variants, excluded from `n`)."""
    units = exposed_units(exposures, experiment, as_of=as_of, start=start, end=end)
    clean = units.filter(units.n_variants == 1)
    stats = sufficient_statistics(unit_values(clean, events, metrics, as_of=as_of, window_days=window_days, pre_days=pre_days), metrics)
    dup = units.filter(units.n_variants > 1).count().as_scalar()
    return stats.mutate(multiple_exposures=dup)


def column_statistics(table: ir.Table, variant_col: str, columns: Sequence[str], *, covariate: str | None = None) -> ir.Table:
    """Per-unit results an analyst already has: per variant and column `<col>__n`, `<col>__sum`,
    `<col>__ss`; with a pre-period `covariate` column also `<col>__psum`, `<col>__pss`, `<col>__xp`
    (over the rows where both are present)."""
    missing = [c for c in (variant_col, *columns, *([covariate] if covariate else [])) if c not in table.columns]
    if missing:
        raise InputError("columns", f"columns of the file {list(table.columns)}", missing)
    aggs: dict[str, ir.Value] = {}
    for c in columns:
        if not table[c].type().is_numeric() and not table[c].type().is_boolean():
            raise InputError(f"metric column {c}", "a numeric or boolean column", str(table[c].type()))
        x = table[c].cast("float64")
        if covariate:
            p = table[covariate].cast("float64")
            x = ibis.ifelse(p.notnull(), x, ibis.null("float64"))
            p = ibis.ifelse(x.notnull(), p, ibis.null("float64"))
            aggs[f"{c}__psum"], aggs[f"{c}__pss"], aggs[f"{c}__xp"] = p.sum(), (p * p).sum(), (x * p).sum()
        aggs[f"{c}__n"], aggs[f"{c}__sum"], aggs[f"{c}__ss"] = x.count(), x.sum(), (x * x).sum()
    return table.group_by(table[variant_col].cast("string").name("variant")).aggregate(**aggs)
