"""Kill the server with SIGKILL mid-load: every acknowledged event is stored exactly once.

The server runs as a real process (uvicorn) so the kill is real: no shutdown hook runs, the
writer's in-memory queue is lost, and only what was fsynced survives.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from qianmian.store import connect

CLIENTS = 4
BATCH = 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(tmp_path: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "QIANMIAN_STORE": f"duckdb:///{tmp_path / 'store.duckdb'}",
        "QIANMIAN_DATA_DIR": str(tmp_path / "data"),
        "QIANMIAN_WRITER_INTERVAL_SECONDS": "0.05",
        "QIANMIAN_WRITER_BATCH_ROWS": "300",
    }
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "qianmian.api:create_app", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"server-{port}.log", "w"))  # noqa: SIM115 (the server owns the log until it exits)
    _wait_ready(proc, port)
    return proc


def _wait_ready(proc: subprocess.Popen, port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "server exited during start-up"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not become ready")


def _client(port: int, n: int, acked: set[str], stop: threading.Event) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        for b in range(10_000):
            if stop.is_set():
                return
            ids = [f"c{n}-b{b}-{i}" for i in range(BATCH)]
            if b % 5 == 4:  # re-send an acknowledged id: it must still be stored once
                ids[0] = f"c{n}-b{b - 1}-0"
            events = [{"event_id": e, "user_id": f"u{n}", "item_id": f"i{i}", "behavior": "view", "ts": 1511544070 + b} for i, e in enumerate(ids)]
            try:
                r = http.post("/v1/events", json={"events": events})
            except httpx.HTTPError:
                return  # the server died under us: this batch was never acknowledged
            if r.status_code == 200 and r.json()["accepted"] == BATCH:
                acked.update(ids)


@pytest.mark.slow
def test_every_acknowledged_event_survives_sigkill_exactly_once(tmp_path):
    port = _free_port()
    server = _start(tmp_path, port)
    acked: set[str] = set()
    stop = threading.Event()
    clients = [threading.Thread(target=_client, args=(port, n, acked, stop)) for n in range(CLIENTS)]
    for c in clients:
        c.start()
    while len(acked) < 2_000:
        time.sleep(0.02)
    server.send_signal(signal.SIGKILL)  # mid-load: clients are still posting
    server.wait()
    stop.set()
    for c in clients:
        c.join()
    assert (tmp_path / "data" / "wal").is_dir()

    restarted = _start(tmp_path, port)  # replays the log before it reports ready
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(30) in (0, -signal.SIGTERM)  # recent uvicorn re-raises the signal after a clean shutdown

    store = connect(f"duckdb:///{tmp_path / 'store.duckdb'}")
    ev = store.table("events")
    counts = store.execute(ev.group_by("event_id").aggregate(n=ev.count()))
    assert counts.n.max() == 1, "an event id is stored twice"
    missing = acked - set(counts.event_id)
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:3]}"
    store.close()
