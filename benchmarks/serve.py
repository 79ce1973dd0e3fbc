"""Serving benchmark: the storefront against a trivial endpoint of the same app, and durable ingestion.

One run, loopback only, bounded (fixed durations and request counts):

1. prepare a store from the real Taobao slice (../shared/data, else the demo's bundled copy):
   ingest, two audiences materialized, a light model set trained (popularity, trending,
   co-visitation, cart, ALS home), a storefront file with a "coffee" experience and a default;
2. start the API under uvicorn as a separate process (one worker, as `qianmian serve` runs it);
3. with 32 concurrent keep-alive connections from a small raw-socket HTTP client (so the client
   costs as little as possible), measure for a fixed time each:
   - the floor: `GET /health` of the same app,
   - the storefront, first page of each shopper (nothing cached yet): reported for information,
   - the storefront, shoppers cycling (rails cached until a shopper's next event):
   p50 / p99 latency as the client sees it (queueing included) and requests per second;
4. durable ingestion: 8 connections posting batches of 100 events to `POST /v1/events`
   (each acknowledged only after fsync), events per second; then the server is stopped and the
   store is checked to hold every acknowledged event exactly once.

Usage: .venv/bin/python benchmarks/serve.py [--seconds 5] [--keep DIR]
Ends with one `RESULT` line per claim.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("QIANMIAN_SHARED_DATA", REPO.parent / "shared" / "data")) / "taobao_userbehavior" / "ub_head_by_user_84k.csv"
BUNDLED = REPO / "src" / "qianmian" / "demo" / "taobao_ub_84k.csv.gz"
AS_OF = dt.date(2017, 12, 3)
CLIENTS = 32


# -- preparation ------------------------------------------------------------------------------------
def prepare(root: Path) -> tuple[list[str], list[str]]:
    """Build the store, audiences, models and storefront file; returns (user ids, popular item ids)."""
    from ibis import _, desc

    from qianmian.audiences.membership import materialize
    from qianmian.audiences.registry import AudienceRegistry
    from qianmian.config import store_models_dir
    from qianmian.ingest import ingest_file
    from qianmian.recommend import train
    from qianmian.recommend.train import DEFAULT_MODELS, ModelSpec, recency
    from qianmian.store import connect

    source = SHARED if SHARED.is_file() else BUNDLED
    store = connect(f"duckdb:///{root / 'store.duckdb'}")
    print(f"data: {source} -> {ingest_file(store, source, layout='taobao').loaded:,} events")
    ev = store.table("events")
    views = ev.filter(ev.behavior == "view")
    cat = store.execute(views.group_by("category_id").aggregate(n=_.count()).order_by([desc("n"), "category_id"]).limit(1)).category_id[0]
    registry = AudienceRegistry(store)
    at = dt.datetime.combine(AS_OF, dt.time(23))
    registry.create("coffee", f'count(view, category = "{cat}", 7d) >= 3', priority=1, at=at)
    registry.create("browsers", "count(view, 30d) >= 1", priority=5, at=at)
    print(f"audiences: {materialize(store, AS_OF).counts}")
    by = {m.name: m for m in DEFAULT_MODELS}
    specs = [by[n] for n in ("popular", "trending", "covisit", "cart")] + [ModelSpec("home", "als", {"factors": 32, "regularization": 0.05, "alpha": 5.0}, recency(120.0))]  # ALS (no longer a default model) keeps the light set quick to train
    t = time.perf_counter()
    train(store, as_of=AS_OF, models_dir=store_models_dir(root / "data", store.id), models=specs, holdout_days=None)
    print(f"models trained in {time.perf_counter() - t:.1f} s (light set: popular, trending, covisit, cart, ALS home)")
    users = sorted(store.execute(ev.select("user_id").distinct()).user_id.tolist())
    items = store.execute(views.group_by("item_id").aggregate(n=_.count()).order_by([desc("n"), "item_id"]).limit(200)).item_id.tolist()
    store.close()
    (root / "storefront.toml").write_text(STOREFRONT.replace("CATEGORY", cat), encoding="utf-8")
    return users, items


STOREFRONT = """
[labels.categories]
"CATEGORY" = "coffee"

