"""Recommendation benchmark: R1 at rolling cutoffs (with the served scene), R2, serving latency.

Run: .venv/bin/python benchmarks/recommend.py [--data ../shared/data] [--protocols R1,R2]
     [--cutoffs 2010-06-01,2010-08-01,2010-10-01] [--cache var/eval]

1. R1 at each cutoff of `--cutoffs` (rolling origin): every method (ours and the peers:
   popularity, own history + popularity, implicit ALS / BPR / BM25 / cosine) is tuned on that
   cutoff's validation window (the two months before it) and measured on its test window (the two
   months after it, or up to the next cutoff); `served:home` is what `qianmian recommend --scene
   home` answers after `qianmian train --as-of <cutoff>` on a store holding the file, with the
   default rules and with every rule off (`qianmian.recommend.evaluate.served`). `--cutoffs ""`
   runs R1's fixed split instead.
2. R2 (Taobao category layers) as before; no longer a target, its table is for reference.
3. Latency: one loaded model recommends 20 items for one user (history row in, filters on),
   timed over many users (p50 / p99), beside implicit's own `recommend` for one user.
Ends with one `RESULT` line per claim: per cutoff, served:home >= 1.10x the best tuned peer, and
served:home >= our best single model (with the paired 95 % interval of the difference); latency.
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

from qianmian.recommend.evaluate.data import load_protocol, parse_cutoffs
from qianmian.recommend.evaluate.harness import (
    Row,
    rolling_checks,
    run_protocol,
    run_rolling,
    summary,
)
from qianmian.recommend.evaluate.served import ServedSource, evaluation_store
from qianmian.recommend.persist import load, save

TARGET = 1.10
"""served:home / the best tuned peer, at every cutoff (R1)."""


def table(protocol: str, rows: list[Row], title: str = "test split, every method tuned on the validation split") -> None:
    print(f"\n== {protocol}: {title} ==")
    head = f"{'method':28s} {'family':6s} {'recall@k ± se':>16s} {'ndcg@k':>8s} {'hit@k':>7s} {'cover':>6s} {'train_s':>8s}  config"
    print(head)
    for r in rows:
        recall = f"{r.recall:.4f} ± {r.recall_se:.4f}"
        print(
            f"{r.method:28s} {r.family:6s} {recall:>16s} {r.ndcg:8.4f} {r.hitrate:7.4f} {r.coverage:6.3f} {r.train_s:8.2f}  {r.config}"
        )


def rolling_table(rows: list[Row]) -> None:
    """Recall per cutoff [95 % bootstrap], the mean, and the ratio to each cutoff's best peer."""
    cutoffs = sorted({r.cutoff for r in rows if r.cutoff})
    print("\n== R1 rolling origin: Recall@20 [95% bootstrap] per cutoff, mean, ratio to that cutoff's best peer [paired 95%] ==")
    print(f"{'method':26s} " + " ".join(f"{c:>24s}" for c in cutoffs) + f" {'mean':>7s} " + " ".join(f"{'x ' + c:>24s}" for c in cutoffs))
    for method in dict.fromkeys(r.method for r in rows):
        mine = {r.cutoff: r for r in rows if r.method == method}
        recalls = " ".join(f"{mine[c].recall:.4f} [{mine[c].recall_lo:.4f},{mine[c].recall_hi:.4f}]" if c in mine else f"{'-':>24s}" for c in cutoffs)
        mean = sum(r.recall for r in mine.values()) / len(mine)
        ratios = " ".join(
            f"{mine[c].vs_best_peer:.3f} [{mine[c].vs_best_peer_lo:.3f},{mine[c].vs_best_peer_hi:.3f}]".rjust(24) if c in mine else f"{'-':>24s}"
            for c in cutoffs
        )
        print(f"{method:26s} {recalls} {mean:7.4f} {ratios}")


