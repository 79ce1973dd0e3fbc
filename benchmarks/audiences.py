"""Audience materialization and membership lookup, measured against their floors in one run.

- Materializing 20 audiences (`qianmian.audiences.materialize`: rules compiled to one Ibis
  expression over the feature table and events, written to `audience_members`) vs the same 20
  audiences as one hand-written DuckDB SQL statement (`CREATE TABLE … AS`: one pass over events for
  every per-consumer measure, a materialized CTE, then 20 SELECTs; the same AIPL, lifecycle, window
  and tag definitions). Target: ours <= 2x the SQL's time, with identical members.
- `MembershipIndex` lookups (audiences_of + primary) from memory. Target: p99 <= 1 ms.

The data is synthetic (generated here with numpy, seeded): --consumers consumers (default 1M),
~6 events each over 400 days, 50 categories, 10 countries, self-tags on 5% of consumers.
Usage: python benchmarks/audiences.py [--consumers 1000000] [--repeat 3] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from qianmian.audiences import AudienceRegistry, MembershipIndex, materialize
from qianmian.store import Store, connect

AS_OF = dt.date(2024, 6, 30)
END = "TIMESTAMP '2024-07-01 00:00:00'"
D = "DATE '2024-06-30'"

AUDIENCES = {  # name: (rule, hand-written SQL predicate over the per-consumer CTE `f`)
    "interest_c1": ('aipl = "I" and count(view, category = "c1", 30d) >= 3', "f.aipl = 'I' AND f.view_c1_30d >= 3"),
    "lapsed_high_value": ('lifecycle in ("silent", "churning") and monetary(365d) > 500',
                          "f.lifecycle IN ('silent', 'churning') AND f.spend_365d > 500"),
    "unscented_or_female": ('tag("unscented") or trait("gender") = "female"',
                            "coalesce(f.tag_unscented, false) OR coalesce(f.gender = 'female', false)"),
    "active_loyal": ('lifecycle = "active" and frequency >= 3', "f.lifecycle = 'active' AND f.frequency >= 3"),
    "lost": ('lifecycle = "lost"', "f.lifecycle = 'lost'"),
    "new_customers": ('customer = "new"', "f.customer = 'new'"),
    "spend_90d": ("monetary(90d) > 200", "f.spend_90d > 200"),
    "cart_abandoners": ("count(cart, 7d) >= 1 and count(buy, 7d) = 0", "f.cart_7d >= 1 AND f.buy_7d = 0"),
    "viewers_c2": ('count(view, category = "c2", 30d) >= 2', "f.view_c2_30d >= 2"),
    "viewers_c345": ('count(view, category in ("c3", "c4", "c5"), 90d) >= 3', "f.view_c345_90d >= 3"),
    "germany_buyers": ('trait("country") = "DE" and monetary(365d) > 100', "coalesce(f.country = 'DE', false) AND f.spend_365d > 100"),
    "loyal": ('aipl = "L"', "f.aipl = 'L'"),
    "aware_browsers": ('aipl = "A" and count(view, 7d) >= 2', "f.aipl = 'A' AND f.view_7d >= 2"),
    "recent_buyers": ("recency <= 7", "f.recency_days <= 7"),
    "sleeping_big": ("recency > 180 and monetary > 300", "f.recency_days > 180 AND f.monetary > 300"),
    "frequent": ("orders(365d) >= 5", "f.orders_365d >= 5"),
    "vegans": ('tag("vegan")', "coalesce(f.tag_vegan, false)"),
    "men_c1": ('trait("gender") = "male" and count(buy, category = "c1", 365d) >= 1',
               "coalesce(f.gender = 'male', false) AND f.buy_c1_365d >= 1"),
    "favers": ("count(fav, 30d) >= 1", "f.fav_30d >= 1"),
    "small_spenders": ('not in_audience("lapsed_high_value") and monetary(365d) > 50',
                       "NOT (f.lifecycle IN ('silent', 'churning') AND f.spend_365d > 500) AND f.spend_365d > 50"),
}

HAND_SQL = f"""
CREATE OR REPLACE TABLE sql_members AS
WITH ev AS (
    SELECT * FROM events WHERE user_id IS NOT NULL AND ts < {END}
), per_user AS (
    SELECT user_id,
        count(*) FILTER (WHERE behavior IN ('expose', 'view') AND ts >= {END} - INTERVAL 30 DAY) AS a_n,
        count(*) FILTER (WHERE behavior IN ('click', 'fav', 'cart', 'search') AND ts >= {END} - INTERVAL 30 DAY) AS i_n,
        count(*) FILTER (WHERE behavior = 'buy' AND ts >= {END} - INTERVAL 365 DAY) AS p_n,
        count(DISTINCT CAST(ts AS DATE)) FILTER (WHERE behavior = 'buy' AND ts >= {END} - INTERVAL 365 DAY) AS p_days,
        count(*) FILTER (WHERE behavior IN ('review', 'share') AND ts >= {END} - INTERVAL 365 DAY) AS l_n,
        min(CAST(ts AS DATE)) FILTER (WHERE behavior = 'buy') AS first_buy,
        max(CAST(ts AS DATE)) FILTER (WHERE behavior = 'buy') AS last_buy,
        count(DISTINCT coalesce(order_id, event_id)) FILTER (WHERE behavior = 'buy') AS orders_all,
        sum(CASE behavior WHEN 'buy' THEN coalesce(amount, 0) WHEN 'return' THEN -coalesce(amount, 0) ELSE 0 END) AS spend_all,
        sum(CASE behavior WHEN 'buy' THEN coalesce(amount, 0) WHEN 'return' THEN -coalesce(amount, 0) ELSE 0 END)
            FILTER (WHERE ts >= {END} - INTERVAL 365 DAY) AS spend_365d,
        sum(CASE behavior WHEN 'buy' THEN coalesce(amount, 0) WHEN 'return' THEN -coalesce(amount, 0) ELSE 0 END)
            FILTER (WHERE ts >= {END} - INTERVAL 90 DAY) AS spend_90d,
        count(DISTINCT coalesce(order_id, event_id)) FILTER (WHERE behavior = 'buy' AND ts >= {END} - INTERVAL 365 DAY) AS orders_365d,
        count(*) FILTER (WHERE behavior = 'view' AND category_id = 'c1' AND ts >= {END} - INTERVAL 30 DAY) AS view_c1_30d,
        count(*) FILTER (WHERE behavior = 'view' AND category_id = 'c2' AND ts >= {END} - INTERVAL 30 DAY) AS view_c2_30d,
        count(*) FILTER (WHERE behavior = 'view' AND category_id IN ('c3', 'c4', 'c5') AND ts >= {END} - INTERVAL 90 DAY) AS view_c345_90d,
        count(*) FILTER (WHERE behavior = 'buy' AND category_id = 'c1' AND ts >= {END} - INTERVAL 365 DAY) AS buy_c1_365d,
        count(*) FILTER (WHERE behavior = 'view' AND ts >= {END} - INTERVAL 7 DAY) AS view_7d,
        count(*) FILTER (WHERE behavior = 'cart' AND ts >= {END} - INTERVAL 7 DAY) AS cart_7d,
        count(*) FILTER (WHERE behavior = 'buy' AND ts >= {END} - INTERVAL 7 DAY) AS buy_7d,
        count(*) FILTER (WHERE behavior = 'fav' AND ts >= {END} - INTERVAL 30 DAY) AS fav_30d
    FROM ev GROUP BY user_id
), latest_tags AS (
    SELECT user_id, tag, active, row_number() OVER (PARTITION BY user_id, tag ORDER BY ts DESC, active) AS rn
    FROM user_tags WHERE ts < {END}
), tags AS (
    SELECT user_id, bool_or(tag = 'unscented') AS tag_unscented, bool_or(tag = 'vegan') AS tag_vegan
    FROM latest_tags WHERE rn = 1 AND active GROUP BY user_id
), consumers AS (
    SELECT user_id FROM ev UNION SELECT user_id FROM users
), f AS MATERIALIZED (  -- computed once, read by the 20 SELECTs below
    SELECT c.user_id, u.gender, u.country, t.tag_unscented, t.tag_vegan,
        CASE WHEN p.l_n > 0 OR p.p_days >= 2 THEN 'L' WHEN p.p_n > 0 THEN 'P' WHEN p.i_n > 0 THEN 'I'
             WHEN p.a_n > 0 THEN 'A' END AS aipl,
        CASE WHEN p.orders_all > 0 THEN
            CASE WHEN {D} - p.last_buy < 30 THEN 'active' WHEN {D} - p.last_buy < 90 THEN 'silent'
                 WHEN {D} - p.last_buy < 180 THEN 'churning' ELSE 'lost' END END AS lifecycle,
        CASE WHEN p.orders_all > 0 THEN CASE WHEN {D} - p.first_buy < 30 THEN 'new' ELSE 'returning' END END AS customer,
        CASE WHEN p.orders_all > 0 THEN {D} - p.last_buy END AS recency_days,
        coalesce(p.orders_all, 0) AS frequency,
        CASE WHEN p.orders_all > 0 THEN p.spend_all ELSE 0 END AS monetary,
        coalesce(p.spend_365d, 0) AS spend_365d, coalesce(p.spend_90d, 0) AS spend_90d,
        coalesce(p.orders_365d, 0) AS orders_365d, coalesce(p.view_c1_30d, 0) AS view_c1_30d,
        coalesce(p.view_c2_30d, 0) AS view_c2_30d, coalesce(p.view_c345_90d, 0) AS view_c345_90d,
        coalesce(p.buy_c1_365d, 0) AS buy_c1_365d, coalesce(p.view_7d, 0) AS view_7d,
        coalesce(p.cart_7d, 0) AS cart_7d, coalesce(p.buy_7d, 0) AS buy_7d, coalesce(p.fav_30d, 0) AS fav_30d
    FROM consumers c
    LEFT JOIN per_user p ON p.user_id = c.user_id
    LEFT JOIN users u ON u.user_id = c.user_id
    LEFT JOIN tags t ON t.user_id = c.user_id
    WHERE coalesce(u.consent, true)
)
""" + "\nUNION ALL\n".join(
    f"SELECT '{name}' AS audience, user_id FROM f WHERE coalesce({pred}, false)" for name, (_, pred) in AUDIENCES.items()
)


def generate(store: Store, n: int, seed: int) -> int:
    """Synthetic consumers, events, users and tags (vectorized numpy; same seed, same data)."""
    rng = np.random.default_rng(seed)
    per_user = rng.geometric(1 / 6, size=n)
    users = np.repeat(np.arange(n), per_user)
    m = len(users)
    behavior = rng.choice(["view", "cart", "fav", "buy", "return", "expose"], size=m, p=[0.62, 0.08, 0.05, 0.15, 0.02, 0.08])
    category = rng.zipf(1.3, size=m) % 50
    age_days = np.minimum(rng.exponential(120, size=m), 399.99)
    ts = np.datetime64("2024-07-01T00:00:00") - (age_days * 86_400).astype("timedelta64[s]")
    amount = np.where(np.isin(behavior, ["buy", "return"]), np.round(rng.lognormal(3.5, 0.9, size=m), 2), np.nan)
    ids = np.char.add("u", users.astype(str))
    store.append("events", pa.table({
        "event_id": np.char.add("e", np.arange(m).astype(str)), "user_id": ids, "behavior": behavior,
        "category_id": np.char.add("c", category.astype(str)), "ts": ts.astype("datetime64[us]"), "amount": amount,
    }), dedupe=False)
    countries = rng.choice(["UK", "DE", "FR", "US", "CN", "JP", "ES", "IT", "NL", "SE"], size=n,
                           p=[0.55, 0.1, 0.08, 0.08, 0.06, 0.04, 0.03, 0.03, 0.02, 0.01])
    gender = rng.choice(np.array(["female", "male", None], dtype=object), size=n, p=[0.45, 0.35, 0.2])
    store.append("users", pa.table({
        "user_id": np.char.add("u", np.arange(n).astype(str)), "country": countries, "gender": gender,
        "consent": rng.random(n) > 0.01,
    }), dedupe=False)
    tagged = rng.choice(n, size=n // 20, replace=False)
    store.append("user_tags", pa.table({
        "user_id": np.char.add("u", tagged.astype(str)), "tag": rng.choice(["vegan", "unscented", "budget"], size=len(tagged)),
        "active": np.ones(len(tagged), dtype=bool), "source": np.full(len(tagged), "self"),
        "ts": np.full(len(tagged), np.datetime64("2024-01-01T00:00:00", "us")),
    }), dedupe=False)
    return m


def time_ours(store: Store) -> float:
    started = time.perf_counter()
    materialize(store, AS_OF)
    return time.perf_counter() - started


def time_sql(store: Store) -> float:
    started = time.perf_counter()
    store.con.raw_sql(HAND_SQL)
    return time.perf_counter() - started


def same_members(store: Store) -> tuple[bool, dict[str, tuple[int, int]]]:
    ours = store.con.raw_sql("SELECT audience, count(*) FROM audience_members GROUP BY 1").fetchall()
    sql = store.con.raw_sql("SELECT audience, count(*) FROM sql_members GROUP BY 1").fetchall()
    diff = store.con.raw_sql(
        "SELECT count(*) FROM ((SELECT audience, user_id FROM audience_members EXCEPT SELECT audience, user_id FROM sql_members)"
        " UNION ALL (SELECT audience, user_id FROM sql_members EXCEPT SELECT audience, user_id FROM audience_members))"
    ).fetchone()[0]
    counts = {a: (dict(ours).get(a, 0), dict(sql).get(a, 0)) for a in AUDIENCES}
    return diff == 0, counts


def lookup_p99(store: Store, n: int, seed: int, lookups: int = 200_000) -> tuple[float, float, int]:
    started = time.perf_counter()
    index = MembershipIndex.load(store, as_of=AS_OF)
    load = time.perf_counter() - started
    rng = np.random.default_rng(seed + 1)
    probes = [f"u{i}" for i in rng.integers(0, int(n * 1.05), size=lookups)]  # ~5% unknown ids
    took = np.empty(lookups)
    clock = time.perf_counter_ns
    for j, user in enumerate(probes):  # latency of single calls is what the storefront sees
        t0 = clock()
        index.audiences_of(user)
        index.primary(user)
        took[j] = clock() - t0
    return float(np.percentile(took, 99)) / 1e6, load, len(index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consumers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="qm-bench-audiences-"))
    work.mkdir(parents=True, exist_ok=True)
    store = connect(f"duckdb:///{work / 'bench.duckdb'}")
    try:
        run(store, args)
    finally:
        store.close()
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


def run(store: Store, args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    events = generate(store, args.consumers, args.seed)
    print(f"synthetic data: {args.consumers:,} consumers, {events:,} events ({time.perf_counter() - t0:.1f} s)")
    registry = AudienceRegistry(store)
    for priority, (name, (rule, _)) in enumerate(AUDIENCES.items(), start=1):
        registry.create(name, rule, priority=priority)
    ours, sql = [], []
    for i in range(args.repeat):  # alternate, so neither side always runs on a warm cache
        ours.append(time_ours(store))
        sql.append(time_sql(store))
        print(f"run {i + 1}: ours {ours[-1]:.2f} s, hand-written SQL {sql[-1]:.2f} s")
    equal, counts = same_members(store)
    for name, (a, b) in counts.items():
        print(f"  {name:22s} ours {a:>9,}  sql {b:>9,}")
    ratio = statistics.median(ours) / statistics.median(sql)
    print(f"materialize 20 audiences: median ours {statistics.median(ours):.2f} s vs SQL {statistics.median(sql):.2f} s "
          f"= {ratio:.2f}x; members identical: {equal}")
    p99, load, indexed = lookup_p99(store, args.consumers, args.seed)
    print(f"membership index: {indexed:,} consumers loaded in {load:.1f} s; lookup p99 {p99 * 1000:.1f} µs")
    print(f"RESULT materialize 20 audiences over {args.consumers:,} consumers vs hand-written SQL: {ratio:.2f}x "
          f"(target <= 2.00x, equal members) {'PASS' if ratio <= 2.0 and equal else 'FAIL'}")
    print(f"RESULT membership lookup p99: {p99:.4f} ms (target <= 1 ms) {'PASS' if p99 <= 1.0 else 'FAIL'}")


if __name__ == "__main__":
    main()
