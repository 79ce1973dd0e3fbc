"""Staging: scan a source file with the DuckDB engine, keeping the records its parser rejects.

Ingestion always parses files with DuckDB (in the target store when it is DuckDB, else in a private
in-memory DuckDB), so every engine gets the same rows, the same rejects and the same reasons.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd

from qianmian.errors import InputError

Format = Literal["csv", "jsonl", "parquet"]
_ids = itertools.count(1)
LINE = "_line"  # the single column of a JSON Lines file read as text


def detect_format(path: Path) -> Format:
    name = path.name.lower().removesuffix(".gz")
    for ext, fmt in ((".parquet", "parquet"), (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "jsonl")):
        if name.endswith(ext):
            return fmt  # type: ignore[return-value]
    return "csv"


def header_columns(path: Path, delimiter: str) -> list[str]:
    """The column names on the first line of a (possibly gzipped) CSV file."""
    first = first_line(path)
    row = split_fields(first, delimiter)
    if not row:
        raise InputError("file", "a header line naming the columns", first[:80])
    return [c.strip().lstrip("\ufeff") for c in row]


def split_fields(line: str, delimiter: str) -> list[str]:
    """The fields of one text line: runs of whitespace separate them for delimiter "whitespace"."""
    if delimiter == "whitespace":
        return line.split()
    return next(csv.reader(io.StringIO(line), delimiter=delimiter), [])


def first_line(path: Path) -> str:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:  # type: ignore[operator]
        return fh.readline()


def scan(engine, path: Path, *, fmt: Format, columns: dict[str, str], header: bool, delimiter: str = ",",
         lines: bool = False) -> tuple[object, str, str | None]:
    """Register `path` as an Ibis table scanned lazily, typed by `columns` (name -> DuckDB type).

    Records the parser rejects (broken quoting, wrong column count, a value that does not fit its
    type) are collected in a rejects table when the scan runs; `rejects(...)` reads them afterwards.
    `lines=True` (and JSON Lines) reads each line whole into one text column `_line`, skipping a
    header line when `header`. Returns (table, name of the registered view, rejects table name or None). Options travel
    escaped by Ibis, never spliced into SQL text.
    """
    n = next(_ids)
    view = f"_qm_scan_{n}"
    if fmt == "parquet":
        t = engine.read_parquet(str(path), table_name=view)
        return t.select(*[t[c].cast("string").name(c) for c in t.columns]), view, None
    rejects = f"_qm_rejects_{n}"
    options = dict(
        table_name=view, columns=columns, header=header, delim=delimiter, quote='"', escape='"',
        strict_mode=True, store_rejects=True, rejects_table=rejects, rejects_scan=f"_qm_rscan_{n}",
        max_line_size=1048576, auto_detect=False,
    )
    if fmt == "jsonl" or lines:
        options.update(columns={LINE: "VARCHAR"}, header=header and lines, delim="\x1e", quote="", escape="")
    return engine.read_csv(str(path), **options), view, rejects


def rejects(con: duckdb.DuckDBPyConnection, table: str | None) -> pd.DataFrame:
    """The records the parser rejected during the scan, with reasons a person understands."""
    if table is None:
        return _empty_rejects()
    rej = con.execute(
        f"""SELECT line AS record, csv_line AS raw, column_name AS "column", error_type, error_message
        FROM "{table}" ORDER BY line"""
    ).df()
    con.execute(f'DROP TABLE IF EXISTS "{table}"')
    con.execute(f'DROP TABLE IF EXISTS "{table.replace("_qm_rejects_", "_qm_rscan_")}"')
    return _reasons(rej)


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({"record": pd.Series(dtype="int64"), "raw": [], "column": [], "reason": []})


_PLAIN = {
    "MISSING COLUMNS": "too few columns (a truncated or short line)",
    "CAST": "a value that does not fit the column's type",
    "TOO MANY COLUMNS": "too many columns (an unquoted delimiter or an extra field)",
    "UNQUOTED VALUE": "broken quoting (a quote that is never closed, or text after a closing quote)",
    "INVALID UNICODE": "the line is not valid UTF-8",
    "LINE SIZE OVER MAXIMUM": "the line is longer than 1 MiB",
}


def _reasons(rej: pd.DataFrame) -> pd.DataFrame:
    """Turn DuckDB's reject records into reasons a person understands, naming the column."""
    if rej.empty:
        return _empty_rejects()
    plain = rej["error_type"].map(_PLAIN).fillna(rej["error_message"])
    reason = "column " + rej["column"].fillna("?").astype(str) + ": " + plain + " — " + rej["error_message"].astype(str)
    return pd.DataFrame({"record": rej["record"].astype("int64"), "raw": rej["raw"], "column": rej["column"], "reason": reason})


def invalid_rows(con: duckdb.DuckDBPyConnection, checked: str) -> pd.DataFrame:
    """Rows of the checked table that failed validation, with their position among parsed records
    (the table was written in file order, so its rowid is that position)."""
    sql = f'SELECT rowid AS _row, _raw, _reason FROM "{checked}" WHERE _reason IS NOT NULL ORDER BY rowid'
    return con.execute(sql).df()


def record_numbers(row_ids: pd.Series, rejected: pd.Series, first_record: int) -> pd.Series:
    """Record numbers in the file of parsed rows (0-based row ids), skipping the rejected records."""
    import numpy as np

    rej = np.sort(rejected.to_numpy(dtype="int64"))
    base = row_ids.to_numpy(dtype="int64") + first_record
    rec = base.copy()
    while True:  # converges in at most len(rej) rounds: each round accounts for more skipped records
        nxt = base + np.searchsorted(rej, rec, side="right")
        if np.array_equal(nxt, rec):
            return pd.Series(rec, index=row_ids.index)
        rec = nxt
