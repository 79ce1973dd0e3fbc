"""Dates and days: the one time rule, and the small helpers every package shares.

**The time rule.** `as_of` is a date or a datetime, in the store's time zone (`events.ts` is the
brand's wall-clock time, `settings.timezone`). A date D means "everything up to the end of day
D": the window ends at the next midnight, exclusive, so an event at 23:59:59 of D is in and one
at 00:00 of D+1 is out. A datetime is used as given (an exclusive end). Reports, audiences,
features, training, evaluation and exports all read `as_of` through `end_of`.

- A window of `days` days ending at `as_of` covers `[end_of(as_of) - days, end_of(as_of))`.
- A `Period` is a closed range of calendar days, `start` and `end` both included.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from qianmian.errors import InputError

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
