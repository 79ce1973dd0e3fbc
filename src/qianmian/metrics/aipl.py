"""AIPL: the stage of every consumer (Awareness, Interest, Purchase, Loyalty) as of a date.

A consumer holds a stage when any of the stage's rules holds in the rule's window ending at
`as_of`; the highest stage held wins (L > P > I > A); consumers holding none are absent.
A rule holds when, among the consumer's events with one of its behaviours in its window,

    count >= min_events  and  distinct days >= min_days  and  sum(amount) >= min_amount

Defaults (`AIPLRules()`), windows ending at `as_of`:

    A  expose or view                       30 days
    I  click, fav, cart or search           30 days
    P  buy (on at least one day)            365 days
    L  buy on 2+ distinct days, or review / share   365 days

Scope: `brand` and/or `category` restrict the events (None = the whole store).
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import ibis
import ibis.expr.types as ir

from qianmian.dates import DateLike, as_of_label, check_days, end_of
from qianmian.errors import InputError
from qianmian.metrics import daily
from qianmian.metrics.common import ratio, scoped
from qianmian.store import Store
from qianmian.store.schema import BEHAVIORS

Stage = Literal["A", "I", "P", "L"]
STAGES: tuple[Stage, ...] = ("A", "I", "P", "L")


@dataclass(frozen=True)
class StageRule:
    """One way to reach a stage: enough events of `behaviors` in the last `window_days` days."""

    behaviors: tuple[str, ...]
    window_days: int
    min_events: int = 1
    min_days: int = 1
    min_amount: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "behaviors", tuple(self.behaviors))
        unknown = sorted(set(self.behaviors) - set(BEHAVIORS))
        if not self.behaviors or unknown:
            raise InputError("behaviors", f"a non-empty subset of {list(BEHAVIORS)}", list(self.behaviors))
        check_days(self.window_days, "window_days")
        for name in ("min_events", "min_days"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise InputError(name, "a whole number >= 1", getattr(self, name))
        if self.min_amount < 0:
            raise InputError("min_amount", "a number >= 0", self.min_amount)


@dataclass(frozen=True)
class AIPLRules:
    """The rules of each stage (any one rule of a stage is enough)."""

    awareness: tuple[StageRule, ...] = (StageRule(("expose", "view"), 30),)
    interest: tuple[StageRule, ...] = (StageRule(("click", "fav", "cart", "search"), 30),)
    purchase: tuple[StageRule, ...] = (StageRule(("buy",), 365),)
    loyalty: tuple[StageRule, ...] = field(
        default=(StageRule(("buy",), 365, min_days=2), StageRule(("review", "share"), 365))
    )

    def by_stage(self) -> dict[Stage, tuple[StageRule, ...]]:
        return {"A": self.awareness, "I": self.interest, "P": self.purchase, "L": self.loyalty}

    def longest_window(self) -> int:
        return max(r.window_days for rules in self.by_stage().values() for r in rules)

    def behaviors(self) -> list[str]:
        return sorted({b for rules in self.by_stage().values() for r in rules for b in r.behaviors})


def aipl_stages(
    events: ir.Table,
    *,
    as_of: DateLike,
    rules: AIPLRules = AIPLRules(),
    brand: str | None = None,
    category: str | None = None,
    rollup: ir.Table | None = None,
) -> ir.Table:
    """Columns `user_id, stage` (stage in "A", "I", "P", "L") for every consumer holding a stage.

    `rollup`: the current `consumer_days` table (`qianmian.store.rollup.current_rollup`), read
    instead of `events` when it can answer (same result, much faster).

    >>> aipl_stages(store.table("events"), as_of="2017-12-03")   # doctest: +SKIP
    """
    t = stage_table(events, ends=[end_of(as_of)], rules=rules, brand=brand, category=category, rollup=rollup)
    out = t.select("user_id", stage=t.stage_0)
    return out.filter(out.stage.notnull())


def stage_table(
    events: ir.Table,
    *,
    ends: Sequence[dt.datetime],
    rules: AIPLRules = AIPLRules(),
    brand: str | None = None,
    category: str | None = None,
    rollup: ir.Table | None = None,
) -> ir.Table:
    """Per consumer with events in range: `user_id, stage_0, stage_1, …`, the stage held at each
    exclusive end instant in `ends` (NULL when none), all from one pass over the events (or over
    `rollup`, the daily rollup, when it can answer: see `qianmian.metrics.daily`)."""
    if rollup is not None and daily.usable(ends=ends, category=category):
        return _daily_stage_table(rollup, ends=ends, rules=rules, brand=brand)
    ev = scoped(events, brand=brand, category=category)
    lo, hi = min(ends) - dt.timedelta(days=rules.longest_window()), max(ends)
    # No behaviour filter here: every aggregate filters its own behaviours, and an IN list on the
    # big scan costs more than it saves; consumers with no matching event get no stage.
    ev = ev.filter(ev.user_id.notnull(), ev.ts >= ibis.literal(lo), ev.ts < ibis.literal(hi))
    metrics: dict[str, ir.Scalar] = {}
    for k, end in enumerate(ends):
        metrics |= _rule_metrics(ev, rules, end, lo=lo, bounded=end < hi, suffix=f"_{k}")
    return _stages(ev.group_by("user_id").aggregate(**metrics), rules, len(ends))


def _stages(per_user: ir.Table, rules: AIPLRules, n_ends: int) -> ir.Table:
    none = ibis.null().cast("string")
    return per_user.select(
        "user_id",
        **{
            f"stage_{k}": ibis.cases(
                *[(_held(per_user, rules, s, f"_{k}"), s) for s in reversed(STAGES)], else_=none
            )
            for k in range(n_ends)
        },
    )


def _daily_stage_table(rollup: ir.Table, *, ends: Sequence[dt.datetime], rules: AIPLRules, brand: str | None) -> ir.Table:
    """`stage_table` over the daily rollup: the same rules, with days in place of instants."""
    t = rollup if brand is None else rollup.filter(rollup.brand_id == brand)
    lo, hi = min(ends) - dt.timedelta(days=rules.longest_window()), max(ends)
    t = t.filter(t.user_id.notnull(), daily.within(t, lo, hi))
    metrics: dict[str, ir.Scalar] = {}
    for k, end in enumerate(ends):
        metrics |= _daily_rule_metrics(t, rules, end, lo=lo, bounded=end < hi, suffix=f"_{k}")
    return _stages(t.group_by("user_id").aggregate(**metrics), rules, len(ends))


def _daily_rule_metrics(
    t: ir.Table, rules: AIPLRules, end: dt.datetime, *, lo: dt.datetime, bounded: bool, suffix: str
) -> dict[str, ir.Scalar]:
    """`_rule_metrics` on rollup rows. Distinct days: for min_days = 2 the first and last day with
    a matching event (two days ⟺ first < last, no DISTINCT needed), else a distinct count."""
    out: dict[str, ir.Scalar] = {}
    names = _count_names(rules)
    for stage, stage_rules in rules.by_stage().items():
        for j, r in enumerate(stage_rules):
            start = end - dt.timedelta(days=r.window_days)
            cond = daily.within(t, start if start > lo else None, end if bounded else None)
            n = daily.count(t, r.behaviors)
            out[f"n_{names[(stage, j)]}{suffix}"] = daily.when(cond, n, 0).sum()
            key = f"d_{stage}{j}{suffix}"
            has = n > 0 if cond is None else cond & (n > 0)
            day = ibis.ifelse(has, t.day, ibis.null().cast("date"))  # the row's day when it has a matching event
            if r.min_days == 2:
                out[f"{key}_lo"], out[f"{key}_hi"] = day.min(), day.max()
            elif r.min_days > 2:
                out[key] = day.nunique()
            if r.min_amount > 0:
                out[f"m_{stage}{j}{suffix}"] = daily.when(cond, daily.amount(t, r.behaviors), 0.0).sum()
    return out


def _count_names(rules: AIPLRules) -> dict[tuple[str, int], str]:
    """Rules counting the same behaviours over the same window share one count (P and L both count buys)."""
    names: dict[tuple[str, int], str] = {}
    signatures: dict[tuple, str] = {}
    for stage, stage_rules in rules.by_stage().items():
        for j, r in enumerate(stage_rules):
            names[(stage, j)] = signatures.setdefault((r.behaviors, r.window_days), f"c{len(signatures)}")
    return names


def _rule_metrics(
    ev: ir.Table, rules: AIPLRules, end: dt.datetime, *, lo: dt.datetime, bounded: bool, suffix: str
) -> dict[str, ir.Scalar]:
    """One conditional aggregate per rule and measure (count, distinct days, amount) for one end."""
    out: dict[str, ir.Scalar] = {}
    names = _count_names(rules)
    for stage, stage_rules in rules.by_stage().items():
        for j, r in enumerate(stage_rules):
            cond = ev.behavior.isin(list(r.behaviors))
            start = end - dt.timedelta(days=r.window_days)
            if start > lo:  # else the pass's own filter (ts >= lo) already bounds it
                cond &= ev.ts >= ibis.literal(start)
            if bounded:
                cond &= ev.ts < ibis.literal(end)
            out[f"n_{names[(stage, j)]}{suffix}"] = ev.count(where=cond)
            if r.min_days > 1:
                out[f"d_{stage}{j}{suffix}"] = ev.ts.date().nunique(where=cond)
            if r.min_amount > 0:
                out[f"m_{stage}{j}{suffix}"] = ev.amount.sum(where=cond).fill_null(0.0)
    return out


def _held(t: ir.Table, rules: AIPLRules, stage: str, suffix: str) -> ir.BooleanValue:
    """The stage holds when any of its rules holds."""
    names = _count_names(rules)
    return functools.reduce(operator.or_, [
        _rule_holds(t, f"n_{names[(stage, j)]}{suffix}", f"{stage}{j}{suffix}", r)
        for j, r in enumerate(rules.by_stage()[stage])
    ])


def _rule_holds(t: ir.Table, count: str, key: str, r: StageRule) -> ir.BooleanValue:
    ok = t[count] >= r.min_events
    if f"d_{key}_lo" in t.columns:  # the rollup's form of "2+ distinct days": first day < last day
        ok &= t[f"d_{key}_lo"] < t[f"d_{key}_hi"]
    elif r.min_days > 1:
        ok &= t[f"d_{key}"] >= r.min_days
    if r.min_amount > 0:
        ok &= t[f"m_{key}"] >= r.min_amount
    return ok


def aipl_counts(stages: ir.Table) -> ir.Table:
    """Consumers per stage: columns `stage, consumers`."""
    return stages.group_by("stage").aggregate(consumers=stages.count())


@dataclass(frozen=True)
class AIPLReport:
    """Counts and shares per stage (every stage present, 0 when empty) and the total."""

    as_of: str
    brand: str | None
    category: str | None
    counts: dict[str, int]
    shares: dict[str, float | None]
    total: int

    def to_dict(self) -> dict:
        return {
            "as_of": self.as_of, "brand": self.brand, "category": self.category,
            "counts": self.counts, "shares": self.shares, "total": self.total,
        }


def store_stages(
    store: Store,
    *,
    as_of: DateLike,
    rules: AIPLRules = AIPLRules(),
    brand: str | None = None,
    category: str | None = None,
) -> ir.Table:
    """`aipl_stages` of the store's events, over the daily rollup when it can answer (refreshed first)."""
    events = store.table("events")
    rollup = daily.rollup_if(store, daily.usable(ends=[end_of(as_of)], category=category), events)
    return aipl_stages(events, as_of=as_of, rules=rules, brand=brand, category=category, rollup=rollup)


def aipl_report(
    store: Store,
    *,
    as_of: DateLike,
    rules: AIPLRules = AIPLRules(),
    brand: str | None = None,
    category: str | None = None,
) -> AIPLReport:
    """Run `aipl_counts(store_stages(...))` on the store."""
    frame = store.execute(aipl_counts(store_stages(store, as_of=as_of, rules=rules, brand=brand, category=category)))
    found = dict(zip(frame.stage, frame.consumers.astype(int)))
    counts = {s: int(found.get(s, 0)) for s in STAGES}
    total = sum(counts.values())
    return AIPLReport(
        as_of=as_of_label(as_of), brand=brand, category=category, counts=counts,
        shares={s: ratio(c, total) for s, c in counts.items()}, total=total,
    )
