"""The shopper's top categories: where their behaviour-weighted engagement is largest.

    weight(u, c) = Σ over u's events on goods of category c in the window of w(behaviour)

with `w` from `qianmian.consumers.weights` (view 1 … buy 4; returns and other behaviours 0). A
shopper's top categories are their categories by weight, largest first (ties: smaller id), with a
positive weight. The window is the caller's: the feature table reads the last `interest_days`
before the end of `as_of`, the storefront's greeting the whole history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis

from qianmian.consumers.weights import BEHAVIOR_WEIGHTS, weight_expr
from qianmian.errors import InputError
from qianmian.metrics.common import products


def category_weights(
    events: ibis.Table, *, end: dt.datetime | None = None, days: int | None = None,
    weights: Mapping[str, float] = BEHAVIOR_WEIGHTS,
) -> ibis.Table:
    """(user_id, category_id, weight) over the events of goods in [end − days, end)."""
    ev = products(events)
    ev = ev.filter(ev.user_id.notnull(), ev.category_id.notnull())
    if end is not None:
        ev = ev.filter(ev.ts < end)
    if days is not None:
        if end is None or not isinstance(days, int) or days <= 0:
            raise InputError("days", "a positive whole number of days before a given end", days)
        ev = ev.filter(ev.ts >= end - dt.timedelta(days=days))
    return ev.group_by(["user_id", "category_id"]).aggregate(weight=weight_expr(ev.behavior, weights).sum())


def top_categories(
    events: ibis.Table, *, n: int = 1, end: dt.datetime | None = None, days: int | None = None
) -> ibis.Table:
    """(user_id, category_id, rank): each shopper's `n` top categories, rank 0 the top one.

    `end` and `days` set the window (see `category_weights`); without them, the whole history.
    """
    if not isinstance(n, int) or n < 1:
        raise InputError("n", "a positive whole number of categories", n)
    cw = category_weights(events, end=end, days=days)
    order = [ibis.desc(cw.weight), cw.category_id]
    ranked = cw.mutate(rank=ibis.row_number().over(group_by=cw.user_id, order_by=order))
    return ranked.filter(ranked.rank < n, ranked.weight > 0).select("user_id", "category_id", "rank")
