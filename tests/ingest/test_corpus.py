"""The corpus of broken inputs (tests/ingest/corpus.py, cut from the real files): every case's exact
outcome, read = an independent count of the file's records, quarantined = the quarantine table's
rows for that ingest; the same records through `POST /v1/events` where they can be events."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from corpus import Case, build  # tests/ingest is on sys.path (rootdir-relative test modules)

from qianmian.ingest import ingest_file
from qianmian.store import connect


@pytest.fixture(scope="module")
def corpus(shared_data, tmp_path_factory) -> tuple[Path, list[Case]]:
    out = tmp_path_factory.mktemp("corpus")
    return out, build(out, shared_data)


def independent_count(path: Path, *, header: bool) -> int:
    """Records of a file counted without the ingest code: non-empty lines (minus a header), or Parquet rows."""
    if path.suffix == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    lines = [x for x in data.split(b"\n") if x.rstrip(b"\r")]
    return len(lines) - (1 if header and lines else 0)


def run(store, out: Path, case: Case):
    kw = {"layout": None, "mapping": out / case.mapping} if case.mapping else {"layout": case.layout}
    return ingest_file(store, out / case.file, **kw)


def check(store, out: Path, case: Case) -> list[str]:
    """What is wrong with the outcome of `case` ([] when all is as expected)."""
    if case.counts is None:
        with pytest.raises(Exception) as refused:
            run(store, out, case)
        ok = case.error in str(refused.value) and store.count("events") == 0
        return [] if ok else [f"{case.name}: expected a refusal with {case.error!r}, got {refused.value!r}"]
    r = run(store, out, case)
    problems = []
    got = (r.read, r.loaded, r.duplicates, r.quarantined)
    if got != case.counts:
        problems.append(f"{case.name}: counts {got} != {case.counts}")
    header = case.layout == "online-retail" or (case.mapping is not None and not case.file.endswith((".jsonl", ".jsonl.gz")))
    if r.read != independent_count(out / case.file, header=header):
        problems.append(f"{case.name}: read {r.read} != independent count")
    q = store.execute(store.table("quarantine").filter(store.table("quarantine").ingest_id == r.ingest_id).order_by("row_number"))
    if len(q) != r.quarantined:
        problems.append(f"{case.name}: quarantined {r.quarantined} != {len(q)} quarantine rows")
    got_reasons = list(zip(q.row_number.tolist(), q.reason.tolist()))
    if len(got_reasons) != len(case.reasons) or any(n != m or text not in why for (n, why), (m, text) in zip(got_reasons, case.reasons)):
        problems.append(f"{case.name}: reasons {[(n, why[:90]) for n, why in got_reasons]} != {case.reasons}")
    return problems


def test_the_corpus_has_the_cases_the_issue_names(corpus):
    _, cases = corpus
    names = " ".join(c.name for c in cases)
    assert len(cases) >= 30
    for kind in ("quote", "latin1", "bom", "crlf", "empty_first_header", "duplicate_header", "extra_column", "missing_column",
                 "huge_field", "1900", "2100", "negative", "fractional", "zero", "na_markers", "truncated", "empty_file",
                 "header_only", ".gz", ".jsonl", ".parquet"):
        assert kind in names, kind


def test_every_case_gives_its_exact_outcome(corpus):
    out, cases = corpus
    problems = []
    for case in cases:
        store = connect("duckdb://")
        problems += check(store, out, case)
        store.close()
    assert problems == []


@pytest.mark.parametrize("name", ["tb_stray_quote.csv", "or_field_across_lines.csv", "or_negative_price.csv", "map_bad_values.parquet"])
def test_cases_on_each_engine(store, corpus, name):
    out, cases = corpus
    assert check(store, out, next(c for c in cases if c.name == name)) == []


def test_the_corpus_through_the_api(corpus, make_client):
    """Each case that can be events: all good → 200 and stored once; any bad → 422 listing exactly
    the bad indexes, and nothing of the request stored."""
    _, cases = corpus
    client = make_client()
    svc = client.app.state.services
    sent = 0
    for case in (c for c in cases if c.events):
        r = client.post("/v1/events", json={"events": case.events})
        if case.bad_events:
            assert r.status_code == 422, case.name
            assert [x["index"] for x in r.json()["rejected"]] == case.bad_events, case.name
        else:
            assert r.status_code == 200 and r.json()["accepted"] == len(case.events), case.name
            sent += len({e["event_id"] for e in case.events})
    assert svc.log.drain(10)
    assert svc.locked(svc.store.count, "events") == sent


@pytest.fixture
def make_client(tmp_path):
    import datetime as dt

    from fastapi.testclient import TestClient

    from qianmian.api import create_app
    from qianmian.config import Settings

    now = dt.datetime(2017, 12, 4, 10, 0, 0)
    settings = Settings(store=f"duckdb:///{tmp_path / 'store.duckdb'}", data_dir=tmp_path / "data", writer_interval_seconds=0.02)
    opened = []

    def make():
        client = TestClient(create_app(settings, clock=lambda: now))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for c in opened:
        c.__exit__(None, None, None)
