"""Experiment report over 10M SYNTHETIC exposures vs. the single hand-written SQL aggregate feeding it.

Claim: `experiment_report` (definition lookup, Ibis expression, one query, statistics, SRM,
corrections, summary) takes at most 1.5× the time of running, directly on DuckDB, the one SQL
aggregate that computes the same per-variant sufficient statistics.

The data are synthetic, generated here with NumPy (seeded): `--exposures` exposure rows (default
10M) over ~91% as many shoppers (some see the page twice; 0.1% see both variants), a 2:8 split by
our own `assign_many`, and `--events` events (default 10M) of 30% of the shoppers, before and after
their exposure, in sessions. Metrics: purchase conversion, GMV per visitor (both with CUPED on a
28-day pre-period), average order value and bounce rate (ratio metrics). Times are the median of
`--repeat` runs after one warm-up run of each. Both results are checked to be equal.

    .venv/bin/python benchmarks/experiments.py [--exposures 10000000] [--events 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from qianmian.experiments import Experiment, ExperimentRegistry, Variant, assign_many
from qianmian.experiments.reports import experiment_report
from qianmian.store import connect

EXP = Experiment("bench", (Variant("test", 2), Variant("control", 8)), window_days=14, pre_days=28)
METRICS = ["purchase_conversion", "gmv_per_visitor", "average_order_value", "bounce_rate"]
START = np.datetime64("2024-02-25T00:00:00", "us")
AS_OF = dt.date(2024, 3, 10)
TARGET = 1.5

SQL = """
WITH units AS (
  SELECT user_id, min(variant) AS variant, count(DISTINCT variant) AS nv, min(ts) AS first_ts
  FROM exposures WHERE experiment = 'bench' AND ts < TIMESTAMP '2024-03-11 00:00:00'
  GROUP BY user_id
), clean AS (SELECT user_id, variant, first_ts FROM units WHERE nv = 1),
j AS (
  SELECT e.*, c.first_ts, e.ts >= c.first_ts AS post,
         coalesce(e.session_id, CAST(CAST(e.ts AS DATE) AS VARCHAR)) AS sess
  FROM events e JOIN clean c ON e.user_id = c.user_id
  WHERE e.user_id IS NOT NULL AND e.ts < TIMESTAMP '2024-03-11 00:00:00'
    AND e.ts >= c.first_ts - INTERVAL 28 DAY AND e.ts < c.first_ts + INTERVAL 14 DAY
), s AS (
  SELECT user_id, sess,
    sum(CASE WHEN post AND behavior = 'buy' THEN 1.0 ELSE 0.0 END) AS buys,
    sum(CASE WHEN NOT post AND behavior = 'buy' THEN 1.0 ELSE 0.0 END) AS buys_pre,
    sum(CASE WHEN post THEN (CASE behavior WHEN 'buy' THEN coalesce(amount, 0) WHEN 'return' THEN -coalesce(amount, 0) ELSE 0 END) ELSE 0 END) AS rev,
    sum(CASE WHEN NOT post THEN (CASE behavior WHEN 'buy' THEN coalesce(amount, 0) WHEN 'return' THEN -coalesce(amount, 0) ELSE 0 END) ELSE 0 END) AS rev_pre,
    sum(CASE WHEN post AND behavior = 'buy' THEN coalesce(amount, 0) ELSE 0 END) AS amt,
    CAST(count(DISTINCT CASE WHEN post AND behavior = 'buy' THEN coalesce(order_id, event_id) END) AS DOUBLE) AS orders,
    sum(CASE WHEN post AND behavior = 'view' THEN 1 ELSE 0 END) AS views,
    sum(CASE WHEN post AND behavior <> 'expose' THEN 1 ELSE 0 END) AS visits
  FROM j GROUP BY user_id, sess
), u AS (
  SELECT user_id, CAST(sum(buys) > 0 AS DOUBLE) AS conv, CAST(sum(buys_pre) > 0 AS DOUBLE) AS conv_pre,
         sum(rev) AS rev, sum(rev_pre) AS rev_pre, sum(amt) AS amt, sum(orders) AS orders,
         sum(CASE WHEN views > 0 THEN 1.0 ELSE 0.0 END) AS sessions,
         sum(CASE WHEN views = 1 AND visits = 1 THEN 1.0 ELSE 0.0 END) AS bounced
  FROM s GROUP BY user_id
), pu AS (
  SELECT c.variant, coalesce(u.conv, 0) AS conv, coalesce(u.conv_pre, 0) AS conv_pre, coalesce(u.rev, 0) AS rev,
         coalesce(u.rev_pre, 0) AS rev_pre, coalesce(u.amt, 0) AS amt, coalesce(u.orders, 0) AS orders,
         coalesce(u.sessions, 0) AS sessions, coalesce(u.bounced, 0) AS bounced
  FROM clean c LEFT JOIN u ON c.user_id = u.user_id
)
SELECT variant, count(*) AS n,
  sum(conv), sum(conv * conv), sum(conv_pre), sum(conv_pre * conv_pre), sum(conv * conv_pre),
  sum(rev), sum(rev * rev), sum(rev_pre), sum(rev_pre * rev_pre), sum(rev * rev_pre),
  sum(amt), sum(amt * amt), sum(orders), sum(orders * orders), sum(amt * orders),
  sum(bounced), sum(bounced * bounced), sum(sessions), sum(sessions * sessions), sum(bounced * sessions),
  (SELECT count(*) FROM units WHERE nv > 1) AS multiple_exposures
