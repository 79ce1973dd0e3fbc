"""Rail cache: a key changes whenever anything the rail depends on changes."""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd

from qianmian.recommend.serving import Recommendation
from qianmian.storefront.cache import LRU
from qianmian.storefront.config import StorefrontFile
from qianmian.storefront.input import TagService
from qianmian.storefront.service import Collaborators, StorefrontService

NOW = dt.datetime(2017, 12, 4, 10)


def test_lru_evicts_the_least_recently_used():
    lru: LRU[int] = LRU(max_entries=2)
    calls = []
    get = lambda k: lru.get_or_compute(k, lambda: calls.append(k) or len(calls))  # noqa: E731
    assert (get("a"), get("b"), get("a")) == (1, 2, 1)
    get("c")  # evicts b, the least recently used
    assert get("a") == 1 and get("b") == 4 and calls == ["a", "b", "c", "b"]
    assert lru.stats() == {"entries": 2, "hits": 2, "misses": 4}


class CountingRecommender:
    def __init__(self) -> None:
        self.calls = 0

    def recommend(self, user_id, scene, k=10, item_id=None, cart=None):
        self.calls += 1
        return [Recommendation(f"i{self.calls}", 1.0, "test")]

    def similar(self, item_id, k=10):
        return []

    def popular(self, k=10):
        return [Recommendation("p1", 1.0, "popular")]

    def observe(self, event):
        pass

    def forget(self, user_id):
        pass


def test_cached_rails_follow_live_events_tags_and_refresh(store):
    store.append("events", pd.DataFrame({"event_id": ["e1"], "user_id": ["u1"], "item_id": ["i0"], "category_id": ["c"], "behavior": ["view"], "ts": pd.Timestamp(NOW)}))
    rec = CountingRecommender()
    sf = StorefrontService(store, lock=threading.RLock(), config=StorefrontFile(), collaborators=Collaborators(recommender=rec))
    sf.refresh()
    home = lambda: next(m for m in sf.page("u1", now=NOW)[0]["modules"] if m["type"] == "rail" and m["scene"] == "home")  # noqa: E731
    first = home()
    assert home() == first and rec.calls == 1  # served from the cache
    sf.products.observe([{"user_id": "u1", "item_id": "i9", "category_id": "c", "behavior": "view"}])
    assert home() != first and rec.calls == 2  # a live event: new key
    TagService(store, lock=sf.lock, consumers=sf.consumers).set_tags("u1", ["vegan"], now=NOW)
    home()
    assert rec.calls == 3  # new tags: new key
    sf.refresh()
    home()
    assert rec.calls == 4  # new snapshots: new generation
    home()
    assert rec.calls == 4
