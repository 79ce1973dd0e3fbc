"""Popularity straight from the store, for serving before any model is trained.

`PopularRecommender` has the `Serving` shape: all-time behaviour-weighted popularity (the weights
of `qianmian.consumers.weights`: view 1, fav 2, cart 3, buy 4), overall and per category,
re-ranked by the shopper's live activity, so a storefront always has products. Once a bundle is
trained, `RecommendService` serves instead (its `popular` is the trained `trending` model).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import pandas as pd

from qianmian.consumers.activity import LiveActivity, cart_items, live_category
from qianmian.consumers.weights import weight_expr
from qianmian.recommend.serving import Recommendation
from qianmian.store import Store


def item_scores(events: ibis.Table) -> ibis.Table:
    """(item_id, category_id, score): behaviour-weighted popularity per item."""
    known = events.filter(events.item_id.notnull())
    return known.group_by("item_id").aggregate(category_id=known.category_id.min(), score=weight_expr(known.behavior).sum())


def top_per_category(scores: ibis.Table, n: int) -> ibis.Table:
    ranked = scores.mutate(_r=ibis.row_number().over(group_by="category_id", order_by=[ibis.desc("score"), "item_id"]))
    return ranked.filter(ranked._r < n).select("item_id", "category_id", "score")


@dataclass(frozen=True)
class Popularity:
    """A snapshot: the top items overall and per category, and each item's category."""

    overall: tuple[tuple[str, float], ...] = ()
    by_category: Mapping[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)
    category_of: Mapping[str, str] = field(default_factory=dict)


def _pairs(frame: pd.DataFrame) -> tuple[tuple[str, float], ...]:
    return tuple(zip(frame["item_id"].astype(str), frame["score"].astype(float)))


def load_popularity(store: Store, *, overall: int = 200, per_category: int = 20) -> Popularity:
    """Three queries: top `overall` items, top `per_category` per category, item → category."""
    scores = item_scores(store.table("events"))
    top = store.execute(scores.order_by([ibis.desc("score"), "item_id"]).limit(overall))
    per = store.execute(top_per_category(scores.filter(scores.category_id.notnull()), per_category))
    per = per.sort_values(["category_id", "score", "item_id"], ascending=[True, False, True])
    cats = store.execute(scores.filter(scores.category_id.notnull()).select("item_id", "category_id"))
    return Popularity(
        overall=_pairs(top),
        by_category={str(c): _pairs(g) for c, g in per.groupby("category_id", sort=False)},
        category_of=dict(zip(cats["item_id"].astype(str), cats["category_id"].astype(str))),
    )


class PopularRecommender:
    """Popularity rails, re-ranked by what the shopper is doing now."""

    def __init__(self, popularity: Callable[[], Popularity], live: LiveActivity) -> None:
        self._popularity = popularity
        self.live = live

    def recommend(self, user_id: str | None, scene: str, k: int = 10, item_id: str | None = None,
                  cart: Sequence[str] | None = None) -> list[Recommendation]:
        seen = self.live.recent(user_id) if user_id else []
        exclude = {s.item_id for s in seen if s.item_id}
        if scene in ("similar", "post_purchase") and item_id:
            return self.similar(item_id, k, exclude=exclude)
        if scene == "cart":
            return self._from_categories(list(cart or cart_items(seen)), k, exclude, "often bought in the same category as your cart")
        if scene == "popular":
            return self._overall(k, exclude)
        category = live_category(seen)
        first = self._category(category, k, exclude, f"popular in category {category}, which you just viewed") if category else []
        return _merge(first, self._overall(k, exclude), k)

    def popular(self, k: int = 10) -> list[Recommendation]:
        """The most popular items with all shoppers (nothing personal)."""
        return self._overall(k, set())

    def similar(self, item_id: str, k: int = 10, *, exclude: set[str] | None = None) -> list[Recommendation]:
        category = self._popularity().category_of.get(item_id)
        skip = (exclude or set()) | {item_id}
        return self._category(category, k, skip, "popular in the same category") if category else []

    def observe(self, event: Mapping[str, Any]) -> None:
        self.live.observe([event])

    def forget(self, user_id: str) -> None:
        self.live.forget(user_id)

    def _overall(self, k: int, exclude: set[str]) -> list[Recommendation]:
        return _take(self._popularity().overall, k, exclude, "popular with shoppers")

    def _category(self, category: str | None, k: int, exclude: set[str], reason: str) -> list[Recommendation]:
        return _take(self._popularity().by_category.get(category or "", ()), k, exclude, reason)

    def _from_categories(self, items: list[str], k: int, exclude: set[str], reason: str) -> list[Recommendation]:
        pop = self._popularity()
        cats = list(dict.fromkeys(pop.category_of[i] for i in items if i in pop.category_of))
        out: list[Recommendation] = []
        for c in cats:
            out = _merge(out, self._category(c, k, exclude | set(items), reason), k)
        return out


def _take(pairs: Sequence[tuple[str, float]], k: int, exclude: set[str], reason: str) -> list[Recommendation]:
    out = []
    for item, score in pairs:
        if item not in exclude:
            out.append(Recommendation(item, score, reason))
            if len(out) == k:
                break
    return out


def _merge(first: list[Recommendation], second: list[Recommendation], k: int) -> list[Recommendation]:
    have = {r.item_id for r in first}
    return (first + [r for r in second if r.item_id not in have])[:k]