def rolling_results(rows: list[Row]) -> list[str]:
    checks = rolling_checks(rows)
    out = []
    for c in checks:
        out.append(
            f"RESULT R1 {c['cutoff']} served:home / best tuned peer ({c['best_peer']}) recall@20: {c['ratio']:.3f}x "
            f"[95% {c['ratio_lo']:.3f}, {c['ratio_hi']:.3f}] ({c['served']:.4f} vs {c['best_peer_recall']:.4f}, "
            f"{c['users']} shoppers; rules cost {c.get('rules_cost', float('nan')):+.4f}) (target >= {TARGET:.2f}x) "
            f"{'PASS' if c['ratio'] >= TARGET else 'FAIL'}"
        )
    for c in checks:
        if "best_single" not in c:
            continue
        margin = c["served"] - c["best_single_recall"]
        out.append(
            f"RESULT R1 {c['cutoff']} served:home >= best single model of ours ({c['best_single']}) recall@20: "
            f"{margin:+.4f} [95% {c['vs_single_lo']:+.4f}, {c['vs_single_hi']:+.4f}] ({c['served']:.4f} vs "
            f"{c['best_single_recall']:.4f}, {c['users']} shoppers) (target >= 0) {'PASS' if margin >= 0 else 'FAIL'}"
        )
    return out


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


def served_latency(source: ServedSource, cutoff: str, n_users: int = 2000) -> tuple[float, float, float]:
    """p50/p99 ms (and CPU-time p99) of the whole served `home` scene for one shopper: the bundle
    trained as of `cutoff`, `RecommendService.recommend(user, "home", 20)` (blend, rules, reasons)."""
    import datetime as dt

    from threadpoolctl import threadpool_limits

    from qianmian.recommend.evaluate.served import bundle_at
    from qianmian.recommend.service import RecommendService
    from qianmian.store import connect

    path = bundle_at(source, dt.datetime.fromisoformat(cutoff))
    store = connect(source.store_url)
    try:
        svc = RecommendService.load(path.parent, version=path.name, store=store)
    finally:
        store.close()
    users = np.random.default_rng(0).choice(np.asarray(svc.bundle.users.ids, dtype=object), size=n_users)
    with threadpool_limits(1, "blas"):
        return _time(lambda i: svc.recommend(str(users[i]), "home", 20), np.arange(n_users))


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
    ap.add_argument("--cutoffs", default="2010-06-01,2010-08-01,2010-10-01", help='R1 rolling cutoffs ("" = the fixed split)')
    ap.add_argument("--cache", type=Path, default=Path("var/eval"), help="Evaluation store and trained bundles (cached)")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"real data not found at {args.data}", file=sys.stderr)
        return 2
    results: list[str] = []
    def step(label):
        return print(f"  … {label}", file=sys.stderr, flush=True)
    for protocol in [p.strip() for p in args.protocols.split(",") if p.strip()]:
        t0 = time.perf_counter()
        if protocol == "R1" and args.cutoffs.strip():
            source = ServedSource(evaluation_store("R1", args.data, args.cache), args.cache)
            rows = run_rolling("R1", args.data, parse_cutoffs(args.cutoffs), served=source, on_step=step)
            for cutoff in sorted({r.cutoff for r in rows}):
                table("R1", [r for r in rows if r.cutoff == cutoff], f"cutoff {cutoff}: test window, every method tuned on its validation window")
            rolling_table(rows)
            print(f"R1 rolling: {time.perf_counter() - t0:.0f} s, load average {os.getloadavg()[0]:.1f}")
            results += rolling_results(rows)
            last = max(r.cutoff for r in rows if r.cutoff)
            p50, p99, cpu99 = served_latency(source, last)
            print(
                f"served home scene, one shopper, 20 items (bundle as of {last}, 2000 shoppers; load average "
                f"{os.getloadavg()[0]:.1f}): p50 {p50:.3f} ms   p99 {p99:.3f} ms   (CPU-time p99 {cpu99:.3f} ms)"
            )
            continue
        rows = run_protocol(protocol, args.data, on_step=step)
        table(protocol, rows)
        s = summary(rows)
        print(
            f"{protocol}: best ours {s['best_ours']:.4f} / best peer {s['best_peer']:.4f} = {s['ratio']:.3f}x "
            f"± {s['ratio_se']:.3f} (paired bootstrap over test users; {time.perf_counter() - t0:.0f} s, load average {os.getloadavg()[0]:.1f})"
            + ("; R2 is no longer a target" if protocol == "R2" else "")
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
