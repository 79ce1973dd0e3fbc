"""Growth curve: the same user-facing steps at growing sizes, on DuckDB and on a local Spark cluster.

For each size (generated Taobao-layout events, `qianmian generate`), each step runs as its own
`qianmian` process, exactly as a user runs it, against a fresh DuckDB file and against the store of
a local cluster started with `qianmian cluster up` (one master, one worker, one Connect server):

    ingest               qianmian ingest FILE --format taobao
    aipl, flow, funnel   qianmian report aipl | flow | funnel
    audiences            qianmian audience materialize  (20 audiences, created beforehand)
    train                qianmian train --models popular,covisit,home --holdout-days 0
    export               qianmian export features --out FILE.parquet

It prints seconds and the cost per million events of each step at each size, the ratio of the
per-event cost at the largest size to the smallest (1.0 = linear growth; the goal for the reports
on DuckDB is <= 1.1), the peak resident memory of the `qianmian` processes and of the cluster's
JVMs, and ends with RESULT lines. A step's time includes starting its process (and, on the cluster,
joining it over Spark Connect); that fixed cost, measured as the time of `qianmian stats` on the same
store, is subtracted before per-event costs and ratios are computed (it would flatter the ratio).

Usage: python benchmarks/scale.py [--sizes 1M,10M,30M] [--max 100M] [--engines duckdb,cluster]
       [--cluster-max 10M] [--train-max 10M] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
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


PEAK_MIB: dict[str, float] = {}
"""The largest resident memory (MiB) of any `qianmian` process of each step, over all runs."""


def run(*args: str, env: dict[str, str] | None = None, step: str | None = None) -> tuple[float, str]:
    """Run one `qianmian` process; its seconds and stdout. Its peak RSS is kept under `step`."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([str(BIN), *args], stdout=out, stderr=err, text=True, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"qianmian {' '.join(args)} failed:\n{stderr[-3000:]}")
    if step:
        PEAK_MIB[step] = max(PEAK_MIB.get(step, 0.0), usage.ru_maxrss / 1024)
    return seconds, stdout


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


def measure(url: str, data: Path, work: Path, env: dict[str, str], *, train: bool) -> dict[str, float]:
    times: dict[str, float] = {}
    times["ingest"], out = run("ingest", str(data), "--format", "taobao", "--store", url, "--json", env=env, step="ingest")
    loaded = json.loads(out)["loaded"]
    times["aipl"], _ = run("report", "aipl", "--as-of", AS_OF, "--store", url, "--json", env=env, step="aipl")
    times["flow"], _ = run("report", "flow", "--start", "2017-11-28", "--end", AS_OF, "--store", url, "--json", env=env, step="flow")
    times["funnel"], _ = run("report", "funnel", "--as-of", AS_OF, "--days", "9", "--store", url, "--json", env=env, step="funnel")
    create_audiences(url)
    times["audiences"], _ = run("audience", "materialize", "--as-of", AS_OF, "--store", url, "--json", env=env, step="audiences")
    if train:
        times["train"], _ = run("train", "--as-of", AS_OF, "--models", "popular,covisit,home", "--holdout-days", "0",
                                "--models-dir", str(work / "models"), "--store", url, "--json", env=env, step="train")
    times["export"], _ = run("export", "features", "--as-of", AS_OF, "--out", str(work / "features.parquet"), "--store", url,
                             "--json", env=env, step="export")
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


