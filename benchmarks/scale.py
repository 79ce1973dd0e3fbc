"""Growth curve: the same user-facing steps at growing sizes, on DuckDB and on a local Spark cluster.

For each size (generated Taobao-layout events, `qianmian generate`), each step runs as its own
`qianmian` process, exactly as a user runs it, against a fresh DuckDB file and against the store of
a local cluster started with `qianmian cluster up` (one master, one worker, one Connect server):

    ingest               qianmian ingest FILE --format taobao
    aipl, flow, funnel   qianmian report aipl | flow | funnel
    audiences            qianmian audience materialize  (20 audiences, created beforehand)
    train                qianmian train --models popular,covisit,als
    export               qianmian export features --out FILE.parquet

It prints seconds and the cost per million events of each step at each size, the ratio of the
per-event cost at the largest size to the smallest (1.0 = linear growth; the goal for the reports
on DuckDB is <= 1.1), the peak resident memory of the `qianmian` processes and of the cluster's
JVMs, and ends with RESULT lines. A step's time includes starting its process (and, on the cluster,
joining it over Spark Connect); that fixed cost, measured as the time of `qianmian stats` on the same
store, is subtracted before per-event costs and ratios are computed (it would flatter the ratio).

Usage: python benchmarks/scale.py [--sizes 1M,10M,30M] [--max 100M] [--engines duckdb,cluster] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).with_name("qianmian")
AS_OF = "2017-12-03"
STEPS = ("ingest", "aipl", "flow", "funnel", "audiences", "train", "export")
REPORTS = ("aipl", "flow", "funnel")


def parse_size(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000}.get(text[-1], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def run(*args: str, env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([str(BIN), *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"qianmian {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def audience_rules() -> list[tuple[str, str]]:
    rules = [(f"viewers_{k}", f"count(view, 7d) >= {k}") for k in range(1, 11)]
    rules += [(f"buyers_{k}", f"count(buy, 30d) >= {k}") for k in range(1, 6)]
    rules += [(f"carters_{k}", f"count(cart, 30d) >= {k}") for k in range(1, 6)]
    return rules


def create_audiences(url: str) -> None:
    from qianmian.audiences.registry import AudienceRegistry
    from qianmian.store import connect

    store = connect(url)
    reg = AudienceRegistry(store)
    for name, rule in audience_rules():
        reg.create(name, rule, replace=True)
    store.close() if url.startswith("duckdb") else None


def reset_cluster(url: str) -> None:
    """Drop the cluster store's tables so each size starts empty."""
    from qianmian.store import connect

    store = connect(url, migrate=False)
    for name in store.con.list_tables():
        if not name.startswith("ibis_"):
            store.con.drop_table(name, force=True)


def measure(url: str, data: Path, work: Path, env: dict[str, str]) -> dict[str, float]:
    times: dict[str, float] = {}
    times["ingest"], out = run("ingest", str(data), "--format", "taobao", "--store", url, "--json", env=env)
    loaded = json.loads(out)["loaded"]
    times["aipl"], _ = run("report", "aipl", "--as-of", AS_OF, "--store", url, "--json", env=env)
    times["flow"], _ = run("report", "flow", "--start", "2017-11-28", "--end", AS_OF, "--store", url, "--json", env=env)
    times["funnel"], _ = run("report", "funnel", "--as-of", AS_OF, "--days", "9", "--store", url, "--json", env=env)
    create_audiences(url)
    times["audiences"], _ = run("audience", "materialize", "--as-of", AS_OF, "--store", url, "--json", env=env)
    times["train"], _ = run("train", "--as-of", AS_OF, "--models", "popular,covisit,als,home", "--holdout-days", "0",
                            "--models-dir", str(work / "models"), "--store", url, "--json", env=env)
    times["export"], _ = run("export", "features", "--as-of", AS_OF, "--out", str(work / "features.parquet"), "--store", url, "--json", env=env)
    times["_loaded"] = loaded
    times["_startup"] = min(run("stats", "--store", url, "--json", env=env)[0] for _ in range(2))
    return times


def jvm_peak_mib(pids: dict[str, int]) -> float:
    """Sum of the cluster JVMs' peak resident memory (VmHWM), in MiB."""
    total = 0
    for pid in pids.values():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def net(by_size: dict[int, dict[str, float]], n: int, step: str) -> float:
    """A step's seconds less the fixed cost of a `qianmian` process on that store (`stats`)."""
    return max(by_size[n][step] - by_size[n]["_startup"], 0.01)


