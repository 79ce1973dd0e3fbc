"""Exports: consumer lists and tables as CSV, Parquet or JSON Lines files — for ad channels, CRM,
e-mail tools and spreadsheets.

One mechanism serves every export. A *kind* builds an Ibis expression from the store, and `export`
writes it into a file in record batches, on DuckDB and Spark alike (DuckDB streams the batches;
Ibis' Spark backend collects the result on the driver first):

| kind | one row per | columns |
| --- | --- | --- |
| `audience` | member of the audience `name` at a materialized day | `user_id`, `audience`, `version`, `as_of` |
| `features` | consumer | the consumer feature table (`qianmian.features`): behaviour counts, AIPL stage, lifecycle, RFM inputs, top categories, traits, tags |
| `aipl` | consumer holding a stage | `user_id`, `stage` (A/I/P/L) |
| `rfm` | buyer | `user_id`, lifecycle state, recency, frequency, monetary, `r`, `f`, `m`, `cell` |
| `clv` | buyer | `user_id`, frequency, recency_days, T_days, monetary, `p_alive`, `expected_purchases_90d`, `expected_spend`, `clv_365d` (BG/NBD + Gamma-Gamma fitted on the buys up to `as_of`, docs/clv.md) |
| `crowds` | clustered consumer | `user_id`, `crowd`, `crowd_name`, `micro_group` (strategy crowds, `k` given or by silhouette) |
| `quarantine` | row refused at ingestion | file, row number, raw record, field, reason |

Consumer-level kinds leave out shoppers who opted out (`qianmian.consumers.consent.opted_out_table`): they are never
profiled, so never handed to a channel. An audience exports the members stored by its latest
materialization up to `as_of` (`qianmian audience materialize`), exactly what the storefront uses.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import ibis
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from qianmian.consumers.consent import opted_out_table
from qianmian.errors import InputError
from qianmian.store import Store

Format = Literal["csv", "parquet", "jsonl"]
FORMATS: tuple[Format, ...] = ("csv", "parquet", "jsonl")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet", "jsonl": "application/x-ndjson"}
BATCH_ROWS = 100_000


@dataclass(frozen=True)
class Request:
    """What to export: `as_of` for consumer kinds (default: the last event's day), `name` for
    audiences, `k` for crowds (None: chosen by silhouette)."""

    kind: str
    as_of: dt.date | None = None
    name: str | None = None
    k: int | None = None


@dataclass(frozen=True)
class Kind:
    summary: str
    build: Callable[[Store, Request], ibis.Table]
    order: tuple[str, ...] = ("user_id",)  # rows come out sorted by these columns
    consumers: bool = True  # one row per consumer: opted-out shoppers are left out
    needs_name: bool = False


@dataclass(frozen=True)
class ExportResult:
    kind: str
    path: str
    format: Format
    rows: int
    columns: list[str]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _as_of(store: Store, req: Request) -> dt.date:
    if req.as_of is not None:
        return req.as_of
    last = store.execute(store.table("events").ts.max())
    if last is None or last != last:
        raise InputError("as_of", "a day (the store has no events to default to)", None)
    return last.date()


def _audience(store: Store, req: Request) -> ibis.Table:
    from qianmian.audiences.membership import stored_members

    return stored_members(store, req.name or "", as_of=req.as_of)


def _features(store: Store, req: Request) -> ibis.Table:
    from qianmian.features import consumer_features

    return consumer_features(store, as_of=_as_of(store, req))


def _aipl(store: Store, req: Request) -> ibis.Table:
    from qianmian.metrics.aipl import store_stages

    return store_stages(store, as_of=_as_of(store, req))


def _rfm(store: Store, req: Request) -> ibis.Table:
    from qianmian.metrics.lifecycle import lifecycle_states
    from qianmian.metrics.rfm import rfm_scores

    return rfm_scores(lifecycle_states(store.table("events"), as_of=_as_of(store, req)))


def _crowds(store: Store, req: Request) -> ibis.Table:
    from qianmian.audiences.crowds import crowd_members, crowds

    as_of = _as_of(store, req)
    return crowd_members(store, crowds(store, as_of=as_of, k=req.k))


def _clv(store: Store, req: Request) -> ibis.Table:
    from qianmian.clv.scores import fit_store, score_frame

    try:
        model, summary = fit_store(store, calibration_end=_as_of(store, req))
    except InputError as exc:  # the caller gave as_of: name that, not the model's parameter
        if exc.field != "calibration_end":
            raise
        raise InputError("as_of", exc.expected, exc.received) from exc
    return ibis.memtable(score_frame(model, summary, purchase_days=(90,), value_days=(365,)))


def _quarantine(store: Store, req: Request) -> ibis.Table:
    return store.table("quarantine")


KINDS: dict[str, Kind] = {
    "audience": Kind("members of a saved audience at its latest materialized day", _audience, needs_name=True),
    "features": Kind("the consumer feature table: one row per consumer", _features),
    "aipl": Kind("each consumer's AIPL stage", _aipl),
    "rfm": Kind("each buyer's recency, frequency, monetary and RFM cell", _rfm),
    "crowds": Kind("each clustered consumer's strategy crowd", _crowds),
    "clv": Kind("each buyer's P(alive), expected purchases (90 days), expected spend and CLV (365 days)", _clv),
    "quarantine": Kind("rows refused at ingestion, with the field and the reason", _quarantine,
                       order=("quarantined_at", "source", "row_number"), consumers=False),
}


def kind_of(req: Request) -> Kind:
    """The export kind `req` names, checked with its name."""
    kind = KINDS.get(req.kind)
    if kind is None:
        raise InputError("kind", f"one of {list(KINDS)}", req.kind)
    if kind.needs_name and not req.name:
        raise InputError("name", f"the name of the {req.kind} to export", req.name)
    return kind


def expression(store: Store, req: Request) -> ibis.Table:
    """The rows `req` exports, as an Ibis expression on `store`."""
    kind = kind_of(req)
    t = kind.build(store, req)
    if kind.consumers:
        t = t.anti_join(opted_out_table(store.table("users")), "user_id")
    return t.order_by(list(kind.order))


def format_of(path: Path, fmt: str | None) -> Format:
    """The format given, else the one the file name ends with (`.csv`, `.parquet`, `.jsonl`)."""
    if fmt is None:
        suffix = path.name.lower().removesuffix(".gz").rsplit(".", 1)[-1]
        fmt = {"pq": "parquet", "ndjson": "jsonl", "json": "jsonl"}.get(suffix, suffix)
    if fmt not in FORMATS:
        raise InputError("format", f"one of {list(FORMATS)} (or a file name ending in one)", fmt)
    return fmt  # type: ignore[return-value]


def export(store: Store, req: Request, out: str | Path, *, fmt: str | None = None,
           progress: Callable[[int], None] | None = None) -> ExportResult:
    """Write the rows of `req` to `out`, batch by batch; returns what was written.

    The file appears only when complete (written beside it, then renamed), so a failed export never
    leaves half a list behind. A name ending in `.gz` (`members.csv.gz`) is gzip-compressed.

    >>> export(store, Request("audience", name="nivea_old_active"), "members.csv").rows  # doctest: +SKIP
    559
    """
    started = time.perf_counter()
    path = Path(out)
    kind_of(req)
    chosen = format_of(path, fmt)
    expr = expression(store, req)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    try:
        batches = store.to_pyarrow_batches(expr, chunk_size=BATCH_ROWS)
        rows = _write(batches, partial, chosen, gzip=path.name.lower().endswith(".gz"), progress=progress or (lambda n: None))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return ExportResult(req.kind, str(path), chosen, rows, list(batches.schema.names), time.perf_counter() - started)


def _write(batches: pa.RecordBatchReader, path: Path, fmt: Format, *, gzip: bool, progress: Callable[[int], None]) -> int:
    rows = 0
    if fmt == "parquet":  # Parquet compresses inside the file
        with pq.ParquetWriter(path, batches.schema) as writer:
            for b in batches:
                writer.write_batch(b)
                rows += b.num_rows
                progress(rows)
        return rows
    with pa.OSFile(str(path), "wb") as raw, (pa.CompressedOutputStream(raw, "gzip") if gzip else raw) as fh:
        if fmt == "csv":
            with pacsv.CSVWriter(fh, batches.schema) as writer:  # a header line even when there are no rows
                for b in batches:
                    writer.write_batch(b)
                    rows += b.num_rows
                    progress(rows)
            return rows
        for b in batches:  # JSON Lines: one object per row; NaN becomes null, times ISO 8601
            fh.write(b"".join(orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS) for r in b.to_pylist()))
            rows += b.num_rows
            progress(rows)
    return rows
