"""Funnels and shop rates, by day or by any dimension.

Funnel: for steps S1 → S2 → … (each a set of behaviours, default view → cart/fav → buy),

    users(k) = |{u : u did a behaviour of every step S1..Sk in the period (and group)}|
    (order within the period is not required: a consumer who carted then viewed counts at step 2)
    step_rate(k) = users(k) / users(k-1),   overall_rate(k) = users(k) / users(1)

Rates over a period (per group), as `qianmian.metrics.glossary` defines them (the experiments use
the same definitions):

    visitors          consumers with any event other than expose      buyers   consumers with a buy
    visitor_conversion = buyers / visitors
    browse_conversion  = consumers who viewed and bought / consumers who viewed   (<= 1)
    bounce_rate        = sessions whose only event (expose aside) is one view / sessions with a view
    aov                = GMV / orders                   gmv_per_visitor = GMV / visitors
    repurchase_rate    = buyers with 2+ orders / buyers

GMV = buys - returns (anonymous events count in GMV and orders, not in consumer counts).
Sessions are `session_id`, else 30-minute gaps per consumer, cut by the group (so a "day" session
never spans midnight). `by`: None (one row), "day", or any events column (channel, category_id…).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import ibis
import ibis.expr.types as ir

from qianmian.dates import Period
from qianmian.errors import InputError
from qianmian.metrics import daily
from qianmian.metrics.common import in_period, order_key, ratio, scoped, signed_amount
from qianmian.metrics.sessions import with_sessions
from qianmian.store import Store
from qianmian.store.rows import records
from qianmian.store.schema import BEHAVIORS

DEFAULT_STEPS: tuple[tuple[str, ...], ...] = (("view",), ("cart", "fav"), ("buy",))
GROUP = "group"
COUNTS = ("visitors", "viewers", "buyers", "viewer_buyers", "repeat_buyers", "sessions", "viewed_sessions", "bounces", "orders")
RATES = ("visitor_conversion", "browse_conversion", "bounce_rate", "aov", "repurchase_rate", "gmv_per_visitor")
"""The rate columns; each is a term of `qianmian.metrics.glossary` (a test holds them to it)."""


def _with_group(events: ir.Table, by: str | None) -> ir.Table:
    if by is None:
        return events.mutate(**{GROUP: ibis.literal("all")})
    if by == "day":
        return events.mutate(**{GROUP: events.ts.date().cast("string")})
    if by not in events.columns:
        raise InputError("by", f"None, 'day' or a column of events {list(events.columns)}", by)
    return events.mutate(**{GROUP: events[by].cast("string").fill_null("(none)")})


def _check_steps(steps: Sequence[Sequence[str]]) -> list[list[str]]:
    steps = [list(s) for s in steps]
    bad = [b for s in steps for b in s if b not in BEHAVIORS]
    if not steps or any(not s for s in steps) or bad:
        raise InputError("steps", f"non-empty lists of behaviours from {list(BEHAVIORS)}", steps)
    return steps


def funnel(
    events: ir.Table,
    *,
    period: Period,
    steps: Sequence[Sequence[str]] = DEFAULT_STEPS,
    by: str | None = None,
    brand: str | None = None,
    category: str | None = None,
    rollup: ir.Table | None = None,
) -> ir.Table:
    """Columns `group, step_1 … step_n`: consumers who did every step up to k in the period.

    `rollup`: the current daily rollup, read instead of `events` when it can answer (no category
    scope; `by` None, "day", "brand_id" or "source"); the result is the same.
    """
    steps = _check_steps(steps)
    keys = [] if by is None else [GROUP]  # no constant key in the big group-by when ungrouped
    if rollup is not None and daily.usable(category=category, by=by):
        t = rollup if brand is None else rollup.filter(rollup.brand_id == brand)
        t = t.filter(t.user_id.notnull(), daily.within(t, period.lo, period.hi))
        t = t if by is None else t.mutate(**{GROUP: t.day.cast("string")}) if by == "day" else _with_group(t, by)
        did = {f"did_{k}": (daily.count(t, s) > 0).any() for k, s in enumerate(steps, 1)}
        per_user = t.group_by([*keys, "user_id"]).aggregate(**did)
    else:
        ev = scoped(events, brand=brand, category=category)
        # No behaviour filter: each flag tests its own behaviours (an IN list on the scan costs more).
        ev = ev.filter(ev.user_id.notnull(), in_period(ev, period))
        ev = ev if by is None else _with_group(ev, by)
        did = {f"did_{k}": ev.behavior.isin(s).any() for k, s in enumerate(steps, 1)}
        per_user = ev.group_by([*keys, "user_id"]).aggregate(**did)
    reached = {
        f"step_{k}": functools.reduce(operator.and_, [per_user[f"did_{j}"] for j in range(1, k + 1)]).cast("int64").sum()
        for k in range(1, len(steps) + 1)
    }
    if not keys:
        return per_user.aggregate(**reached).select(ibis.literal("all").name(GROUP), *reached)
    return per_user.group_by(GROUP).aggregate(**reached).order_by(GROUP)


def rates(
    events: ir.Table,
    *,
    period: Period,
    by: str | None = None,
    brand: str | None = None,
    category: str | None = None,
    session_gap_minutes: int = 30,
) -> ir.Table:
    """One row per group: counts (visitors, viewers, buyers, viewer_buyers, repeat_buyers, orders,
    gmv, sessions, viewed_sessions, bounces) and the rates derived from them (see the module docstring)."""
    ev = scoped(events, brand=brand, category=category)
    ev = _with_group(ev.filter(in_period(ev, period)), by)
    t = ev.select(GROUP).distinct()
    for part in (_consumer_counts(ev), _money(ev), _sessions(ev, session_gap_minutes)):
        t = t.left_join(part, GROUP).drop(f"{GROUP}_right")
    t = t.mutate(**{c: t[c].fill_null(0) for c in COUNTS})
    return _derived(t.mutate(gmv=t.gmv.fill_null(0.0))).order_by(GROUP)


def _consumer_counts(ev: ir.Table) -> ir.Table:
    known = ev.filter(ev.user_id.notnull())
    is_buy = known.behavior == "buy"
    per_user = known.group_by([GROUP, "user_id"]).aggregate(
        visited=(known.behavior != "expose").any(), viewed=(known.behavior == "view").any(), bought=is_buy.any(),
        orders=order_key(known).nunique(where=is_buy),
    )
    return per_user.group_by(GROUP).aggregate(
        visitors=per_user.visited.cast("int64").sum(), viewers=per_user.viewed.cast("int64").sum(),
        buyers=per_user.bought.cast("int64").sum(), viewer_buyers=(per_user.viewed & per_user.bought).cast("int64").sum(),
        repeat_buyers=(per_user.orders >= 2).cast("int64").sum(),
    )


def _money(ev: ir.Table) -> ir.Table:
    return ev.group_by(GROUP).aggregate(gmv=signed_amount(ev).sum(), orders=order_key(ev).nunique(where=ev.behavior == "buy"))


def _sessions(ev: ir.Table, gap: int) -> ir.Table:
    sess = with_sessions(ev.filter(ev.user_id.notnull()), gap_minutes=gap, within=[GROUP])
    per = sess.group_by([GROUP, "session"]).aggregate(n=(sess.behavior != "expose").cast("int64").sum(), views=(sess.behavior == "view").cast("int64").sum())
    return per.group_by(GROUP).aggregate(
        sessions=per.count(), viewed_sessions=(per.views > 0).cast("int64").sum(),
        bounces=((per.n == 1) & (per.views == 1)).cast("int64").sum(),
    )


def _derived(t: ir.Table) -> ir.Table:
    def div(a: ir.NumericValue, b: ir.NumericValue) -> ir.FloatingValue:
        return a.cast("float64") / b.nullif(0).cast("float64")

    return t.mutate(
        visitor_conversion=div(t.buyers, t.visitors), browse_conversion=div(t.viewer_buyers, t.viewers),
        bounce_rate=div(t.bounces, t.viewed_sessions), aov=div(t.gmv, t.orders),
        repurchase_rate=div(t.repeat_buyers, t.buyers), gmv_per_visitor=div(t.gmv, t.visitors),
    )


@dataclass(frozen=True)
class FunnelReport:
    """Funnel steps (users, step rate, overall rate) per group, and the shop rates per group."""

    period: str
    by: str | None
    steps: list[list[str]]
    funnel: list[dict]
    rates: list[dict]

    def to_dict(self) -> dict:
        return asdict(self)


def funnel_report(
    store: Store,
    *,
    period: Period,
    steps: Sequence[Sequence[str]] = DEFAULT_STEPS,
    by: str | None = None,
    brand: str | None = None,
    category: str | None = None,
    with_rates: bool = True,
) -> FunnelReport:
    """Execute `funnel` (over the daily rollup when it can answer; and `rates`) and add the step rates."""
    ev = store.table("events")
    rollup = daily.rollup_if(store, daily.usable(category=category, by=by), ev)
    wide = store.execute(funnel(ev, period=period, steps=steps, by=by, brand=brand, category=category, rollup=rollup))
    rows = [_funnel_rows(rec, len(steps)) for rec in wide.to_dict(orient="records")]
    rate_rows = []
    if with_rates:
        rate_rows = records(store.execute(rates(ev, period=period, by=by, brand=brand, category=category)))
    return FunnelReport(period=str(period), by=by, steps=_check_steps(steps), funnel=rows, rates=rate_rows)


def _funnel_rows(rec: dict, n: int) -> dict:
    users = [int(rec[f"step_{k}"]) for k in range(1, n + 1)]
    return {
        GROUP: rec[GROUP], "users": users,
        "step_rate": [None, *[ratio(users[k], users[k - 1]) for k in range(1, n)]],
        "overall_rate": [ratio(u, users[0]) for u in users],
    }
