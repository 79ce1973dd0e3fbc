"""What every CLI module shares: the store option, JSON output, error display, progress bars."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import sys
from collections.abc import Iterator
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text
from rich.table import Table

from qianmian.config import Settings
from qianmian.errors import QianmianError
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
    return connect(url or s.store, spark_warehouse=s.spark_warehouse)


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


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    table = Table(title=title)
    if not rows:
        console.print(f"{title}: nothing to show")
        return
    for col in rows[0]:
        table.add_column(str(col))
    for row in rows:
        table.add_row(*[_fmt(v) for v in row.values()])
    console.print(table)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return str(v)


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
        yield p


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
