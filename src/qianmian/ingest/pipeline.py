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
from dataclasses import asdict, dataclass
from pathlib import Path

import ibis
import pandas as pd

from qianmian.errors import InputError
from qianmian.ingest.mapping import Mapping, load_mapping
from qianmian.ingest.transform import checked, json_columns
from qianmian.store import Store, schema
from qianmian.store import staging

Progress = Callable[[str, int], None]
STEPS = ("reading", "validating", "writing", "done")


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


def ingest_file(
    store: Store,
    path: str | Path,
    *,
    layout: str | None = "taobao",
    mapping: str | Path | Mapping | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Load one CSV (optionally gzipped), JSON Lines or Parquet file into `store`.

    >>> ingest_file(store, "ub_head_by_user_84k.csv", layout="taobao").loaded
    84440
    """
    started = time.perf_counter()
    p = Path(path)
    if not p.is_file():
        raise InputError("path", "an existing file", str(path))
    m = mapping if isinstance(mapping, Mapping) else load_mapping(None if mapping else layout, mapping)
    report = progress or (lambda step, n: None)
    engine = _staging_engine(store)
    ingest_id = uuid.uuid4().hex[:16]
    report("reading", 0)
    staged = _stage(engine, p, m)
    report("validating", staged.rows)
    checks = _checked(engine, staged, m, ingest_id)
    report("writing", staged.rows)
    counts = _write(store, engine, checks, staged, m, p, ingest_id)
    _drop(engine, staged.table, checks)
    report("done", staged.rows)
    return IngestResult(ingest_id, str(p), m.name, seconds=time.perf_counter() - started, **counts)


def _staging_engine(store: Store) -> ibis.BaseBackend:
    return store.con if store.engine == "duckdb" else ibis.duckdb.connect()


def _stage(engine: ibis.BaseBackend, p: Path, m: Mapping) -> staging.Staged:
    fmt = m.format or staging.detect_format(p)
    if fmt == "csv":
        cols = staging.header_columns(p, m.delimiter) if m.header else list(m.columns)
        if not cols:
            raise InputError("mapping columns", "column names for a file without a header", cols)
    else:
        cols = []
    return staging.stage(engine.con, p, fmt=fmt, columns=cols, header=m.header, delimiter=m.delimiter)


def _canonical(raw: ibis.Table, m: Mapping) -> ibis.Table:
    """Rename alias spellings of columns (e.g. InvoiceNo → Invoice) and check every needed column exists."""
    renames = {canon: alt for canon, alts in m.aliases.items() for alt in alts if alt in raw.columns and canon not in raw.columns}
    raw = raw.rename(renames) if renames else raw
    missing = sorted(m.source_columns() - set(raw.columns))
    if missing:
        have = [c for c in raw.columns if not c.startswith("_qm")]
        raise InputError("file columns", f"the columns {missing} that mapping {m.name!r} reads", have)
    return raw


def _checked(engine: ibis.BaseBackend, staged: staging.Staged, m: Mapping, ingest_id: str) -> str:
    view = f"{staged.table}_v"
    engine.con.execute(f'CREATE OR REPLACE TEMP VIEW "{view}" AS SELECT rowid AS _qm_rowid, * FROM "{staged.table}"')
    raw = engine.table(view)
    pre = None
    if "_line" in raw.columns:
        raw, pre = json_columns(raw, m.source_columns())
    expr = checked(_canonical(raw, m), m, source=ingest_id, pre_reason=pre)
    name = f"{staged.table}_checked"
    engine.create_table(name, expr, temp=True)
    return name


def _write(store: Store, engine: ibis.BaseBackend, checks: str, staged: staging.Staged, m: Mapping, p: Path, ingest_id: str) -> dict:
    t = engine.table(checks)
    good = t.filter(t._reason.isnull())
    events = good.select(*[c for c in schema.EVENTS.names if c in good.columns])
    bad = _quarantine_rows(engine, t, staged, str(p), ingest_id)
    users = _user_rows(good, m)
    n_good = int(engine.execute(good.count()))
    if store.engine != "duckdb":  # move the validated rows out of the staging engine
        events, bad = engine.to_pyarrow(events), engine.to_pyarrow(bad)
        users = engine.to_pyarrow(users) if users is not None else None
    started = dt.datetime.now()
    with store.transaction():
        loaded = store.append("events", events)
        store.append("quarantine", bad)
        if users is not None:
            store.append("users", users)
        counts = {"read": staged.rows + len(staged.rejects), "loaded": loaded, "duplicates": n_good - loaded,
                  "quarantined": staged.rows - n_good + len(staged.rejects)}
        store.append("ingests", pd.DataFrame([{"ingest_id": ingest_id, "source": str(p), "sha256": _sha256(p), "layout": m.name,
                                                "target": store.url, "started_at": started, "finished_at": dt.datetime.now(), **counts}]))
    return counts


def _quarantine_rows(engine: ibis.BaseBackend, t: ibis.Table, staged: staging.Staged, source: str, ingest_id: str) -> ibis.Table:
    invalid = engine.to_pandas(t.filter(t._reason.notnull()).select("_row", "_raw", "_reason"))
    now = dt.datetime.now()
    records = staging.record_numbers(invalid["_row"], staged.rejects["record"], staged.first_record)
    rows = pd.DataFrame({
        "ingest_id": ingest_id, "source": source, "row_number": records.astype("int64"), "raw": invalid["_raw"],
        "field": invalid["_reason"].str.split(":").str[0], "reason": invalid["_reason"], "quarantined_at": now,
    })
    rejects = pd.DataFrame({
        "ingest_id": ingest_id, "source": source, "row_number": staged.rejects["record"].astype("int64"),
        "raw": staged.rejects["raw"], "field": staged.rejects["column"], "reason": staged.rejects["reason"], "quarantined_at": now,
    })
    return ibis.memtable(pd.concat([rows, rejects], ignore_index=True).astype({"row_number": "int64"}))


def _user_rows(good: ibis.Table, m: Mapping) -> ibis.Table | None:
    if not m.users:
        return None
    cols = {k: good[f"_users_{k}"] for k in m.users}
    users = good.select(**cols).filter(ibis._.user_id.notnull())
    return users.distinct(on="user_id", keep="first")


def _drop(engine: ibis.BaseBackend, table: str, checks: str) -> None:
    engine.con.execute(f'DROP VIEW IF EXISTS "{table}_v"')
    for name in (checks, table):
        engine.con.execute(f'DROP TABLE IF EXISTS "{name}"')


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with p.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
