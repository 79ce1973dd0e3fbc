"""`ingest_file`: one file into the store, all or nothing, every row accounted for.

read = loaded + duplicates + quarantined, always, and read = the file's records as `records.survey`
counts them on its own (non-empty lines, minus a header; a Parquet file's rows):
- loaded: new rows written (events, or items / users / stores for a mapping with that target);
- duplicates: rows whose key is already in the store (or earlier in the same file);
- quarantined: records the parser rejected, whose quoting does not close on their line, or that
  failed validation, one quarantine row each, with file, line number, raw content and a reason
  naming the field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import ibis
import numpy as np
import pandas as pd

from qianmian.errors import InputError, StoreError
from qianmian.ingest import layout_check, rules
from qianmian.ingest.kinds import mark_non_products
from qianmian.ingest.mapping import TARGETS, WHITESPACE, Mapping, load_mapping
from qianmian.ingest.records import Survey, survey, without_lines
from qianmian.ingest.transform import (
    checked,
    is_utc,
    json_columns,
    local_zone,
    md5,
    source_types,
    to_local,
    whitespace_columns,
)
from qianmian.store import Store, staging
from qianmian.store.recovery import BATCH_PREFIX

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class IngestResult:
    ingest_id: str
    source: str
    layout: str
    read: int
    loaded: int
    duplicates: int
    quarantined: int
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Batch:
    """The file being ingested and the facts its `ingests` record (the commit record) holds."""

    path: Path
    ingest_id: str
    started_at: dt.datetime
    survey: Survey


def ingest_file(
    store: Store,
    path: str | Path,
    *,
    layout: str | None = "taobao",
    mapping: str | Path | Mapping | None = None,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
    plausible: tuple[dt.datetime, dt.datetime] | None = None,
    timezone: str = "Asia/Shanghai",
) -> IngestResult:
    """Load one CSV (optionally gzipped), JSON Lines or Parquet file into `store`, all or nothing.

    Every record of the file (`records.survey` counts them on its own) is loaded, a duplicate, or
    quarantined with its line and reason. One scan parses, types and validates every record into a
    temporary checked table; one transaction then appends the new rows, the quarantined rows, the
    users and the ingest record. `plausible` is the store's range for times ([from, until); default
    2000-01-01 to `now` + 1 day, `now` being the clock unless given), used where the layout or mapping
    sets none; `timezone` is the store's business zone (text times of a mapping with its own
    `timezone` are converted to it).

    >>> ingest_file(store, "ub_head_by_user_84k.csv", layout="taobao").loaded
    84440
    """
    started = time.perf_counter()
    p = Path(path)
    if not p.is_file():
        raise InputError("path", "an existing file", str(path))
    m = mapping if isinstance(mapping, Mapping) else load_mapping(None if mapping else layout, mapping)
    started_at = now or dt.datetime.now()
    lo, hi = plausible or rules.plausible_range(started_at)
    m = m.with_store(timezone=timezone, plausible=(lo.isoformat(sep=" ", timespec="seconds"), hi.isoformat(sep=" ", timespec="seconds")))
    report = progress or (lambda step, n: None)
    fmt = m.format or staging.detect_format(p)
    names, header = _source_names(p, m, fmt)  # the wrong layout is refused here, from the first lines
    engine = store.con if store.engine == "duckdb" else ibis.duckdb.connect()
    ingest_id = BATCH_PREFIX + uuid.uuid4().hex[:16]
    digest = ThreadPoolExecutor(max_workers=1)
    try:  # the survey (hash + independent record count) reads the file while DuckDB works
        facts = digest.submit(_survey, p, fmt, m)
        report("reading", 0)
        with tempfile.TemporaryDirectory(prefix="qm-ingest-") as tmp:
            checks, rejects, sv = _scan_whole(engine, p, m, fmt, ingest_id, (names, header), facts, Path(tmp))
            report("writing", 0)
            counts = _write(store, engine, checks, rejects, m, Batch(p, ingest_id, started_at, sv))
            engine.drop_table(checks.get_name(), force=True)
    finally:
        digest.shutdown(cancel_futures=True)
        if engine is not store.con:
            engine.disconnect()
    report("done", counts["read"])
    return IngestResult(ingest_id, str(p), m.name, seconds=time.perf_counter() - started, **counts)


def _survey(p: Path, fmt: staging.Format, m: Mapping) -> Survey:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return Survey(_sha256(p), 0, pq.ParquetFile(p).metadata.num_rows)
    return survey(p, quotes=fmt == "csv" and not m.multiline and m.delimiter != WHITESPACE)


def _scan_whole(engine: ibis.BaseBackend, p: Path, m: Mapping, fmt: staging.Format, ingest_id: str,
                names: tuple[list[str], bool], facts: Future[Survey], tmp: Path) -> tuple[ibis.Table, pd.DataFrame, Survey]:
    """Scan and check the file; when the survey found lines the parser must not see as they are (an
    unclosed quote, mixed line endings), scan again a copy with those lines emptied."""
    try:
        checks, rejects = _scan_and_check(engine, p, m, fmt, ingest_id, names)
    except duckdb.Error as exc:
        sv = facts.result()  # a truncated gzip says so here, as an InputError
        if not sv.needs_copy:
            raise InputError("file", f"a {fmt} file the parser can read", f"{p.name}: {str(exc).splitlines()[0]}") from exc
        checks, rejects = None, None
    sv = facts.result().with_header() if names[1] else facts.result()
    if sv.needs_copy and fmt == "csv":
        engine.drop_table(_checked_name(ingest_id), force=True)  # also when the failed scan left it half made
        copy = without_lines(p, {b.line for b in sv.broken}, tmp / "records.csv")
        checks, rejects = _scan_and_check(engine, copy, m, fmt, ingest_id, names)
    assert checks is not None and rejects is not None
    return checks, rejects, sv


def _source_names(p: Path, m: Mapping, fmt: staging.Format) -> tuple[list[str], bool]:
    """(the file's column names, whether its first line is a header), after checking that the file
    is in this layout at all: one line saying what was expected and what was found.

    A header's empty or repeated cells are named (`layout_check.unique_names`). `header = "auto"`:
    the first line is a header when every field on it is a name the mapping knows (a column, an
    alias or a column it reads); otherwise `columns` name the fields.
    """
    if fmt != "csv":
        return [], False
    header = m.header
    if header == "auto":
        first = [f.strip().lstrip("\ufeff") for f in staging.split_fields(staging.first_line(p), m.delimiter)]
        header = bool(first) and set(first) <= m.known_names()
    if not header:
        if not m.columns:
            raise InputError("mapping columns", "column names for a file without a header", list(m.columns))
        layout_check.headerless(p, m)
        return list(m.columns), False
    names = layout_check.unique_names(staging.header_columns(p, m.delimiter))
    layout_check.has_columns(_canonical_names(names, m), m)
    return names, True


def _scan_and_check(engine: ibis.BaseBackend, p: Path, m: Mapping, fmt: staging.Format, ingest_id: str,
                    source: tuple[list[str], bool]) -> tuple[ibis.Table, pd.DataFrame]:
    names, header = source
    canon = _canonical_names(names, m)
    split = fmt == "csv" and m.delimiter == WHITESPACE  # read whole lines, split them in the engine
    raw, view, rejects_table = staging.scan(engine, p, fmt=fmt, columns=source_types(m, canon) if fmt == "csv" and not split else {},
                                      header=header, delimiter=m.delimiter, lines=split)
    pre = None
    if "_line" in raw.columns:
        raw = raw.filter(raw["_line"].notnull())  # an empty line is not a record
        raw, pre = whitespace_columns(raw, canon) if split else json_columns(raw, m.source_columns())
    _require_columns(raw, m)
    name = _checked_name(ingest_id)
    engine.create_table(name, checked(raw, m, pre_reason=pre), temp=True)
    engine.drop_view(view, force=True)
    return engine.table(name), per_record(staging.rejects(engine.con, rejects_table))


PARSER_RAW_LIMIT = 10_000
"""DuckDB keeps at most this many characters of a rejected line; a row whose raw text is that long says so."""


def _checked_name(ingest_id: str) -> str:
    return f"_qm_checked_{ingest_id.replace('-', '_')}"


def per_record(rejects: pd.DataFrame) -> pd.DataFrame:
    """One row per rejected record (the parser reports each error of a line): the first column's
    reason, then the others' after "; also ", and the line as it was (without a newline the parser
    kept from an empty line before it). A raw text the parser cut is said to be cut, and where."""
    if rejects.empty:
        return rejects
    raw = rejects["raw"].astype(str).str.lstrip("\r\n")
    reason = rejects["reason"].str.replace(r"^column \?: ", "record: ", regex=True)
    cut = raw.str.len() >= PARSER_RAW_LIMIT
    reason = reason.where(~cut, reason + f" (raw text cut at {PARSER_RAW_LIMIT:,} characters by the parser)")
    rejects = rejects.assign(raw=raw, reason=reason, column=rejects["column"].fillna("record"))
    grouped = rejects.groupby("record", sort=True)
    return pd.DataFrame({
        "record": grouped["record"].first().astype("int64"),
        "raw": grouped["raw"].first(),
        "column": grouped["column"].first(),
        "reason": grouped["reason"].agg(lambda r: "; also ".join(dict.fromkeys(r))),
    }).reset_index(drop=True)


def _canonical_names(names: list[str], m: Mapping) -> list[str]:
    """Header names with alias spellings replaced by the mapping's (e.g. InvoiceNo → Invoice)."""
    alias = {alt: canon for canon, alts in m.aliases.items() for alt in alts if canon not in names}
    return [alias.get(n, n) for n in names]


