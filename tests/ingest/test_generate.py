"""The synthetic generator: deterministic, calibrated on the real slice, loadable with the Taobao layout."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pytest

from qianmian.errors import InputError
from qianmian.ingest import ingest_file
from qianmian.ingest.generate import MIX, GeneratorConfig, generate, write_events
from qianmian.store import connect


def _table(cfg: GeneratorConfig) -> pa.Table:
    return pa.concat_tables(list(generate(cfg)))


def test_same_seed_same_file_other_seed_other_file(tmp_path):
    digests = []
    for name, seed in (("a.csv", 7), ("b.csv", 7), ("c.csv", 8)):
        write_events(tmp_path / name, GeneratorConfig(events=50_000, seed=seed))
        digests.append(hashlib.sha256((tmp_path / name).read_bytes()).hexdigest())
    assert digests[0] == digests[1] != digests[2]


def test_behaviour_mix_matches_the_real_slice(shared_data):
    t = _table(GeneratorConfig(events=200_000, seed=1))
    behaviors, counts = np.unique(t["behavior_type"].to_numpy(zero_copy_only=False), return_counts=True)
    generated = dict(zip(behaviors, counts / counts.sum()))
    real = _real_mix(shared_data / "taobao_userbehavior/ub_head_by_user_84k.csv")
    for b in ("pv", "cart", "fav", "buy"):
        assert generated[b] == pytest.approx(real[b], abs=0.01), b
    assert dict(zip(("pv", "cart", "fav", "buy"), MIX)) == pytest.approx(real, abs=0.002)


def _real_mix(path) -> dict[str, float]:
    import duckdb

    rows = duckdb.connect().execute(
        "SELECT column3, count(*) / sum(count(*)) OVER () FROM read_csv(?, header=false) GROUP BY 1", [str(path)]
    ).fetchall()
    return {b: share for b, share in rows}


def test_popularity_is_heavy_tailed_and_buys_follow_views():
    t = _table(GeneratorConfig(events=200_000, seed=2))
    items = t["item_id"].to_numpy()
    _, pop = np.unique(items, return_counts=True)
    top = np.sort(pop)[::-1]
    assert top[: len(top) // 100].sum() > 0.1 * pop.sum()  # the top 1% of items draw >10% of events
    users, beh = t["user_id"].to_numpy(), t["behavior_type"].to_numpy(zero_copy_only=False)
    viewed = set(zip(users[beh == "pv"], items[beh == "pv"]))
    buys = list(zip(users[beh == "buy"], items[beh == "buy"]))
    share = np.mean([b in viewed for b in buys])
    assert 0.45 < share < 0.75  # calibrated on the slice, where 53% of buys follow a view


def test_generated_csv_loads_with_the_taobao_layout(tmp_path):
    info = write_events(tmp_path / "g.csv", GeneratorConfig(events=20_000, seed=4))
    store = connect(f"duckdb:///{tmp_path / 's.duckdb'}")
    r = ingest_file(store, tmp_path / "g.csv", layout="taobao")
    assert info["events"] == r.read == 20_000 and r.quarantined == 0
    assert r.loaded + r.duplicates == 20_000


def test_rejects_bad_arguments(tmp_path):
    with pytest.raises(InputError, match=r"out: expected a file name ending in \.parquet or \.csv"):
        write_events(tmp_path / "x.txt", GeneratorConfig(events=10))
    with pytest.raises(InputError, match="events: expected a positive number"):
        list(generate(GeneratorConfig(events=0)))
