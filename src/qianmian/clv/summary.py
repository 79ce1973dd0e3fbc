"""Per-consumer (frequency, recency, T, monetary) from the store's buy events, as one Ibis expression.

The engine (DuckDB or Spark) does the aggregation; only the one-row-per-consumer table is
collected for the model fit. A purchase is a calendar day with at least one `buy` (purchases on
the same day count once, their amounts add up); for a calibration window ending on day D:

    frequency  purchase days - 1 (repeat purchases)
    recency    days from the first to the last purchase day
    T          days from the first purchase day to D
    monetary   mean amount of the repeat purchase days (NULL without a repeat or an amount)
    first_amount  amount of the first purchase day

Times are whole days here; `qianmian.clv.scores` converts them to the model's unit.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from qianmian.dates import DateLike, end_of, to_date
from qianmian.errors import InputError


def purchase_days(events: ir.Table, *, start: DateLike | None, end: DateLike) -> ir.Table:
    """(user_id, day, amount) per consumer and day with a buy in [start, end] (both days included)."""
    buys = events.filter(events.user_id.notnull(), events.behavior == "buy", events.ts < end_of(to_date(end, "end")))
    if start is not None:
        buys = buys.filter(buys.ts >= dt.datetime.combine(to_date(start, "start"), dt.time()))
    day = buys.ts.date().name("day")
    return buys.group_by([buys.user_id.cast("string").name("user_id"), day]).aggregate(amount=buys.amount.sum())


def rfm_summary(events: ir.Table, *, calibration_end: DateLike, calibration_start: DateLike | None = None) -> ir.Table:
    """One row per consumer with a purchase in the calibration window: user_id, frequency, recency,
    T (days), monetary, first_amount. See the module docstring for the definitions."""
    end = to_date(calibration_end, "calibration_end")
    if calibration_start is not None and to_date(calibration_start, "calibration_start") > end:
        raise InputError("calibration_start", f"a day on or before the calibration end {end}", str(calibration_start))
    days = purchase_days(events, start=calibration_start, end=end)
    days = days.mutate(first=days.day.min().over(group_by=days.user_id))
    repeat = days.day > days.first
    per = days.group_by("user_id").aggregate(
        n=days.count(), first_day=days.first.min(), last_day=days.day.max(),
        repeat_amount=days.amount.sum(where=repeat), repeat_priced=days.amount.count(where=repeat),
        first_amount=days.amount.sum(where=~repeat),
    )
    freq = per.n - 1
    return per.select(
        "user_id",
        frequency=freq.cast("int64"),
        recency=per.last_day.delta(per.first_day, unit="day").cast("int64"),
        T=ibis.literal(end).delta(per.first_day, unit="day").cast("int64"),
        monetary=ibis.ifelse((freq > 0) & (per.repeat_priced > 0), per.repeat_amount / freq, ibis.null("float64")),
        first_amount=per.first_amount.cast("float64"),
    )


def holdout_purchases(events: ir.Table, *, calibration_end: DateLike, holdout_end: DateLike) -> ir.Table:
    """(user_id, holdout_purchases): purchase days after the calibration end up to `holdout_end` (included)."""
    end, until = to_date(calibration_end, "calibration_end"), to_date(holdout_end, "holdout_end")
    if until <= end:
        raise InputError("holdout_end", f"a day after the calibration end {end}", str(until))
    days = purchase_days(events, start=end + dt.timedelta(days=1), end=until)
    return days.group_by("user_id").aggregate(holdout_purchases=days.count().cast("int64"))
