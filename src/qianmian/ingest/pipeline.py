"""`ingest_file`: one file into the store, all or nothing, every row accounted for.

read = loaded + duplicates + quarantined, always:
- loaded: new events written;
- duplicates: rows whose event id is already in the store (or earlier in the same file);
- quarantined: rows the parser rejected or that failed validation, kept with file, record number,
  raw content and a reason naming the field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import ibis
import pandas as pd

from qianmian.errors import InputError
from qianmian.ingest.mapping import WHITESPACE, Mapping, load_mapping
from qianmian.ingest.transform import checked, is_utc, json_columns, md5, source_types, to_local, whitespace_columns
from qianmian.store import Store, schema
from qianmian.store import staging
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
    sha256: Future[str]


def ingest_file(
    store: Store,
    path: str | Path,
    *,
    layout: str | None = "taobao",
    mapping: str | Path | Mapping | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Load one CSV (optionally gzipped), JSON Lines or Parquet file into `store`, all or nothing.

    One scan parses, types and validates every record into a temporary checked table; one
    transaction then appends the new events, the quarantined rows, the users and the ingest record.

    >>> ingest_file(store, "ub_head_by_user_84k.csv", layout="taobao").loaded
    84440
    """
    started = time.perf_counter()
    p = Path(path)
    if not p.is_file():
        raise InputError("path", "an existing file", str(path))
    m = mapping if isinstance(mapping, Mapping) else load_mapping(None if mapping else layout, mapping)
    report = progress or (lambda step, n: None)
    engine = store.con if store.engine == "duckdb" else ibis.duckdb.connect()
    ingest_id = BATCH_PREFIX + uuid.uuid4().hex[:16]
    started_at = dt.datetime.now()
    digest = ThreadPoolExecutor(max_workers=1)
    try:
        sha256 = digest.submit(_sha256, p)  # hashlib releases the GIL: it reads the file while DuckDB works
        report("reading", 0)
        fmt = m.format or staging.detect_format(p)
        checks, rejects, header = _scan_and_check(engine, p, m, fmt, ingest_id)
        report("writing", 0)
        first_record = 2 if header else 1  # record number of the first data row
        counts = _write(store, engine, checks, rejects, m, Batch(p, ingest_id, started_at, sha256), first_record)
        engine.drop_table(checks.get_name(), force=True)
    finally:
        digest.shutdown(cancel_futures=True)
        if engine is not store.con:
            engine.disconnect()
    report("done", counts["read"])
    return IngestResult(ingest_id, str(p), m.name, seconds=time.perf_counter() - started, **counts)


def _scan_and_check(engine: ibis.BaseBackend, p: Path, m: Mapping, fmt: staging.Format, ingest_id: str) -> tuple[ibis.Table, pd.DataFrame, bool]:
    names, header = _names(p, m, fmt)
    if fmt == "csv" and not names:
        raise InputError("mapping columns", "column names for a file without a header", names)
    canon = _canonical_names(names, m)
    split = fmt == "csv" and m.delimiter == WHITESPACE  # read whole lines, split them in the engine
    raw, view, rejects_table = staging.scan(engine, p, fmt=fmt, columns=source_types(m, canon) if fmt == "csv" and not split else {},
                                      header=header, delimiter=m.delimiter, lines=split)
    pre = None
    if split:
        raw, pre = whitespace_columns(raw, canon)
    elif "_line" in raw.columns:
        raw, pre = json_columns(raw, m.source_columns())
    _require_columns(raw, m)
    name = f"_qm_checked_{ingest_id.replace('-', '_')}"
    engine.create_table(name, checked(raw, m, pre_reason=pre), temp=True)
    engine.drop_view(view, force=True)
    return engine.table(name), staging.rejects(engine.con, rejects_table), header


def _names(p: Path, m: Mapping, fmt: staging.Format) -> tuple[list[str], bool]:
    """(source column names, whether the first line is a header) for a CSV-like file.

    `header = "auto"`: the first line is a header when every field on it is a name the mapping
    knows (a column, an alias or a column it reads); otherwise `columns` name the fields.
    """
    if fmt != "csv":
        return [], False
    header = m.header
    if header == "auto":
        first = [f.strip().lstrip("\ufeff") for f in staging.split_fields(staging.first_line(p), m.delimiter)]
        header = bool(first) and set(first) <= m.known_names()
    return (staging.header_columns(p, m.delimiter) if header else list(m.columns)), bool(header)


