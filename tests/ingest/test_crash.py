"""A SIGKILL in the middle of an ingest leaves the store as it was; re-running completes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from qianmian.ingest.generate import GeneratorConfig, write_events
from qianmian.store import connect

pytestmark = pytest.mark.slow


def _ingest_cmd(path, store_url):
    return [sys.executable, "-m", "qianmian.cli", "ingest", str(path), "--format", "taobao", "--store", store_url, "--json"]


def test_sigkill_mid_ingest_leaves_store_consistent_and_rerun_completes(tmp_path):
    data = tmp_path / "events.csv"
    write_events(data, GeneratorConfig(events=600_000, seed=3))
    url = f"duckdb:///{tmp_path / 'store.duckdb'}"
    store = connect(url)
    store.close()
    proc = subprocess.Popen(_ingest_cmd(data, url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    _wait_until_writing(proc, tmp_path / "store.duckdb.wal")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    store = connect(url)
    events, ingests = store.count("events"), store.count("ingests")
    assert (events, ingests) in ((0, 0), (_expected_rows(data), 1)), "a half-written batch is visible"
    store.close()
    done = subprocess.run(_ingest_cmd(data, url), capture_output=True, text=True, timeout=600, check=True)
    result = json.loads(done.stdout)
    store = connect(url)
    assert store.count("events") == result["loaded"] + (events if events else 0)
    assert result["read"] == result["loaded"] + result["duplicates"] + result["quarantined"]
    assert store.count("events") == _expected_rows(data)


def _wait_until_writing(proc, wal) -> None:
    """Return once the ingest is writing to the store (its write-ahead log exists), or it ended."""
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not wal.exists():
        time.sleep(0.01)
    assert proc.poll() is None, "the ingest finished before it could be killed; use a bigger file"


def _expected_rows(path) -> int:
    import duckdb

    sql = "SELECT count(*) FROM (SELECT DISTINCT * FROM read_csv(?, header=false))"
    return duckdb.connect().execute(sql, [str(path)]).fetchone()[0]