def table(results: dict[str, dict[int, dict[str, float]]], sizes: list[int]) -> dict[tuple[str, str], float]:
    """Print seconds and net seconds per million events; return the net per-event cost ratios."""
    ratios: dict[tuple[str, str], float] = {}
    for engine, by_size in results.items():
        startup = ", ".join(f"{by_size[n]['_startup']:.1f}s" for n in sizes)
        print(f"\n{engine}: seconds, and in brackets net seconds per million events (less the process's fixed cost: {startup})")
        print("step      " + "".join(f"{n / 1e6:>21g}M" for n in sizes) + "   net ratio largest/smallest")
        for step in STEPS:
            cells = "".join(f"{by_size[n][step]:>12.1f} ({net(by_size, n, step) / n * 1e6:7.2f})" for n in sizes)
            ratio = (net(by_size, sizes[-1], step) / sizes[-1]) / (net(by_size, sizes[0], step) / sizes[0])
            ratios[(engine, step)] = ratio
            print(f"{step:<10}{cells}   {ratio:6.2f}x")
    return ratios


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1M,10M,30M")
    ap.add_argument("--max", default="30M", help="largest size; 100M adds it to --sizes")
    ap.add_argument("--engines", default="duckdb,cluster")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    sizes = sorted({parse_size(s) for s in args.sizes.split(",")} | ({parse_size(args.max)} if parse_size(args.max) > 30_000_000 else set()))
    sizes = [s for s in sizes if s <= parse_size(args.max)]
    engines = args.engines.split(",")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="qm-bench-scale-"))
    env = {"QIANMIAN_DATA_DIR": str(work / "data")}
    results: dict[str, dict[int, dict[str, float]]] = {e: {} for e in engines}
    cluster = None
    if "cluster" in engines:
        _, out = run("cluster", "up", "--dir", str(work / "cluster"), "--master-port", "0", "--connect-port", "0",
                     "--worker-memory", "2g", "--executor-memory", "1536m", "--driver-memory", "2g", "--json", env=env)
        cluster = json.loads(out)
        print(f"cluster: {cluster['store']} (1 worker, {os.cpu_count()} cores)")
    try:
        for n in sizes:
            data = work / f"events-{n}.csv"
            if not data.exists():
                run("generate", "--events", str(n), "--out", str(data), "--seed", "0", "--json")
            for engine in engines:
                if engine == "duckdb":
                    url = f"duckdb:///{work / f'store-{n}.duckdb'}"
                else:
                    url = cluster["store"]
                    reset_cluster(url)
                step_work = work / f"{engine}-{n}"
                step_work.mkdir(exist_ok=True)
                results[engine][n] = measure(url, data, step_work, env)
                print(f"{engine} {n:,} events: " + ", ".join(f"{k} {v:.1f}s" for k, v in results[engine][n].items() if k in STEPS or k == "_startup"), flush=True)
        client_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        ratios = table(results, sizes)
        jvm = jvm_peak_mib(cluster["pids"]) if cluster else 0.0
        print(f"\npeak memory: largest qianmian process {client_peak:,.0f} MiB; cluster JVMs (master, worker, Connect server) {jvm:,.0f} MiB")
        if "duckdb" in results and "cluster" in results:
            print("\ncluster / DuckDB time at the largest size: " +
                  ", ".join(f"{s} {results['cluster'][sizes[-1]][s] / results['duckdb'][sizes[-1]][s]:.1f}x" for s in STEPS))
        span = f"{sizes[-1] / 1e6:g}M/{sizes[0] / 1e6:g}M, net of process start"
        for engine in engines:
            worst = max(ratios[(engine, s)] for s in REPORTS)
            target = 1.1 if engine == "duckdb" else None
            verdict = ("PASS" if worst <= target else "FAIL") if target else "INFO"
            print(f"RESULT {engine} reports (aipl/flow/funnel) per-event cost ratio {span}: {worst:.2f}x "
                  f"(target {'<= 1.1x' if target else 'none, measured'}) {verdict}")
            for step in ("ingest", "audiences", "train", "export"):
                print(f"RESULT {engine} {step} per-event cost ratio {span}: {ratios[(engine, step)]:.2f}x (target none, measured) INFO")
    finally:
        if cluster:
            run("cluster", "down", "--dir", cluster["dir"])


if __name__ == "__main__":
    main()