def _canonical_names(names: list[str], m: Mapping) -> list[str]:
    """Header names with alias spellings replaced by the mapping's (e.g. InvoiceNo → Invoice)."""
    alias = {alt: canon for canon, alts in m.aliases.items() for alt in alts if canon not in names}
    return [alias.get(n, n) for n in names]


def _require_columns(raw: ibis.Table, m: Mapping) -> None:
    missing = sorted(m.source_columns() - set(raw.columns))
    if missing:
        have = [c for c in raw.columns if not c.startswith("_")]
        raise InputError("file columns", f"the columns {missing} that mapping {m.name!r} reads", have)


def _events(engine: ibis.BaseBackend, good: ibis.Table, m: Mapping, ingest_id: str) -> ibis.Table:
    """The new events: event columns of the good rows, tagged with the batch (recovery finds them by it)."""
    events = good.select(*[c for c in schema.EVENTS.names if c in good.columns], source=ibis.literal(ingest_id))
    if m.identical_rows == "events":  # the k-th of identical records gets its own id (the same k on a re-ingest)
        k = ibis.row_number().over(group_by=events.event_id).cast("string")
        events = events.mutate(event_id=md5(events.event_id + "#" + k))
    if not is_utc(m):
        return events
    span = engine.execute(good.aggregate(lo=good.ts.min(), hi=good.ts.max())).iloc[0]
    if span["lo"] is None or span["lo"] != span["lo"]:
        return events
    return events.mutate(ts=to_local(events.ts, m.timezone or "UTC", (span["lo"].to_pydatetime(), span["hi"].to_pydatetime())))


def _write(store: Store, engine: ibis.BaseBackend, t: ibis.Table, rejects: pd.DataFrame, m: Mapping, b: Batch,
           first_record: int) -> dict:
    good = t.filter(t._reason.isnull())
    events = _events(engine, good, m, b.ingest_id)
    bad = _quarantine_rows(engine, t, rejects, first_record, str(b.path), b.ingest_id)
    users = _user_rows(good, m)
    n_rows, n_good = (int(x) for x in engine.execute(t.aggregate(n=t.count(), good=t._reason.isnull().sum())).iloc[0])
    if store.engine != "duckdb":  # move the validated rows out of the staging engine
        events = engine.to_pyarrow(events)
        users = engine.to_pyarrow(users) if users is not None else None
    with store.transaction():  # the ingests row is written last: it is the batch's commit record
        loaded = store.append("events", events)
        store.append("quarantine", bad)
        if users is not None:
            store.append("users", users)
        counts = {"read": n_rows + len(rejects), "loaded": loaded, "duplicates": n_good - loaded,
                  "quarantined": n_rows - n_good + len(rejects)}
        store.append("ingests", pd.DataFrame([{
            "ingest_id": b.ingest_id, "source": str(b.path), "sha256": b.sha256.result(), "layout": m.name, "target": store.url,
            "started_at": b.started_at, "finished_at": dt.datetime.now(), **counts,
        }]))
    return counts


def _quarantine_rows(engine: ibis.BaseBackend, t: ibis.Table, rejects: pd.DataFrame, first: int, source: str, ingest_id: str) -> pd.DataFrame:
    """Rows that failed validation (numbered by their record in the file) and the parser's rejects."""
    invalid = staging.invalid_rows(engine.con, t.get_name())
    records = staging.record_numbers(invalid["_row"], rejects["record"], first)
    now = dt.datetime.now()
    rows = pd.DataFrame({
        "ingest_id": ingest_id, "source": source, "row_number": records.astype("int64"), "raw": invalid["_raw"],
        "field": invalid["_reason"].str.split(":").str[0], "reason": invalid["_reason"], "quarantined_at": now,
    })
    parsed = pd.DataFrame({
        "ingest_id": ingest_id, "source": source, "row_number": rejects["record"].astype("int64"),
        "raw": rejects["raw"], "field": rejects["column"], "reason": rejects["reason"], "quarantined_at": now,
    })
    return pd.concat([rows, parsed], ignore_index=True).astype({"row_number": "int64"})


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
