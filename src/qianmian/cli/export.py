"""`qianmian export KIND [NAME] --out FILE`: consumer lists and tables as CSV, Parquet or JSON Lines."""

from __future__ import annotations

from pathlib import Path

import typer

from qianmian.cli.common import (
    JsonOption,
    StoreOption,
    console,
    errors_to_exit,
    open_store,
    print_json,
    progress,
    warn_past_data,
)
from qianmian.dates import to_date
from qianmian.exports import FORMATS, KINDS, Request
from qianmian.exports import export as run_export

_KINDS = "; ".join(f"{k}: {v.summary}" for k, v in KINDS.items())


def register(root: typer.Typer) -> None:
    root.command("export")(export)


def export(
    kind: str = typer.Argument(..., help=_KINDS),
    name: str | None = typer.Argument(None, help="The audience's name (kind audience)"),
    out: Path = typer.Option(..., "--out", "-o", help=f"File to write; the format follows its ending ({', '.join(FORMATS)})"),
    as_of: str | None = typer.Option(None, "--as-of", help="Day (YYYY-MM-DD); default: the last event's day "
                                     "(audience: its latest materialization)"),
    format: str | None = typer.Option(None, "--format", help=f"One of {', '.join(FORMATS)} (overrides the file ending)"),
    k: int | None = typer.Option(None, "--k", help="Number of strategy crowds (kind crowds; default: chosen by silhouette)"),
    store: str | None = StoreOption,
    json: bool = JsonOption,
) -> None:
    """Write a consumer list or table to a file for an ad channel, a CRM or a spreadsheet.

    Shoppers who opted out are never exported.

    \b
    qianmian export audience nivea_old_active --out members.csv
    qianmian export features --as-of 2017-12-03 --out consumers.parquet
    qianmian export crowds --k 6 --out crowds.csv
    """
    with errors_to_exit():
        req = Request(kind, as_of=to_date(as_of, "as_of") if as_of else None, name=name, k=k)
        s = open_store(store)
        if kind != "audience":  # an audience exports its materialized members, not windows ending then
            warn_past_data(s, req.as_of)
        with progress(not json) as bar:
            task = bar.add_task(f"export {kind}", total=None)
            result = run_export(s, req, out, fmt=format, progress=lambda rows: bar.update(task, completed=rows))
            bar.update(task, total=result.rows, completed=result.rows)
    if json:
        print_json(result.to_dict())
        return
    console.print(f"wrote {result.rows:,} rows ({', '.join(result.columns)}) to {result.path} as {result.format} "
                  f"in {result.seconds:.2f}s")