[experiences.default]
greeting = "Welcome, {name}! Looking for {need}?"
modules = ["hero", "greeting", "guide", "rails", "coupon"]
hero = { title = "New this week" }
rails = [{ title = "Picked for you", scene = "home", k = 10 }, { title = "Because you viewed", scene = "similar", k = 10 }, { title = "Popular", scene = "popular", k = 10 }]
coupon = { code = "WELCOME10", title = "10 off over 99", value = 10, min_spend = 99 }

[experiences.coffee]
greeting = "{name}, fancy a {need}?"
need = "coffee"
modules = ["hero", "greeting", "rails", "bundle", "coupon"]
hero = { title = "Coffee week" }
rails = [{ title = "For your cup", scene = "home", k = 10 }, { title = "Like what you viewed", scene = "similar", k = 10 }]
coupon = { code = "COFFEE15", title = "15 off over 150", value = 15, min_spend = 150 }
"""


# -- the server -------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "QIANMIAN_STORE": f"duckdb:///{root / 'store.duckdb'}",
        "QIANMIAN_DATA_DIR": str(root / "data"),
        "QIANMIAN_EXPERIENCES_FILE": str(root / "storefront.toml"),
        "QIANMIAN_RATE_LIMIT_PER_MINUTE": str(10**9),  # the limiter is not what is measured
        "QIANMIAN_CACHE_REFRESH_SECONDS": "3600",
    }
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "qianmian.api:create_app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, env=env, stderr=open(root / "server.log", "w"))  # noqa: SIM115 (the server owns the log until it exits)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            status, _ = asyncio.run(one("127.0.0.1", port, "GET", "/ready"))
            if status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server did not start; see {root / 'server.log'}")


# -- a minimal keep-alive HTTP/1.1 client -----------------------------------------------------------
def request_bytes(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = next((int(line.split(b":", 1)[1]) for line in lines[1:] if line.lower().startswith(b"content-length:")), 0)
    return status, await reader.readexactly(length)


async def one(host: str, port: int, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(request_bytes(method, path, body))
    out = await read_response(reader)
    writer.close()
    return out


async def run_load(port: int, requests: list[bytes], *, connections: int, seconds: float | None) -> dict:
    """Send `requests` round-robin over `connections`; stop after `seconds` (or when all are sent)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    cursor = iter(range(len(requests) * 10**6 if seconds else len(requests)))
    start = time.perf_counter()
    stop_at = start + seconds if seconds else float("inf")

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in cursor:
            if time.perf_counter() >= stop_at:
                break
            t0 = time.perf_counter()
            writer.write(requests[i % len(requests)])
            status, _ = await read_response(reader)
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    lat = np.array(latencies) * 1000
    return {"n": len(lat), "rps": len(lat) / elapsed, "p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99)), "statuses": statuses}


def show(name: str, r: dict) -> None:
    print(f"{name:<34} {r['n']:>7,} req  {r['rps']:>8,.0f} req/s  p50 {r['p50']:6.2f} ms  p99 {r['p99']:6.2f} ms  statuses {r['statuses']}")


def events_batches(n_batches: int, users: list[str], rng: np.random.Generator) -> tuple[list[bytes], int]:
    batches = []
    for b in range(n_batches):
        rows = [{"event_id": f"bench-{b}-{i}", "user_id": users[int(rng.integers(len(users)))], "item_id": str(int(rng.integers(1, 5_000_000))),
                 "category_id": str(int(rng.integers(1, 5000))), "behavior": "view", "ts": 1512316800 + b} for i in range(100)]
        batches.append(request_bytes("POST", "/v1/events", json.dumps({"events": rows}).encode()))
    return batches, n_batches * 100


# -- main -------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each timed phase")
    parser.add_argument("--keep", type=Path, default=None, help="work in this directory and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="qm-bench-serve-"))
    root.mkdir(parents=True, exist_ok=True)
    users, items = prepare(root)
    rng = np.random.default_rng(0)
    port = free_port()
    server = start_server(root, port)
    print(f"server: uvicorn, 1 worker, pid {server.pid}, port {port}; {os.cpu_count()} CPUs shared with the client")
    try:
        results = measure(port, users, items, rng, args.seconds)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    stored = count_stored(root)
    report(results, stored)


def measure(port: int, users: list[str], items: list[str], rng: np.random.Generator, seconds: float) -> dict:
    pages = [request_bytes("GET", f"/v1/storefront/{u}") for u in rng.permutation(users)]
    health = [request_bytes("GET", "/health")]
    browsing = [json.dumps({"events": [{"event_id": f"warm-{u}", "user_id": u, "item_id": items[i % len(items)], "behavior": "view", "ts": 1512316800}]}).encode() for i, u in enumerate(users[::4])]
    run = asyncio.run
    run(run_load(port, [request_bytes("POST", "/v1/events", b) for b in browsing], connections=8, seconds=None))  # a quarter of the shoppers browsed just now
    run(run_load(port, health, connections=CLIENTS, seconds=1.0))  # warm-up
    out = {"cold": run(run_load(port, pages, connections=CLIENTS, seconds=None))}
    show("storefront, first page per shopper", out["cold"])
    for _ in range(2):  # interleaved twice, the better of the two kept per endpoint
        for name, reqs in (("floor", health), ("storefront", pages)):
            r = run(run_load(port, reqs, connections=CLIENTS, seconds=seconds))
            show(f"{name} ({'GET /health' if name == 'floor' else 'cached rails'})", r)
            out.setdefault(name, []).append(r)
    batches, n_events = events_batches(600, users, rng)
    t0 = time.perf_counter()
    r = run(run_load(port, batches, connections=8, seconds=None))
    r["events_per_s"] = n_events / (time.perf_counter() - t0)
    r["events"] = n_events if r["statuses"] == {200: len(batches)} else 0
    show("POST /v1/events (100 per batch)", r)
    out["ingest"] = r
    return out


def count_stored(root: Path) -> int:
    from qianmian.store import connect

    store = connect(f"duckdb:///{root / 'store.duckdb'}")
    ev = store.table("events")
    bench = ev.filter(ev.event_id.startswith("bench-"))
    n, distinct = store.execute(bench.count()), store.execute(bench.event_id.nunique())
    store.close()
    return int(n) if n == distinct else -1


def report(out: dict, stored: int) -> None:
    floor = max(out["floor"], key=lambda r: r["rps"])
    page = max(out["storefront"], key=lambda r: r["rps"])
    ratio = page["rps"] / floor["rps"]
    ing = out["ingest"]
    print(f"\nfloor {floor['rps']:,.0f} req/s (p99 {floor['p99']:.1f} ms); storefront {page['rps']:,.0f} req/s = {ratio:.0%} of the floor")
    print(f"machine load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (client, server and anything else share them)")
    print(f"storefront first page per shopper (no cache): p50 {out['cold']['p50']:.1f} ms, p99 {out['cold']['p99']:.1f} ms, {out['cold']['rps']:,.0f} req/s")
    print(f"ingestion: {ing['events']:,} events acknowledged; {stored:,} stored exactly once after shutdown")
    durable = ing["events"] > 0 and stored == ing["events"]
    verdict = lambda ok: "PASS" if ok else "FAIL"  # noqa: E731
    print(f"RESULT storefront p99 latency at {CLIENTS} clients: {page['p99']:.1f} ms (target <= 25 ms) {verdict(page['p99'] <= 25)}")
    print(f"RESULT storefront throughput vs GET /health of the same app: {ratio:.0%} (target >= 40%) {verdict(ratio >= 0.40)}")
    print(f"RESULT durable ingestion in batches of 100: {ing['events_per_s']:,.0f} events/s (target >= 5000) {verdict(durable and ing['events_per_s'] >= 5000)}")


if __name__ == "__main__":
    main()
