"""Recommendation benchmark: protocols R1 and R2 against peer libraries, and serving latency.

Run: .venv/bin/python benchmarks/recommend.py [--data ../shared/data] [--protocols R1,R2]

1. For each protocol, every method (ours and the peers: popularity, own history + popularity,
   implicit ALS / BPR / BM25 / cosine) is tuned on the validation split with a small grid and
   measured on the test split (`qianmian.recommend.evaluate.harness`).
2. Latency: one loaded model recommends 20 items for one user (history row in, filters on),
   timed over many users (p50 / p99), beside implicit's own `recommend` for one user.
Ends with one `RESULT` line per claim.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from qianmian.recommend.evaluate.data import load_protocol
from qianmian.recommend.evaluate.harness import Row, run_protocol, summary
from qianmian.recommend.persist import load, save

TARGETS = {"R1": 1.10, "R2": 1.05}


def table(protocol: str, rows: list[Row]) -> None:
    print(f"\n== {protocol}: test split, every method tuned on the validation split ==")
    head = f"{'method':28s} {'family':6s} {'recall@k ± se':>16s} {'ndcg@k':>8s} {'hit@k':>7s} {'cover':>6s} {'train_s':>8s}  config"
    print(head)
    for r in rows:
        recall = f"{r.recall:.4f} ± {r.recall_se:.4f}"
        print(
            f"{r.method:28s} {r.family:6s} {recall:>16s} {r.ndcg:8.4f} {r.hitrate:7.4f} {r.coverage:6.3f} {r.train_s:8.2f}  {r.config}"
        )


def percentiles(samples_ns: list[int]) -> tuple[float, float]:
    ms = np.asarray(samples_ns) / 1e6
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def latency(data_dir: Path, n_users: int = 2000) -> dict[str, tuple[float, float, float]]:
    """p50/p99 ms for 20 items for one user: our loaded models vs implicit's ALS recommend."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    from qianmian.recommend.models import ALSRecommender, EASERecommender

    split = load_protocol("R1", data_dir).test
    x_ease = split.train.matrix(half_life_days=120.0, aggregate="max")
    x = split.train.matrix()
    rng = np.random.default_rng(0)
    users = rng.choice(x.shape[0], size=n_users)
    out = {}
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(1, "blas"):
        for name, model, m in (
            ("ours EASE", EASERecommender(l2=200.0), x_ease),
            ("ours ALS", ALSRecommender(factors=64, num_threads=1), x),
        ):
            save(model.fit(m), Path(tmp) / name)
            loaded = load(Path(tmp) / name)
            out[name] = _time(lambda u, lm=loaded, mm=m: lm.recommend(mm[u], userids=np.array([u]), k=20), users)
        peer = AlternatingLeastSquares(factors=64, random_state=0, num_threads=1)
        peer.fit(x, show_progress=False)
        out["implicit ALS"] = _time(lambda u: peer.recommend(u, x[u], N=20, filter_already_liked_items=True), users)
    return out


def _time(call, users: np.ndarray) -> tuple[float, float, float]:
    """Wall-clock p50/p99 and thread-CPU p99 in ms (GC paused while timing, as `timeit` does)."""
    for u in users[:100]:  # warm-up
        call(int(u))
    wall, cpu = [], []
    gc.disable()
    try:
        for u in users:
            t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
            call(int(u))
            wall.append(time.perf_counter_ns() - t0)
            cpu.append(time.thread_time_ns() - c0)
    finally:
        gc.enable()
    p50, p99 = percentiles(wall)
    return p50, p99, percentiles(cpu)[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    ap.add_argument("--protocols", default="R1,R2")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"real data not found at {args.data}", file=sys.stderr)
        return 2
    results: list[str] = []
    for protocol in [p.strip() for p in args.protocols.split(",") if p.strip()]:
        t0 = time.perf_counter()
        rows = run_protocol(protocol, args.data, on_step=lambda label: print(f"  … {label}", file=sys.stderr, flush=True))
        table(protocol, rows)
        s = summary(rows)
        print(
            f"{protocol}: best ours {s['best_ours']:.4f} / best peer {s['best_peer']:.4f} = {s['ratio']:.3f}x "
            f"± {s['ratio_se']:.3f} (paired bootstrap over test users; {time.perf_counter() - t0:.0f} s, load average {os.getloadavg()[0]:.1f})"
        )
        target = TARGETS[protocol]
        results.append(
            f"RESULT {protocol} best ours / best peer recall@k: {s['ratio']:.3f}x ± {s['ratio_se']:.3f} (target >= {target:.2f}x) "
            f"{'PASS' if s['ratio'] >= target else 'FAIL'}"
        )
        results.append(
            f"RESULT {protocol} blend recall vs best single model: {s['blend']:.4f} vs {s['best_single']:.4f} (target blend >= single) {'PASS' if s['blend'] >= s['best_single'] else 'FAIL'}"
        )
        if "ranker" in s:
            results.append(
                f"RESULT {protocol} ranker recall vs best single model: {s['ranker']:.4f} vs {s['best_single']:.4f} "
                f"(target ranker >= single) {'PASS' if s['ranker'] >= s['best_single'] else 'FAIL'}"
            )
    lat = latency(args.data)
    load1 = os.getloadavg()[0]
    print(
        f"\n== latency: 20 items for one user from a loaded model (R1 test matrix, 2000 users; load average {load1:.1f} on {os.cpu_count()} cores) =="
    )
    for name, (p50, p99, cpu99) in lat.items():
        print(f"{name:14s} p50 {p50:.3f} ms   p99 {p99:.3f} ms   (CPU-time p99 {cpu99:.3f} ms)")
    for name in ("ours EASE", "ours ALS"):
        p99, peer = lat[name][1], lat["implicit ALS"][1]
        results.append(
            f"RESULT latency p99 {name} recommend k=20: {p99:.3f} ms (target <= 2 ms; implicit ALS p99 {peer:.3f} ms; "
            f"load average {load1:.1f}) {'PASS' if p99 <= 2.0 else 'FAIL'}"
        )
    print()
    print("\n".join(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