def _require_columns(raw: ibis.Table, m: Mapping) -> None:
    missing = sorted(m.source_columns() - set(raw.columns))
    if missing:
        have = [c for c in raw.columns if not c.startswith("_")]
        raise layout_check.LayoutMismatch(f"the columns {sorted(m.source_columns())} that {m.name!r} reads", f"{have} (missing {missing})")


def _rows(engine: ibis.BaseBackend, good: ibis.Table, m: Mapping, ingest_id: str) -> ibis.Table:
    """The new rows of the target table. Events are tagged with the batch (recovery finds them by it)
    and their times made wall-clock (see `transform.is_utc`)."""
    columns = TARGETS[m.target].names
    if m.target != "events":
        return good.select(*[c for c in columns if c in good.columns])
    events = good.select(*[c for c in columns if c in good.columns], source=ibis.literal(ingest_id))
    events = mark_non_products(events, m.non_products)
    if m.identical_rows == "events":  # the k-th of identical records gets its own id (the same k on a re-ingest)
        k = ibis.row_number().over(group_by=events.event_id).cast("string")
        events = events.mutate(event_id=md5(events.event_id + "#" + k))
    if not is_utc(m):
        return events
    span = engine.execute(good.aggregate(lo=good.ts.min(), hi=good.ts.max())).iloc[0]
    if span["lo"] is None or span["lo"] != span["lo"]:
        return events
    return events.mutate(ts=to_local(events.ts, local_zone(m), (span["lo"].to_pydatetime(), span["hi"].to_pydatetime())))


