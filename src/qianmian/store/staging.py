"""Staging: read a source file into a temporary all-text table of the DuckDB engine.

Ingestion always parses files with DuckDB (in the target store when it is DuckDB, else in a private
in-memory DuckDB), so every engine gets the same rows, the same rejects and the same reasons.
File names and column names travel as query parameters, never inside SQL text.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd

from qianmian.errors import InputError

Format = Literal["csv", "jsonl", "parquet"]
_ids = itertools.count(1)
LINE = "_line"  # the single column of a JSON Lines file read as text


@dataclass(frozen=True)
class Staged:
    """A staged file: the temp table of parsed records, and the records the parser rejected."""

    table: str
    rows: int
    rejects: pd.DataFrame  # columns: record (1-based record number in the file), raw, column, reason
    first_record: int  # record number of the first data record (2 when there is a header)


def detect_format(path: Path) -> Format:
    name = path.name.lower().removesuffix(".gz")
    for ext, fmt in ((".parquet", "parquet"), (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "jsonl")):
        if name.endswith(ext):
            return fmt  # type: ignore[return-value]
    return "csv"


def header_columns(path: Path, delimiter: str) -> list[str]:
    """The column names on the first line of a (possibly gzipped) CSV file."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:  # type: ignore[operator]
        first = fh.readline()
    row = next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
    if not row:
        raise InputError("file", "a header line naming the columns", first[:80])
    return [c.strip().lstrip("\ufeff") for c in row]


def stage(con: duckdb.DuckDBPyConnection, path: Path, *, fmt: Format, columns: list[str], header: bool, delimiter: str = ",") -> Staged:
    """Read `path` into a new temp table (all columns VARCHAR); rejected records are returned."""
    n = next(_ids)
    table, rejects, scan = f"_qm_raw_{n}", f"_qm_rejects_{n}", f"_qm_scan_{n}"
    if fmt == "parquet":
        # Parquet is typed already; its values are read as text so every format has one validation path.
        con.execute(f'CREATE TEMP TABLE "{table}" AS SELECT COLUMNS(*)::VARCHAR FROM read_parquet($path)', {"path": str(path)})
        return Staged(table, _count(con, table), _empty_rejects(), 1)
    if fmt == "jsonl":
        col_types = {LINE: "VARCHAR"}
        delim, quote, has_header = "\x1e", "", False
    else:
        col_types = {c: "VARCHAR" for c in columns}
        delim, quote, has_header = delimiter, '"', header
    con.execute(
        f"""CREATE TEMP TABLE "{table}" AS SELECT * FROM read_csv($path, auto_detect=false, columns=$cols,
        header=$header, delim=$delim, quote=$quote, escape=$quote, strict_mode=true, store_rejects=true,
        rejects_table='{rejects}', rejects_scan='{scan}', max_line_size=1048576)""",
        {"path": str(path), "cols": col_types, "header": has_header, "delim": delim, "quote": quote},
    )
    rej = con.execute(
        f"""SELECT line AS record, csv_line AS raw, column_name AS "column", error_type, error_message
        FROM "{rejects}" ORDER BY line"""
    ).df()
    con.execute(f'DROP TABLE IF EXISTS "{rejects}"')
    con.execute(f'DROP TABLE IF EXISTS "{scan}"')
    return Staged(table, _count(con, table), _reasons(rej), 2 if has_header else 1)


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # type: ignore[index]


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({"record": pd.Series(dtype="int64"), "raw": [], "column": [], "reason": []})


_PLAIN = {
    "MISSING COLUMNS": "too few columns (a truncated or short line)",
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
