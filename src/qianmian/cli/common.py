"""What every CLI module shares: the store option, JSON output, error display, progress bars, and
numbers printed for people.

Tables format each column by its unit (`qianmian.metrics.glossary`, or the caller's `units`):
counts of people are whole numbers ("1,344"), shares are percentages ("18.1%"), money carries the
currency setting ("GBP 1,364.20"); a missing value reads "n/a", never "None" or "nan".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import numbers
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from qianmian.config import Settings
from qianmian.dates import DateLike, to_date
from qianmian.errors import QianmianError
from qianmian.metrics.glossary import Unit
from qianmian.metrics.glossary import units as glossary_units
from qianmian.store import Store, connect

console = Console()
err_console = Console(stderr=True)

StoreOption = typer.Option(None, "--store", help="Store URL (default: $QIANMIAN_STORE or duckdb:///var/qianmian.duckdb)")
JsonOption = typer.Option(False, "--json", help="Print one JSON document for machines")


def settings() -> Settings:
    """Settings from $QIANMIAN_CONFIG (a TOML file) when set, then QIANMIAN_* variables, then defaults."""
    path = os.environ.get("QIANMIAN_CONFIG")
    return Settings.from_toml(path) if path else Settings()


def open_store(url: str | None) -> Store:
    s = settings()
    return connect(url or s.store, spark=s.spark_options())


def _default(o: Any) -> Any:
    if isinstance(o, (dt.date, dt.datetime)):
        return o.isoformat()
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


def _clean(o: Any) -> Any:
    if isinstance(o, float) and (math.isnan(o) or math.isinf(o)):
        return None
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    return o


def print_json(obj: Any) -> None:
    """Write `obj` as JSON to stdout (NaN becomes null)."""
    sys.stdout.write(json.dumps(_clean(obj), default=_default, ensure_ascii=False) + "\n")


MISSING = "n/a"
"""What a table shows for a value that does not exist (a rate over nobody, an unknown stage)."""


def currency() -> str:
    """The money unit every amount is printed with (setting `currency`, e.g. "GBP")."""
    return settings().currency


def is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral) and not math.isfinite(float(v)))


def fmt(v: Any, unit: Unit | None = None, *, money: str = "") -> str:
    """One value for people: `count` → "1,344", `share` → "18.1%", `money` → "GBP 1,364.20",
    `index` → "112", `number` → 4 significant digits; a missing value → "n/a".

    >>> fmt(561.6, "count"), fmt(0.08186, "share"), fmt(None, "share"), fmt(1364.2, "money", money="GBP")
    ('562', '8.2%', 'n/a', 'GBP 1,364.20')
    """
    if is_missing(v):
        return MISSING
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        return str(v)
    x = float(v)
    if unit == "count":
        return f"{math.floor(x + 0.5):,}"
    if unit == "share":
        return _percent(x)
    if unit == "money":
        amount = f"{x:,.2f}" if abs(x) < 1_000 else f"{x:,.0f}"
        return f"{money} {amount}".strip()
    if unit == "index":
        return f"{x:,.0f}"
    if isinstance(v, numbers.Integral):
        return f"{int(v):,}"
    return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"


def _percent(x: float) -> str:
    if x != 0 and abs(x) < 0.001:
        return "<0.1%" if x > 0 else "-<0.1%"
    return f"{x:.1%}"


def print_table(title: str, rows: list[dict[str, Any]], *, units: Mapping[str, Unit] | None = None) -> None:
    """A Rich table, each column formatted by its unit (`units`, else the glossary term of its name)."""
    if not rows:
        console.print(f"{title}: nothing to show")
        return
    table = Table(title=title)
    known = {**glossary_units(), **(units or {})}
    money = currency()
    cols = list(rows[0])
    for col in cols:
        table.add_column(str(col), justify="right" if known.get(col) else "left")
    for row in rows:
        table.add_row(*[fmt(row.get(c), known.get(c), money=money) for c in cols])
    console.print(table)


def warn(message: str) -> None:
    """One yellow line on stderr (stdout stays clean for --json)."""
    err_console.print(f"[yellow]warning:[/yellow] {message}", highlight=False)


def data_last_day(store: Store) -> dt.date | None:
    """The day of the store's last event (None for an empty store)."""
    from qianmian.store.summary import last_event_ts

    last = last_event_ts(store)
    return None if last is None or last != last else to_date(last.to_pydatetime() if hasattr(last, "to_pydatetime") else last)


def past_data_warning(store: Store, day: DateLike, flag: str = "--as-of") -> str | None:
    """A sentence when `day` is after the data's last day (windows ending there see no events), else None."""
    asked = to_date(day, flag.lstrip("-").replace("-", "_"))
    last = data_last_day(store)
    if last is None:
        return "the store holds no events yet: every count is 0"
    if asked > last:
        return f"{flag} {asked.isoformat()} is after the data's last day, {last.isoformat()}: counts over windows ending then miss the data"
    return None


def warn_past_data(store: Store, day: DateLike | None, flag: str = "--as-of") -> None:
    if day is not None:
        message = past_data_warning(store, day, flag)
        if message:
            warn(message)


class Count(ProgressColumn):
    """"1,234/5,678", or "1,234" while the total is unknown (e.g. rows exported so far)."""

    def render(self, task: Task) -> Text:
        done = f"{task.completed:,.0f}"
        return Text(done if task.total is None else f"{done}/{task.total:,.0f}")


@contextlib.contextmanager
def progress(enabled: bool = True) -> Iterator[Progress]:
    """A Rich progress bar on stderr (silent when `enabled` is false, e.g. with --json)."""
    p = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), Count(),
        TimeElapsedColumn(), console=err_console, disable=not enabled, transient=False,
    )
    with p:
        try:
            yield p
        except BaseException:
            p.live.transient = True  # a failed step leaves no half-drawn bar above its error line
            raise


@contextlib.contextmanager
def working(what: str, quiet: bool = False) -> Iterator[None]:
    """A spinner on stderr while the engine works (silent with --json)."""
    with progress(not quiet) as bar:
        task = bar.add_task(what, total=1)
        yield
        bar.update(task, completed=1)


@contextlib.contextmanager
def errors_to_exit() -> Iterator[None]:
    """Show a QianmianError as one red line and exit 2 instead of a traceback."""
    try:
        yield
    except QianmianError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