def _write(store: Store, engine: ibis.BaseBackend, t: ibis.Table, rejects: pd.DataFrame, m: Mapping, b: Batch) -> dict:
    sv = b.survey
    good = t.filter(t._reason.isnull())
    rows = _rows(engine, good, m, b.ingest_id)
    broken = pd.DataFrame({"record": [x.line for x in sv.broken], "raw": [x.raw for x in sv.broken]}, dtype=object)
    skipped = np.concatenate([rejects["record"].to_numpy("int64"), broken["record"].to_numpy("int64"),
                              np.array([e for e in sv.empty if e >= sv.first_line], dtype="int64")])
    bad = _quarantine_rows(engine, t, rejects, broken, skipped, sv.first_line, str(b.path), b.ingest_id)
    users = _user_rows(good, m)
    n_rows, n_good = (int(x or 0) for x in engine.execute(t.aggregate(n=t.count(), good=t._reason.isnull().sum())).iloc[0])
    read = n_rows + len(rejects) + len(broken)
    if read != sv.records and not m.multiline:  # never store a batch whose rows do not add up to the file's records
        raise IngestCountError(str(b.path), sv.records, read)
    if store.engine != "duckdb":  # move the validated rows out of the staging engine
        rows = engine.to_pyarrow(rows)
        users = engine.to_pyarrow(users) if users is not None else None
    with store.transaction():  # the ingests row is written last: it is the batch's commit record
        loaded = store.append(m.target, rows)
        store.append("quarantine", bad)
        if users is not None:
            store.append("users", users)
        counts = {"read": read, "loaded": loaded, "duplicates": n_good - loaded, "quarantined": len(bad)}
        store.append("ingests", pd.DataFrame([{
            "ingest_id": b.ingest_id, "source": str(b.path), "sha256": sv.sha256, "layout": m.name, "target": store.url,
            "started_at": b.started_at, "finished_at": dt.datetime.now(), **counts,
        }]))
    return counts


