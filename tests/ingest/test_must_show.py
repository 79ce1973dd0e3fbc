"""The issue's must-show items on the real files: a stray quote costs one row, not the rest of the
file; read equals an independent count of every real file's records and quarantined equals the
quarantine table's rows for that ingest."""

from __future__ import annotations

import csv
import gzip
import random
from collections import Counter

import pytest
from test_corpus import independent_count  # tests/ingest is on sys.path

from qianmian.ingest import ingest_file
from qianmian.store import connect

TAIL = "taobao_userbehavior/ub_tail_10k.csv"
RETAIL = "online_retail_ii/online_retail_ii_2009_2010.csv.gz"


def _quarantine_rows(store, ingest_id: str) -> int:
    q = store.table("quarantine")
    return int(store.execute(q.filter(q.ingest_id == ingest_id).count()))


def test_stray_quote_at_row_501_of_10000_taobao_rows(shared_data, tmp_path):
    # old main: read 501, loaded 500, quarantined 1 — the other 9,499 rows gone without a word
    clean = ingest_file(connect("duckdb://"), shared_data / TAIL, layout="taobao")
    lines = (shared_data / TAIL).read_text().splitlines()
    lines[500] = lines[500].replace(",", ',"', 1)
    path = tmp_path / "stray.csv"
    path.write_text("\n".join(lines) + "\n")
    store = connect(f"duckdb:///{tmp_path / 's.duckdb'}")
    r = ingest_file(store, path, layout="taobao")
    assert r.read == 10_000 and r.quarantined == clean.quarantined + 1 and r.loaded == clean.loaded - 1
    q = store.execute(store.table("quarantine").filter(lambda t: t.field == "record"))
    assert q.row_number.tolist() == [501] and q.raw.tolist() == [lines[500]]


@pytest.mark.slow
def test_online_retail_ii_with_one_unclosed_quote_loads_all_but_that_line(shared_data, tmp_path):
    with gzip.open(shared_data / RETAIL, "rt", encoding="utf-8", newline="") as fh:
        text = fh.read().split("\n")
    seen = Counter(text)
    rng = random.Random(13)
    while True:  # a random sale line that is unique in the file and valid (so it would have loaded)
        i = rng.randrange(1, len(text) - 1)
        row = next(csv.reader([text[i]]))
        if seen[text[i]] == 1 and '"' not in text[i] and float(row[5]) >= 0:
            break
    text[i] = text[i].replace(",", ',"', 2).replace('"', "", 1)  # one unclosed quote at the start of Description
    path = tmp_path / "retail_quote.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8", newline="", compresslevel=1) as fh:
        fh.write("\n".join(text))
    store = connect(f"duckdb:///{tmp_path / 's.duckdb'}")
    r = ingest_file(store, path, layout="online-retail")
    clean_loaded = _clean_retail_loaded(shared_data / RETAIL)
    assert (r.read, r.loaded, r.quarantined) == (525_461, clean_loaded - 1, 3 + 1)
    assert r.read == independent_count(path, header=True) and _quarantine_rows(store, r.ingest_id) == r.quarantined
    q = store.execute(store.table("quarantine").filter(lambda t: t.field == "record"))
    assert q.row_number.tolist() == [i + 1] and q.raw.tolist() == [text[i]]


def _clean_retail_loaded(path) -> int:
    """Distinct lines with a price >= 0, computed with DuckDB SQL straight from the file."""
    import duckdb

    sql = "SELECT count(*) FROM (SELECT DISTINCT * FROM read_csv(?, header=true, all_varchar=true) WHERE Price::DOUBLE >= 0)"
    return duckdb.connect().execute(sql, [str(path)]).fetchone()[0]


@pytest.mark.parametrize(("file", "layout", "header"), [
    ("taobao_userbehavior/ub_head_by_user_84k.csv", "taobao", False),
    (TAIL, "taobao", False),
    ("cdnow/CDNOW_sample.txt", "cdnow", False),
    ("cdnow/CDNOW_master.txt", "cdnow", True),
    pytest.param(RETAIL, "online-retail", True, marks=pytest.mark.slow),
])
def test_real_files_read_equals_an_independent_count(shared_data, file, layout, header):
    store = connect("duckdb://")
    r = ingest_file(store, shared_data / file, layout=layout)
    assert r.read == independent_count(shared_data / file, header=header)
    assert r.read == r.loaded + r.duplicates + r.quarantined
    assert r.quarantined == _quarantine_rows(store, r.ingest_id)
