"""The daily consumer rollup (`consumer_days`) as a source for AIPL, flow and funnel.

`consumer_days` holds, per user × day × source × brand, the number of events of each behaviour
(`n_view`, `n_buy` …) and their summed amount (`amount_buy` …); `qianmian.store.rollup` keeps it
current. It answers a question exactly when the question is made of whole days and of what it
keeps:

- every window ends at a midnight (`as_of` a date, or a datetime at 00:00) — windows are whole
  days, so "in the window" is "the row's day is in the window";
- no category scope (the rollup has brands, not categories);
- a funnel grouped by nothing, by `day`, or by `brand_id` / `source`.

Then a rule's count is the sum of its behaviours' `n_` columns over the window's rows, its distinct
days are the days of rows where that sum is positive, its amount the sum of the `amount_` columns
(float sums in another order than over raw events, as any parallel engine may do). Otherwise
the metric reads raw events; the result is the same either way (tests compare both paths).
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from qianmian.store import Store
from qianmian.store.rollup import current_rollup

GROUPS = ("day", "brand_id", "source")
"""Funnel groupings the rollup can answer besides none."""


def usable(*, ends: Sequence[dt.datetime] = (), category: str | None = None, by: str | None = None) -> bool:
    """Whether the rollup can answer: whole-day windows, no category scope, a grouping it keeps."""
    return category is None and (by is None or by in GROUPS) and all(e.time() == dt.time() for e in ends)


def rollup_if(store: Store, ok: bool, events: ir.Table) -> ir.Table | None:
    """The current rollup (`qianmian.store.rollup.current_rollup`) when `ok` (the question is one
    it answers), else None. `events`: the store's events table."""
    return current_rollup(store, events=events) if ok else None


def count(t: ir.Table, behaviors: Sequence[str]) -> ir.IntegerValue:
    """Events of any of `behaviors` on the row."""
    return functools.reduce(operator.add, [t[f"n_{b}"] for b in behaviors])


def amount(t: ir.Table, behaviors: Sequence[str]) -> ir.FloatingValue:
    """Summed amount of the row's events of any of `behaviors` (NULL amounts count 0)."""
    return functools.reduce(operator.add, [t[f"amount_{b}"] for b in behaviors])


def within(t: ir.Table, start: dt.datetime | None, end: dt.datetime | None) -> ir.BooleanValue | None:
    """Rows whose day lies in `[start, end)` (both midnights; None = unbounded on that side)."""
    parts = ([t.day >= ibis.literal(start.date())] if start else []) + ([t.day < ibis.literal(end.date())] if end else [])
    return functools.reduce(operator.and_, parts) if parts else None


def when(cond: ir.BooleanValue | None, value: ir.Value, otherwise: object) -> ir.Value:
    """`value` where `cond` holds, else `otherwise` (a CASE: DuckDB runs it faster than FILTER)."""
    return value if cond is None else ibis.ifelse(cond, value, otherwise)