class IngestCountError(StoreError):
    """The parser returned a different number of records than the file holds: nothing is stored."""

    def __init__(self, source: str, records: int, read: int) -> None:
        super().__init__(f"ingest of {source}: the file holds {records:,} records but the parser returned {read:,}; "
                         "nothing was stored (please report this file)")


def _quarantine_rows(engine: ibis.BaseBackend, t: ibis.Table, rejects: pd.DataFrame, broken: pd.DataFrame,
                     skipped: np.ndarray, first: int, source: str, ingest_id: str) -> pd.DataFrame:
    """One row per quarantined record, numbered by its line in the file: rows that failed validation,
    records the parser rejected, and lines whose quoting does not close."""
    invalid = staging.invalid_rows(engine.con, t.get_name())
    records = staging.record_numbers(invalid["_row"], pd.Series(skipped), first)
    now = dt.datetime.now()

    def frame(numbers, raw, field, reason) -> pd.DataFrame:
        return pd.DataFrame({"ingest_id": ingest_id, "source": source, "row_number": np.asarray(numbers, dtype="int64"),
                             "raw": list(raw), "field": list(field), "reason": list(reason), "quarantined_at": now})

    quote = [f"record: expected quotes that close on the same line, received a line with an odd number of '\"' "
             f"(an unclosed quote; {len(r):,} characters)" for r in broken["raw"]]
    parts = [
        frame(records, invalid["_raw"], invalid["_reason"].str.split(":").str[0], invalid["_reason"]),
        frame(rejects["record"], rejects["raw"], rejects["column"], rejects["reason"]),
        frame(broken["record"], broken["raw"], ["record"] * len(broken), quote),
    ]
    return pd.concat(parts, ignore_index=True).sort_values("row_number", kind="stable").reset_index(drop=True)


def _user_rows(good: ibis.Table, m: Mapping) -> ibis.Table | None:
    if not m.users:
        return None
    cols = {k: (f"_users_{k}" if f"_users_{k}" in good.columns else k) for k in m.users}  # see transform.checked
    users = good.select(**{k: good[c] for k, c in cols.items()}).filter(ibis._.user_id.notnull())
    return users.distinct(on="user_id", keep="first")


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with p.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
