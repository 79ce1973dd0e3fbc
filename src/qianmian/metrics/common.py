"""Scopes, event predicates and the small helpers every metric shares.

Conventions (see docs/metrics.md; the time rule and `Period` are in `qianmian.dates`):

- A window of `days` days ending at `as_of` covers `[end_of(as_of) - days, end_of(as_of))`.
- GMV = sum(amount of `buy`) - sum(amount of `return`); an order is `order_id`, or the event
  itself when the event has no order id.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from qianmian.dates import DateLike, Period, check_days, end_of
from qianmian.store.schema import NON_PRODUCT


def in_window(events: ir.Table, as_of: DateLike, days: int) -> ir.BooleanValue:
    """Predicate: the event lies in the `days`-day window ending at `as_of`."""
    end = end_of(as_of)
    start = end - dt.timedelta(days=check_days(days, "window days"))
    return (events.ts >= ibis.literal(start)) & (events.ts < ibis.literal(end))


def in_period(events: ir.Table, period: Period) -> ir.BooleanValue:
    """Predicate: the event lies inside `period` (both days included)."""
    return (events.ts >= ibis.literal(period.lo)) & (events.ts < ibis.literal(period.hi))


def scoped(events: ir.Table, *, brand: str | None = None, category: str | None = None) -> ir.Table:
    """Events of one brand and/or one category (the whole store when both are None)."""
    if brand is not None:
        events = events.filter(events.brand_id == brand)
    if category is not None:
        events = events.filter(events.category_id == category)
    return events


def products(events: ir.Table) -> ir.Table:
    """Events on goods: those whose item is not of kind "non-product" (`schema.NON_PRODUCT`).

    Postage, fees or bad-debt lines are money, not merchandise: they count in GMV but in no
    product metric (categories, association rules, category preferences, top categories).
    """
    return events.filter(events.category_id.isnull() | (events.category_id != NON_PRODUCT))


def signed_amount(events: ir.Table) -> ir.FloatingValue:
    """The event's contribution to GMV: +amount for `buy`, -amount for `return`, else 0."""
    amount = events.amount.fill_null(0.0)
    return (
        ibis.cases(
            (events.behavior == "buy", amount),
            (events.behavior == "return", -amount),
            else_=0.0,
        )
    )


def order_key(events: ir.Table) -> ir.StringValue:
    """The order an event belongs to: `order_id`, or the event itself when it has none."""
    return events.order_id.fill_null(events.event_id)


def ratio(num: float | int | None, den: float | int | None) -> float | None:
    """num / den, or None when the denominator is 0 or missing (JSON-friendly)."""
    if num is None or den is None or den == 0:
        return None
    return float(num) / float(den)
