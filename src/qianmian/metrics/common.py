"""Time windows, scopes and the small helpers every metric shares.

Conventions (see docs/metrics.md):

- `as_of` is a date or a datetime. A date means "up to the end of that day": the window ends at
  the next midnight, exclusive. A datetime is used as given (exclusive end).
- A window of `days` days ending at `as_of` covers `[end - days, end)`.
- A `Period` is a closed range of calendar days, `start` and `end` both included.
- GMV = sum(amount of `buy`) - sum(amount of `return`); an order is `order_id`, or the event
  itself when the event has no order id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from qianmian.errors import InputError
from qianmian.store.schema import NON_PRODUCT

DateLike = dt.date | dt.datetime | str


def to_date(value: DateLike, field: str = "date") -> dt.date:
    """Parse a `date`, `datetime` or ISO string to a `date`."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise InputError(field, "an ISO date such as 2017-12-03", value) from exc


def end_of(as_of: DateLike, field: str = "as_of") -> dt.datetime:
    """The exclusive end instant of `as_of`: the next midnight for a date, the value for a datetime.

    >>> end_of(dt.date(2017, 12, 3))
    datetime.datetime(2017, 12, 4, 0, 0)
    """
    if isinstance(as_of, dt.datetime):
        return as_of.replace(tzinfo=None)
    if isinstance(as_of, str) and ("T" in as_of or " " in as_of.strip()):
        try:
            return dt.datetime.fromisoformat(as_of)
        except ValueError as exc:
            raise InputError(field, "an ISO date or datetime", as_of) from exc
    day = to_date(as_of, field)
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def as_of_label(as_of: DateLike) -> str:
    """`as_of` as an ISO string for reports: the day for a date, the instant for a datetime."""
    if isinstance(as_of, dt.datetime) or (isinstance(as_of, str) and ("T" in as_of or " " in as_of.strip())):
        return end_of(as_of).isoformat()
    return to_date(as_of, "as_of").isoformat()


def check_days(days: int, field: str, unit: str = "days") -> int:
    """A window length must be a positive whole number (of days, unless `unit` says otherwise)."""
    if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
        raise InputError(field, f"a positive whole number of {unit}", days)
    return days


@dataclass(frozen=True)
class Period:
    """A closed range of calendar days: `start` and `end` are both included."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InputError("period", "an end on or after the start", f"{self.start}..{self.end}")

    @classmethod
    def parse(cls, text: str, field: str = "period") -> Period:
        """`2010-07-01..2010-12-31` → Period(2010-07-01, 2010-12-31)."""
        parts = str(text).split("..")
        if len(parts) != 2:
            raise InputError(field, "START..END with ISO dates", text)
        return cls(to_date(parts[0], field), to_date(parts[1], field))

    @property
    def lo(self) -> dt.datetime:
        """First instant of the period (inclusive)."""
        return dt.datetime.combine(self.start, dt.time())

    @property
    def hi(self) -> dt.datetime:
        """The midnight after the last day (exclusive)."""
        return end_of(self.end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def shift_years(self, years: int) -> Period:
        """The same calendar window `years` years earlier (negative) or later (29 Feb → 28 Feb)."""
        return Period(_shift(self.start, years), _shift(self.end, years))

    def previous(self) -> Period:
        """The window of the same length just before this one."""
        return Period(self.start - dt.timedelta(days=self.days), self.start - dt.timedelta(days=1))

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def _shift(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


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


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows of a small result as plain Python dicts (NaN → None, numpy scalars → Python, dates → ISO)."""
    out = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return [{k: _plain(v) for k, v in row.items()} for row in out]


def _plain(value: object) -> object:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value
