"""The `cdnow` layout: whitespace-separated CDNOW master (with a header) and sample (without) as buy events."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qianmian.ingest import ingest_file
from qianmian.store import connect


@pytest.fixture
def empty(tmp_path):
    store = connect(f"duckdb:///{tmp_path / 'store.duckdb'}")
    yield store
    store.close()


def test_sample_then_master_every_line_accounted_for(empty, shared_data) -> None:
    sample = ingest_file(empty, shared_data / "cdnow/CDNOW_sample.txt", layout="cdnow")
    assert (sample.read, sample.loaded, sample.duplicates, sample.quarantined) == (6919, 6919, 0, 0)
    ev = empty.table("events")
    first = empty.execute(ev.filter(ev.user_id == "00004").order_by("ts").limit(1)).iloc[0]
    assert (first.behavior, first.ts.date(), first.quantity, first.amount) == ("buy", dt.date(1997, 1, 1), 2, 29.33)
    master = ingest_file(empty, shared_data / "cdnow/CDNOW_master.txt", layout="cdnow")
    # the header line is recognised; the sample's lines are the master's (same customer ids): duplicates
    assert (master.read, master.loaded, master.duplicates, master.quarantined) == (69659, 69659 - 6919, 6919, 0)
    assert empty.execute(ev.user_id.nunique()) == 23570
    again = ingest_file(empty, shared_data / "cdnow/CDNOW_master.txt", layout="cdnow")
    assert (again.loaded, again.duplicates) == (0, 69659)


def test_identical_lines_are_separate_purchases_and_bad_lines_are_quarantined(empty, tmp_path) -> None:
    path = tmp_path / "cdnow.txt"
    path.write_bytes(b" 00001 0001 19970101  1   11.77\r\n 00001 0001 19970101  1   11.77\r\n"
                     b" 00002 0002 19970112  1\r\n 00003 0003 1997-01-12  1   5.00\r\n\t00004  0004 19970113 2 7.5\r\n")
    r = ingest_file(empty, path, layout="cdnow")
    assert (r.read, r.loaded, r.duplicates, r.quarantined) == (5, 3, 0, 2)
    q = empty.execute(empty.table("quarantine").order_by("row_number"))
    assert q.row_number.tolist() == [3, 4]
    assert q.reason[0].startswith("line: expected 5 fields separated by whitespace (id sample_id date cds dollars), received 4")
    assert q.reason[1].startswith("ts: expected a time like %Y%m%d") and "1997-01-12" in q.reason[1]
    assert ingest_file(empty, path, layout="cdnow").duplicates == 3  # the same file again: nothing new


_FIELD = st.text(alphabet="0123456789abcdefXYZ.-_", min_size=1, max_size=8)
_GAP = st.text(alphabet=" \t", min_size=1, max_size=4)


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(st.tuples(st.lists(_FIELD, min_size=5, max_size=5), st.lists(_GAP, min_size=6, max_size=6)), min_size=1, max_size=6))
def test_whitespace_split_equals_python_split(rows) -> None:
    """Any runs of spaces and tabs, leading and trailing ones too, separate the same fields as str.split()."""
    import ibis

    from qianmian.ingest.transform import whitespace_columns

    lines = ["".join(g + f for f, g in zip(fields, gaps[:5])) + gaps[5] for fields, gaps in rows]
    con = ibis.duckdb.connect()
    t = con.create_table("lines", ibis.memtable({"_line": lines}))
    names = ["id", "sample_id", "date", "cds", "dollars"]
    split, reason = whitespace_columns(t, names)
    got = con.execute(split.mutate(_why=reason).select(*names, "_why"))
    assert got[names].values.tolist() == [line.split() for line in lines]
    assert got._why.isna().all()
