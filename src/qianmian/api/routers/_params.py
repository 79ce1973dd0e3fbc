"""Parameters and JSON helpers shared by the console's routers (reports, audiences, experiments, data, shoppers).

Dates arrive as ISO strings and are checked here, so a bad or out-of-range date is a 422 naming
the parameter, never a 500 from deep inside a metric. Results are made JSON-safe with `plain`
(NaN and infinities become null: Starlette refuses NaN).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, is_dataclass
from typing import Any, TypeVar

import pandas as pd
from fastapi import Query

from qianmian.api.services import Services
from qianmian.dates import Period
from qianmian.errors import InputError

T = TypeVar("T")

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
PERIOD_PATTERN = r"^\d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2}$"
FIRST_YEAR, LAST_YEAR = 1900, 2999


def day(text: str, field: str) -> dt.date:
    """An ISO date between 1900 and 2999 (metrics shift dates by days and years; no overflow)."""
    try:
        value = dt.date.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise InputError(field, "an ISO date such as 2017-12-03", text) from exc
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise InputError(field, f"a date between {FIRST_YEAR} and {LAST_YEAR}", text)
    return value


def optional_day(text: str | None, field: str) -> dt.date | None:
    return None if text is None or text == "" else day(text, field)


def period(text: str, field: str) -> Period:
    """`START..END` (both days included) with both dates checked by `day`."""
    start, sep, end = str(text).partition("..")
    if not sep:
        raise InputError(field, "START..END with ISO dates, e.g. 2017-11-25..2017-12-03", text)
    return Period(day(start, field), day(end, field))


def optional_period(text: str | None, field: str) -> Period | None:
    return None if text is None or text == "" else period(text, field)


def date_query(description: str, default: Any = ...) -> Any:
    return Query(default, pattern=DATE_PATTERN, description=f"{description} (YYYY-MM-DD)")


def period_query(description: str, default: Any = ..., *, alias: str | None = None) -> Any:
    return Query(default, alias=alias, pattern=PERIOD_PATTERN, description=f"{description} (START..END, both days included)")


ScopeText = Query(None, min_length=1, max_length=200)


def plain(value: Any) -> Any:
    """`value` as JSON-safe Python: dataclasses and mappings recursively, NaN/inf → None,
    numpy scalars → Python numbers, dates → ISO strings, tuples and sets → lists."""
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return plain(value.tolist())
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return value.isoformat()
    return value


def run(svc: Services, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call `fn` holding the store lock (one connection serves every thread)."""
    return svc.locked(fn, *args, **kwargs)
