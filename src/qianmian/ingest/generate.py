"""Synthetic Taobao-like events for scale tests, calibrated on the bundled real slice.

Calibration (measured on `ub_head_by_user_84k.csv`, see docs/data-model.md):
behaviour mix pv 89.8% / cart 5.3% / fav 2.8% / buy 2.1%; ~100 events per user (median 78, long
tail); ~0.65 items per event and ~19 items per category, both power-law popular; 53% of buys follow a
view of the same item by the same shopper (the generator gives ~61%: its small categories make chance
revisits likely, on top of the events that explicitly follow a view). Events come in sessions (one category each, mostly,
geometric length, seconds-to-minutes apart) inside the dataset's 9 Beijing days. The output uses the
Taobao layout (`user_id,item_id,category_id,behavior_type,timestamp`), so `qianmian ingest --format
taobao` loads it. Fully vectorized; the same seed gives the same file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from qianmian.errors import InputError

BEHAVIORS = np.array(["pv", "cart", "fav", "buy"])
MIX = np.array([0.898, 0.053, 0.028, 0.021])
FOLLOW_VIEW = 0.05  # small categories make revisits likely anyway: ~61% of buys follow a view (slice: 53%)
START = 1511539200  # 2017-11-25 00:00 Beijing (UTC+8), unix seconds
DAYS = 9
CHUNK = 1_000_000


@dataclass(frozen=True)
class GeneratorConfig:
    events: int
    users: int | None = None  # default: events / 100
    seed: int = 0
    session_mean: float = 12.0  # events per session
    item_skew: float = 1.1  # power-law exponent of item popularity within a category

    def n_users(self) -> int:
        return self.users or max(1, self.events // 100)

    def n_items(self) -> int:
        return max(100, int(self.events * 0.65))

    def n_categories(self) -> int:
        return max(10, self.n_items() // 19)


@dataclass(frozen=True)
class Catalog:
    """Items sorted by category: category c owns items start[c] .. start[c] + size[c] - 1."""

    start: np.ndarray
    size: np.ndarray
    cat_cdf: np.ndarray  # cumulative popularity of categories


def catalog(cfg: GeneratorConfig) -> Catalog:
    rng = np.random.default_rng([cfg.seed, 0])
    n_cat = cfg.n_categories()
    weights = rng.pareto(1.2, n_cat) + 1.0  # category sizes: heavy-tailed
    size = np.maximum(1, np.round(weights / weights.sum() * cfg.n_items())).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    pop = 1.0 / np.arange(1, n_cat + 1) ** 0.9
    rng.shuffle(pop)
    return Catalog(start, size, np.cumsum(pop) / pop.sum())


def chunk(cfg: GeneratorConfig, cat: Catalog, index: int, n: int, users: tuple[int, int]) -> pa.Table:
    """Events of users [users[0], users[1]) — `n` of them — as an Arrow table (Taobao layout)."""
    rng = np.random.default_rng([cfg.seed, 1, index])
    u0, u1 = users
    activity = rng.lognormal(0.0, 1.0, u1 - u0)
    user = np.repeat(np.arange(u0, u1), rng.multinomial(n, activity / activity.sum()))
    new_session = np.empty(n, dtype=bool)
    new_session[0] = True
    new_session[1:] = (user[1:] != user[:-1]) | (rng.random(n - 1) < 1.0 / cfg.session_mean)
    session = np.cumsum(new_session) - 1
    n_sess = int(session[-1]) + 1
    s_cat = np.searchsorted(cat.cat_cdf, rng.random(n_sess))
    s_start = START + rng.integers(0, DAYS * 86400 - 3600, n_sess)
    category = s_cat[session]
    stray = rng.random(n) < 0.15  # some events wander to another category
    category[stray] = np.searchsorted(cat.cat_cdf, rng.random(int(stray.sum())))
    behavior = np.searchsorted(np.cumsum(MIX), rng.random(n) * MIX.sum())
    behavior[new_session] = 0  # a session opens with a view
    # views follow popularity; other behaviours that do not follow a view pick within the category evenly
    skew = np.where(behavior == 0, 1 + cfg.item_skew, 1.0)
    offset = np.floor(cat.size[category] * rng.random(n) ** skew).astype(np.int64)
    item = cat.start[category] + offset
    item, category = _follow_views(item, category, behavior, new_session, rng)
    gaps = 1 + rng.exponential(90.0, n).astype(np.int64)
    gaps[new_session] = 0
    ts = s_start[session] + _cumsum_within(gaps, new_session)
    return pa.table({
        "user_id": pa.array(user + 1, pa.int64()), "item_id": pa.array(item + 1, pa.int64()),
        "category_id": pa.array(category + 1, pa.int64()), "behavior_type": pa.array(BEHAVIORS[behavior]),
        "timestamp": pa.array(np.minimum(ts, START + DAYS * 86400 - 1), pa.int64()),
    })


def _follow_views(item, category, behavior, new_session, rng):
    """Make FOLLOW_VIEW of the non-view events act on the item of the latest view in their session."""
    idx = np.arange(len(item))
    last_view = np.where(behavior == 0, idx, 0)
    np.maximum.accumulate(last_view, out=last_view)  # sessions open with a view, so this stays in-session
    follow = (behavior != 0) & (rng.random(len(item)) < FOLLOW_VIEW)
    item = np.where(follow, item[last_view], item)
    category = np.where(follow, category[last_view], category)
    return item, category


def _cumsum_within(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    total = np.cumsum(values)
    base = np.maximum.accumulate(np.where(starts, total - values, 0))
    return total - base


def generate(cfg: GeneratorConfig, on_rows: Callable[[int], None] | None = None):
    """Yield Arrow tables of about `CHUNK` events each, `cfg.events` in total."""
    if cfg.events < 1:
        raise InputError("events", "a positive number of events", cfg.events)
    cat = catalog(cfg)
    n_chunks = -(-cfg.events // CHUNK)
    bounds = np.linspace(0, cfg.n_users(), n_chunks + 1).astype(np.int64)
    sizes = np.diff(np.linspace(0, cfg.events, n_chunks + 1).astype(np.int64))
    for i in range(n_chunks):
        users = (int(bounds[i]), max(int(bounds[i + 1]), int(bounds[i]) + 1))
        table = chunk(cfg, cat, i, int(sizes[i]), users)
        if on_rows:
            on_rows(table.num_rows)
        yield table


def write_events(out: str | Path, cfg: GeneratorConfig, on_rows: Callable[[int], None] | None = None) -> dict:
    """Write `cfg.events` synthetic events to `out` (.parquet or .csv, no header: the Taobao layout)."""
    path = Path(out)
    if path.suffix not in (".parquet", ".csv"):
        raise InputError("out", "a file name ending in .parquet or .csv", str(out))
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tables = generate(cfg, on_rows)
    first = next(tables)
    if path.suffix == ".parquet":
        with pq.ParquetWriter(path, first.schema) as w:
            for t in (first, *tables):
                w.write_table(t)
    else:
        opts = pacsv.WriteOptions(include_header=False, quoting_style="none")
        with pacsv.CSVWriter(path, first.schema, write_options=opts) as w:
            for t in (first, *tables):
                w.write_table(t)
    seconds = time.perf_counter() - started
    return {"path": str(path), "events": cfg.events, "users": cfg.n_users(), "seed": cfg.seed,
            "seconds": seconds, "events_per_s": cfg.events / seconds, "synthetic": True}