FROM pu GROUP BY variant ORDER BY variant
"""


def _ids(a: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(a), pa.string())


def exposures(rng: np.random.Generator, n_rows: int) -> tuple[pa.Table, np.ndarray]:
    n_units = int(n_rows / 1.1)
    users = np.concatenate([np.arange(n_units), rng.integers(0, n_units, n_rows - n_units)])
    uid = _ids(users)
    variant = assign_many(EXP, np.asarray(uid.to_numpy(zero_copy_only=False), dtype=np.str_)).astype(str)
    flip = rng.random(n_rows) < 0.001  # a few shoppers also see the other arm (excluded by the report)
    variant = np.where(flip & (np.arange(n_rows) >= n_units), np.where(variant == "test", "control", "test"), variant)
    ts = START + rng.integers(0, 14 * 86400, n_rows).astype("timedelta64[s]")
    table = pa.table({
        "exposure_id": _ids(np.arange(n_rows)), "experiment": pa.array(np.full(n_rows, "bench")), "variant": pa.array(variant),
        "user_id": uid, "ts": pa.array(ts.astype("datetime64[us]")), "audience": pa.nulls(n_rows, pa.string()),
        "page": pa.nulls(n_rows, pa.string()), "source": pa.nulls(n_rows, pa.string()),
    })
    return table, users[:n_units]


def events(rng: np.random.Generator, units: np.ndarray, n_rows: int) -> pa.Table:
    active = rng.choice(units, size=max(len(units) * 3 // 10, 1), replace=False)
    who = rng.choice(active, n_rows)
    behavior = rng.choice(np.array(["view", "view", "view", "click", "cart", "buy", "return", "expose"]), n_rows,
                          p=[0.3, 0.2, 0.1, 0.12, 0.1, 0.12, 0.02, 0.04])
    is_money = np.isin(behavior, ["buy", "return"])
    ts = START + rng.integers(-30 * 86400, 20 * 86400, n_rows).astype("timedelta64[s]")
    session = pc.binary_join_element_wise(_ids(who), _ids(rng.integers(0, 4, n_rows)), "-")
    session = pc.if_else(pa.array(rng.random(n_rows) < 0.9), session, pa.nulls(n_rows, pa.string()))
    order = pc.if_else(pa.array(behavior == "buy"), pc.binary_join_element_wise(_ids(who), _ids(rng.integers(0, 3, n_rows)), "o"), pa.nulls(n_rows, pa.string()))
    return pa.table({
        "event_id": _ids(np.arange(n_rows)), "user_id": _ids(who), "behavior": pa.array(behavior),
        "ts": pa.array(ts.astype("datetime64[us]")), "session_id": session, "order_id": order,
        "amount": pa.array(np.where(is_money, rng.gamma(2.0, 60.0, n_rows).round(2), np.nan), from_pandas=True),
    })


def timed(repeat: int, fn):
    fn()  # warm-up: file cache, DuckDB catalog
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def check_equal(report, sql_frame: pd.DataFrame) -> None:
    """The report's units and means equal those computed from the hand-written SQL."""
    for row in sql_frame.itertuples(index=False):
        v, n = row[0], row[1]
        assert report.units[v] == n, (v, report.units[v], n)
        conv = next(r for r in report.results if r.metric == "purchase_conversion" and r.variant == v)
        assert abs(conv.mean - row[2] / n) < 1e-12, (conv.mean, row[2] / n)
        gmv = next(r for r in report.results if r.metric == "gmv_per_visitor" and r.variant == v)
        assert abs(gmv.mean - row[7] / n) < 1e-9 * max(1, abs(gmv.mean))
        aov = next(r for r in report.results if r.metric == "average_order_value" and r.variant == v)
        assert abs(aov.mean - row[12] / row[14]) < 1e-9 * max(1, aov.mean)
    assert report.multiple_exposures == int(sql_frame.iloc[0, -1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exposures", type=int, default=10_000_000)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    exp_table, units = exposures(rng, args.exposures)
    ev_table = events(rng, units, args.events)
    with tempfile.TemporaryDirectory(prefix="qm-bench-exp-") as tmp:
        store = connect(f"duckdb:///{Path(tmp) / 'bench.duckdb'}")
        store.append("exposures", exp_table, dedupe=False)
        store.append("events", ev_table, dedupe=False)
        ExperimentRegistry(store).create(EXP)
        print(f"synthetic data: {store.count('exposures'):,} exposures, {store.count('events'):,} events "
              f"(generated and loaded in {time.perf_counter() - t0:.1f} s)")
        raw = store.con.con
        t_sql, frame = timed(args.repeat, lambda: raw.execute(SQL).df())
        t_ours, rep = timed(args.repeat, lambda: experiment_report(store, "bench", as_of=AS_OF, metrics=METRICS))
        check_equal(rep, frame)
        store.close()
    ratio = t_ours / t_sql
    print(f"hand-written SQL aggregate (DuckDB): {t_sql:.2f} s (median of {args.repeat})")
    print(f"experiment_report (same store):      {t_ours:.2f} s (median of {args.repeat})")
    print(f"units per variant: {rep.units}, excluded (both arms): {rep.multiple_exposures:,}; results equal: yes")
    print(f"ratio report / SQL aggregate: {ratio:.2f}")
    print(f"RESULT report over {args.exposures / 1e6:g}M synthetic exposures vs single SQL aggregate: "
          f"{ratio:.2f}x (target <= {TARGET}x) {'PASS' if ratio <= TARGET else 'FAIL'}")


if __name__ == "__main__":
    main()
