"""Two `qianmian serve` replicas on one sc:// store (a real local cluster), each with its own data
dir and write-ahead log: what docs/api.md's "Running replicas" promises, checked end to end."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from tests.conftest import QIANMIAN, _reset_spark, qianmian

DEMO = Path(__file__).resolve().parents[2] / "src" / "qianmian" / "demo" / "taobao_ub_84k.csv.gz"
REFRESH = 4.0

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _replica(url: str, data_dir: Path):
    port = _free_port()
    env = {**os.environ, "QIANMIAN_DATA_DIR": str(data_dir), "QIANMIAN_AUTH": "true",
           "QIANMIAN_CACHE_REFRESH_SECONDS": str(REFRESH), "QIANMIAN_WRITER_INTERVAL_SECONDS": "0.2"}
    log = open(data_dir.parent / f"{data_dir.name}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([QIANMIAN, "serve", "--store", url, "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert proc.poll() is None, (data_dir.parent / f"{data_dir.name}.log").read_text()[-2000:]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/ready", timeout=30).status_code == 200:
                    break
            time.sleep(1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _total(base: str, key: str) -> int:
    r = httpx.get(base + "/v1/reports/aipl", params={"as_of": "2017-12-03"}, headers={"X-API-Key": key}, timeout=120)
    assert r.status_code == 200, r.text
    return int(r.json()["total"])


def test_two_replicas_share_events_keys_and_audiences(spark_cluster, sc_store, tmp_path):
    _reset_spark(sc_store)
    url = spark_cluster["store"]
    qianmian("ingest", str(DEMO), "--format", "taobao", "--store", url, "--json")
    admin = json.loads(qianmian("keys", "create", "--scope", "admin", "--scope", "read", "--scope", "ingest", "--store", url, "--json").stdout)["key"]
    reader = json.loads(qianmian("keys", "create", "--scope", "read", "--store", url, "--json").stdout)
    qianmian("audience", "create", "buyers", "--rule", "count(buy, 30d) >= 1", "--store", url)
    qianmian("audience", "materialize", "--as-of", "2017-12-03", "--store", url)
    member = sc_store.execute(sc_store.table("events").filter(lambda t: t.behavior == "buy").user_id.min())
    h = {"X-API-Key": admin}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with _replica(url, tmp_path / "a") as a, _replica(url, tmp_path / "b") as b:
        # an audience materialized through the CLI is served by both
        for base in (a, b):
            page = httpx.get(f"{base}/v1/storefront/{member}", headers=h, timeout=120)
            assert page.status_code == 200, page.text
            assert "buyers" in page.json()["audiences"]

        # an event sent to A is in B's reports after B's refresh
        before = _total(b, admin)
        event = {"event_id": "replica-e1", "user_id": "replica-newcomer", "item_id": "1", "category_id": "1",
                 "behavior": "buy", "ts": "2017-12-03T12:00:00"}
        assert httpx.post(a + "/v1/events", json={"events": [event]}, headers=h, timeout=60).json()["accepted"] == 1
        deadline = time.monotonic() + 120
        while sc_store.count("events") < 84_441 and time.monotonic() < deadline:  # A's writer moves it into the store
            time.sleep(0.5)
        assert sc_store.count("events") == 84_441  # seen by this (a third) long-lived client too
        started = time.monotonic()
        assert httpx.post(b + "/v1/admin/refresh", headers=h, timeout=300).status_code == 200
        one_refresh = time.monotonic() - started  # what one refresh of B's snapshots takes on this cluster
        assert _total(b, admin) == before + 1

        # a key revoked through A is refused by B within the refresh interval
        rh = {"X-API-Key": reader["key"]}
        assert httpx.get(b + "/v1/summary", headers=rh, timeout=120).status_code == 200
        assert httpx.delete(f"{a}/v1/keys/{reader['key_id']}", headers=h, timeout=60).status_code == 200
        revoked_at = time.monotonic()
        # docs/api.md: within cache_refresh_seconds plus the time of the refresh under way and the next
        bound = REFRESH + 2 * one_refresh + 5.0
        while httpx.get(b + "/v1/summary", headers=rh, timeout=120).status_code != 401:
            assert time.monotonic() - revoked_at < bound, f"B still accepts the revoked key after {bound:.1f}s"
            time.sleep(0.5)
