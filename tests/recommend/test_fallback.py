"""Popularity from the store (the fallback before any model is trained) agrees with pandas; live re-ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qianmian.consumers.activity import LiveActivity, cart_items, last_item, live_category
from qianmian.consumers.weights import BEHAVIOR_WEIGHTS
from qianmian.recommend.fallback import Popularity, PopularRecommender, load_popularity


def _events(seed: int = 3, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "user_id": rng.choice([f"u{i}" for i in range(12)], n),
            "item_id": rng.choice([f"i{i}" for i in range(30)], n),
            "behavior": rng.choice(["view", "view", "view", "fav", "cart", "buy"], n),
            "ts": pd.Timestamp("2017-11-25"),
        }
    ).assign(category_id=lambda d: "c" + (d.item_id.str[1:].astype(int) % 4).astype(str))


def _weighted(ev: pd.DataFrame) -> pd.DataFrame:
    return ev.assign(w=ev.behavior.map(BEHAVIOR_WEIGHTS).fillna(0.0))


def test_popularity_matches_pandas(store):
    ev = _events()
    store.append("events", ev)
    pop = load_popularity(store, overall=10, per_category=3)
    scores = _weighted(ev).groupby("item_id").w.sum()
    ref = scores.reset_index().sort_values(["w", "item_id"], ascending=[False, True])
    assert [i for i, _ in pop.overall] == ref.item_id.head(10).tolist()
    cat = ev.groupby("item_id").category_id.min()
    for c, items in pop.by_category.items():
        in_c = ref[ref.item_id.map(cat) == c]
        assert [i for i, _ in items] == in_c.item_id.head(3).tolist()


def test_live_activity_and_popular_reranking():
    live = LiveActivity()
    live.observe([{"user_id": "u1", "item_id": "i1", "category_id": "c1", "behavior": "view"}, {"user_id": "u1", "item_id": "i2", "category_id": "c2", "behavior": "cart"}, {"user_id": "u9", "item_id": "i1", "category_id": "c1", "behavior": "view"}], skip=frozenset({"u9"}))
    seen = live.recent("u1")
    assert live_category(seen) == "c2" and last_item(seen, frozenset({"view"})) == "i1" and cart_items(seen) == ["i2"]
    assert live.recent("u9") == []
    pop = Popularity(overall=(("i5", 9.0), ("i1", 8.0)), by_category={"c2": (("i2", 5.0), ("i7", 4.0))}, category_of={"i2": "c2", "i7": "c2"})
    rec = PopularRecommender(lambda: pop, live)
    home = rec.recommend("u1", "home", 3)
    assert [r.item_id for r in home] == ["i7", "i5"]  # live category first, seen items excluded
    assert "just viewed" in home[0].reason
    assert [r.item_id for r in rec.similar("i2", 5)] == ["i7"]
    live.forget("u1")
    assert [r.item_id for r in rec.recommend("u1", "home", 3)] == ["i5", "i1"]
    assert [r.item_id for r in rec.popular(1)] == ["i5"]
