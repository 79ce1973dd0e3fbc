"""Lifecycle: new vs. returning customers and active / silent / churning / lost by recency.

For every consumer with a purchase before the end of `as_of` (the day D):

    first_purchase, last_purchase   first and last day with a `buy`
    recency_days = D - last_purchase (0 = bought on D)
    frequency    = number of orders (distinct order ids; a buy without one is its own order)
    monetary     = GMV = buys - returns, over the history considered

    customer = "new"        if first_purchase > D - new_days     (first bought in the last new_days days)
               "returning"  otherwise
    state    = "active"     if recency_days < active_days
               "silent"     if recency_days < silent_days
               "churning"   if recency_days < churning_days
               "lost"       otherwise

History considered: everything before the end of D, or the last `lookback_days` days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import ibis
import ibis.expr.types as ir

from qianmian.dates import DateLike, as_of_label, check_days, end_of
from qianmian.errors import InputError
from qianmian.metrics.common import order_key, scoped, signed_amount
from qianmian.store import Store
from qianmian.store.rows import records

STATES = ("active", "silent", "churning", "lost")
CUSTOMERS = ("new", "returning")


@dataclass(frozen=True)
class LifecycleRules:
    """Recency thresholds in days (active < silent < churning) and the "new customer" window."""

    active_days: int = 30
    silent_days: int = 90
    churning_days: int = 180
    new_days: int = 30
    lookback_days: int | None = None

    def __post_init__(self) -> None:
        for name in ("active_days", "silent_days", "churning_days", "new_days"):
            check_days(getattr(self, name), name)
        if self.lookback_days is not None:
            check_days(self.lookback_days, "lookback_days")
        if not self.active_days < self.silent_days < self.churning_days:
            raise InputError("lifecycle thresholds", "active_days < silent_days < churning_days",
                             (self.active_days, self.silent_days, self.churning_days))


def last_day(as_of: DateLike) -> dt.date:
    """The calendar day D that `as_of` ends (the day before the exclusive end)."""
    return (end_of(as_of) - dt.timedelta(microseconds=1)).date()


def lifecycle_states(
    events: ir.Table,
    *,
    as_of: DateLike,
    rules: LifecycleRules = LifecycleRules(),
    brand: str | None = None,
    category: str | None = None,
) -> ir.Table:
    """Columns `user_id, customer, state, first_purchase, last_purchase, recency_days, frequency, monetary`."""
    ev = scoped(events, brand=brand, category=category)
    ev = ev.filter(ev.user_id.notnull(), ev.behavior.isin(["buy", "return"]), ev.ts < ibis.literal(end_of(as_of)))
    if rules.lookback_days is not None:
        ev = ev.filter(ev.ts >= ibis.literal(end_of(as_of) - dt.timedelta(days=rules.lookback_days)))
    is_buy = ev.behavior == "buy"
    day = ev.ts.date()
    per_user = ev.group_by("user_id").aggregate(
        first_purchase=day.min(where=is_buy), last_purchase=day.max(where=is_buy),
        frequency=order_key(ev).nunique(where=is_buy), monetary=signed_amount(ev).sum(),
    )
    per_user = per_user.filter(per_user.frequency > 0)
    d = ibis.literal(last_day(as_of))
    recency = d.delta(per_user.last_purchase, unit="day")
    since_first = d.delta(per_user.first_purchase, unit="day")
    return per_user.select(
        "user_id",
        customer=ibis.ifelse(since_first < rules.new_days, "new", "returning"),
        state=ibis.cases(
            (recency < rules.active_days, "active"), (recency < rules.silent_days, "silent"),
            (recency < rules.churning_days, "churning"), else_="lost",
        ),
        first_purchase=per_user.first_purchase, last_purchase=per_user.last_purchase,
        recency_days=recency.cast("int64"), frequency=per_user.frequency.cast("int64"), monetary=per_user.monetary,
    )


def lifecycle_summary(states: ir.Table) -> ir.Table:
    """Per (customer, state): consumers, average recency, orders and GMV."""
    return states.group_by(["customer", "state"]).aggregate(
        consumers=states.count(), avg_recency_days=states.recency_days.mean(),
        orders=states.frequency.sum(), gmv=states.monetary.sum(),
    )


@dataclass(frozen=True)
class LifecycleReport:
    """Counts per state and per customer kind, and the full (customer × state) table."""

    as_of: str
    states: dict[str, int]
    customers: dict[str, int]
    cells: list[dict]
    total: int

    def to_dict(self) -> dict:
        return asdict(self)


def lifecycle_report(
    store: Store,
    *,
    as_of: DateLike,
    rules: LifecycleRules = LifecycleRules(),
    brand: str | None = None,
    category: str | None = None,
) -> LifecycleReport:
    """Execute `lifecycle_summary(lifecycle_states(...))`."""
    states = lifecycle_states(store.table("events"), as_of=as_of, rules=rules, brand=brand, category=category)
    frame = store.execute(lifecycle_summary(states)).sort_values(["customer", "state"])
    by_state = frame.groupby("state").consumers.sum()
    by_customer = frame.groupby("customer").consumers.sum()
    return LifecycleReport(
        as_of=as_of_label(as_of),
        states={s: int(by_state.get(s, 0)) for s in STATES},
        customers={c: int(by_customer.get(c, 0)) for c in CUSTOMERS},
        cells=records(frame), total=int(frame.consumers.sum()),
    )
