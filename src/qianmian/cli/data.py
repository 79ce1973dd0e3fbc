"""Data commands: ingest, stats, quarantine, generate."""

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
    print_table,
    progress,
    settings,
)
from qianmian.ingest import LAYOUTS, ingest_file
from qianmian.ingest.history import quarantined_rows


def ingest(
    paths: list[Path] = typer.Argument(..., help="Files to load (CSV, .csv.gz, JSON Lines, Parquet)"),
    format: str = typer.Option("taobao", "--format", "-f", help=f"Layout: {', '.join(LAYOUTS)} or mapping"),
    mapping: Path | None = typer.Option(None, "--mapping", help="Mapping file (TOML) for --format mapping"),
    store: str | None = StoreOption,
    json: bool = JsonOption,
) -> None:
    """Load event files into the store; every row is loaded, a duplicate, or quarantined with a reason."""
    if format == "mapping" and mapping is None:
        raise typer.BadParameter("--format mapping needs --mapping FILE", param_hint="--mapping")
    with errors_to_exit():
        s = open_store(store)
        results = []
        with progress(not json) as bar:
            step = {"reading": 0, "writing": 1, "done": 2}  # reading = scan and validate
            for path in paths:
                task = bar.add_task(f"{path.name}: reading", total=2)

                def on(stage: str, rows: int, task=task, name=path.name) -> None:
                    bar.update(task, completed=step[stage], description=f"{name}: {stage} {rows:,} rows" if rows else f"{name}: {stage}")

                results.append(ingest_file(s, path, layout=None if format == "mapping" else format, mapping=mapping, progress=on,
                                           **store_rules()))
    rows = [r.to_dict() for r in results]
    if json:
        print_json(rows[0] if len(rows) == 1 else _total(rows))
        return
    print_table("ingested", [{k: r[k] for k in ("source", "layout", "read", "loaded", "duplicates", "quarantined")} | {"seconds": round(r["seconds"], 2)} for r in rows])


def store_rules() -> dict:
    """The settings an ingest applies: the store's plausible time range and its business zone."""
    import datetime as _dt

    from qianmian.ingest.rules import plausible_range

    cfg = settings()
    now = _dt.datetime.now()
    return {"now": now, "timezone": cfg.timezone,
            "plausible": plausible_range(now, earliest=cfg.plausible_from, latest=cfg.plausible_until)}


def _total(rows: list[dict]) -> dict:
    keys = ("read", "loaded", "duplicates", "quarantined")
    return {**{k: sum(r[k] for r in rows) for k in keys}, "files": rows}


def stats(store: str | None = StoreOption, json: bool = JsonOption) -> None:
    """Rows per table, distinct users and items, and the events' time span."""
    from qianmian.store.summary import summary

    with errors_to_exit():
        import datetime as _dt

        out = summary(open_store(store), now=_dt.datetime.now())  # nothing dated after now moves the span's end
    if json:
        print_json(out)
        return
    print_table("tables", [{"table": k, "rows": v} for k, v in out["tables"].items()])
    console.print(f"users {out['users']:,} · items {out['items']:,} · events from {out['first_ts']} to {out['last_ts']}")


def quarantine(
    limit: int = typer.Option(50, "--limit", help="Rows to show"),
    store: str | None = StoreOption,
    json: bool = JsonOption,
) -> None:
    """Rows that were rejected, with file, record number, raw content and the reason."""
    with errors_to_exit():
        df = quarantined_rows(open_store(store), limit=limit)
    rows = [{k: (None if v != v else v) for k, v in r.items()} for r in df.drop(columns=["quarantined_at"]).to_dict("records")]
    if json:
        print_json(rows)
        return
    print_table(f"quarantine (first {limit})", [{k: r[k] for k in ("source", "row_number", "field", "reason", "raw")} for r in rows])


def generate(
    events: int = typer.Option(1_000_000, "--events", help="How many events"),
    out: Path = typer.Option(..., "--out", help="Output file: .parquet or .csv"),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same file)"),
    users: int | None = typer.Option(None, "--users", help="Consumers (default: events / 100)"),
    json: bool = JsonOption,
) -> None:
    """Write synthetic Taobao-like events (calibrated on the bundled slice); deterministic for a seed."""
    from qianmian.ingest.generate import GeneratorConfig, write_events

    with errors_to_exit(), progress(not json) as bar:
            task = bar.add_task(f"generating {events:,} events", total=events)
            info = write_events(out, GeneratorConfig(events=events, users=users, seed=seed), on_rows=lambda n: bar.update(task, advance=n))
    if json:
        print_json(info)
    else:
        console.print(f"wrote {info['events']:,} synthetic events to {info['path']} in {info['seconds']:.1f}s ({info['events_per_s']:,.0f} events/s)")


def register(app: typer.Typer) -> None:
    app.command()(ingest)
    app.command()(stats)
    app.command()(quarantine)
    app.command()(generate)