def table(results: dict[str, dict[int, dict[str, float]]]) -> dict[tuple[str, str], tuple[float, int, int]]:
    """Print seconds and net seconds per million events; return, per (engine, step), the net
    per-event cost ratio of the largest size the step ran at to the smallest, and those sizes."""
    ratios: dict[tuple[str, str], tuple[float, int, int]] = {}
    for engine, by_size in results.items():
        sizes = sorted(by_size)
        startup = ", ".join(f"{by_size[n]['_startup']:.1f}s" for n in sizes)
        print(f"\n{engine}: seconds, and in brackets net seconds per million events (less the process's fixed cost: {startup})")
        print("step      " + "".join(f"{n / 1e6:>21g}M" for n in sizes) + "   net ratio largest/smallest")
        for step in STEPS:
            ran = [n for n in sizes if step in by_size[n]]
            if not ran:
                continue
            cells = "".join(
                f"{by_size[n][step]:>12.1f} ({net(by_size, n, step) / n * 1e6:7.2f})" if step in by_size[n] else f"{'-':>22}"
                for n in sizes
            )
            ratio = (net(by_size, ran[-1], step) / ran[-1]) / (net(by_size, ran[0], step) / ran[0])
            ratios[(engine, step)] = (ratio, ran[0], ran[-1])
            print(f"{step:<10}{cells}   {ratio:6.2f}x ({ran[-1] / 1e6:g}M/{ran[0] / 1e6:g}M)")
    return ratios


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1M,10M,30M")
    ap.add_argument("--max", default="30M", help="largest size; 100M adds it to --sizes")
    ap.add_argument("--engines", default="duckdb,cluster")
    ap.add_argument("--cluster-max", default=None, help="largest size run on the cluster (default: --max)")
    ap.add_argument("--train-max", default=None, help="largest size at which training is measured (default: --max)")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    top = parse_size(args.max)
    sizes = sorted({parse_size(s) for s in args.sizes.split(",")} | ({top} if top > 30_000_000 else set()))
    sizes = [s for s in sizes if s <= top]
    cluster_max = parse_size(args.cluster_max) if args.cluster_max else top
    train_max = parse_size(args.train_max) if args.train_max else top
    engines = args.engines.split(",")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="qm-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {"QIANMIAN_DATA_DIR": str(work / "data")}
    results: dict[str, dict[int, dict[str, float]]] = {e: {} for e in engines}
    cluster = None
    if "cluster" in engines:
        _, out = run("cluster", "up", "--dir", str(work / "cluster"), "--master-port", "0", "--connect-port", "0",
                     "--worker-memory", "2g", "--executor-memory", "1536m", "--driver-memory", "2g", "--json", env=env)
        cluster = json.loads(out)
        print(f"cluster: {cluster['store']} (1 worker, {os.cpu_count()} cores)", flush=True)
    try:
        for n in sizes:
            data = work / f"events-{n}.csv"
            if not data.exists():
                run("generate", "--events", str(n), "--out", str(data), "--seed", "0", "--json")
            for engine in engines:
                if engine == "duckdb":
                    url = f"duckdb:///{work / f'store-{n}.duckdb'}"
                    Path(url.removeprefix("duckdb:///")).unlink(missing_ok=True)
                elif n > cluster_max:
                    continue
                else:
                    url = cluster["store"]
                    reset_cluster(url)
                step_work = work / f"{engine}-{n}"
                step_work.mkdir(exist_ok=True)
                results[engine][n] = measure(url, data, step_work, env, train=n <= train_max)
                print(f"{engine} {n:,} events: " + ", ".join(f"{k} {v:.1f}s" for k, v in results[engine][n].items() if k in STEPS or k == "_startup"), flush=True)
            if (work / f"store-{n}.duckdb").exists() and n != sizes[-1]:
                (work / f"store-{n}.duckdb").unlink()
        report(results, cluster)
    finally:
        if cluster:
            run("cluster", "down", "--dir", cluster["dir"])


def report(results: dict[str, dict[int, dict[str, float]]], cluster: dict | None) -> None:
    """The tables, peak memory, the cluster beside DuckDB, and the RESULT lines."""
    ratios = table(results)
    jvm = jvm_peak_mib(cluster["pids"]) if cluster else 0.0
    print("\npeak resident memory of one qianmian process, per step: "
          + ", ".join(f"{s} {PEAK_MIB[s]:,.0f} MiB" for s in STEPS if s in PEAK_MIB))
    if cluster:
        print(f"cluster JVMs (master, worker, Connect server; executors not counted): {jvm:,.0f} MiB")
    if "duckdb" in results and results.get("cluster"):
        for n in sorted(set(results["duckdb"]) & set(results["cluster"])):
            d, c = results["duckdb"][n], results["cluster"][n]
            print(f"cluster / DuckDB time at {n / 1e6:g}M: "
                  + ", ".join(f"{s} {c[s]:.1f}s/{d[s]:.1f}s = {c[s] / d[s]:.1f}x" for s in STEPS if s in c and s in d))
    for engine in results:
        if not results[engine]:
            continue
        worst = max(ratios[(engine, s)] for s in REPORTS)
        target = 1.1 if engine == "duckdb" else None
        verdict = ("PASS" if worst[0] <= target else "FAIL") if target else "INFO"
        span = f"{worst[2] / 1e6:g}M/{worst[1] / 1e6:g}M"
        print(f"RESULT {engine} reports (aipl/flow/funnel) worst per-event cost ratio {span}, net of process start: "
              f"{worst[0]:.2f}x (target {'<= 1.1x' if target else 'none, measured'}) {verdict}")
        for step in ("ingest", "audiences", "train", "export"):
            if (engine, step) in ratios:
                r, lo, hi = ratios[(engine, step)]
                print(f"RESULT {engine} {step} per-event cost ratio {hi / 1e6:g}M/{lo / 1e6:g}M, net of process start: "
                      f"{r:.2f}x (target none, measured) INFO")


if __name__ == "__main__":
    main()
