"""`RecommendService`: the serving object the storefront and API use.

Loads a trained bundle, keeps the live recent-events buffer, applies the business rules and
attaches a reason to every item. Self-tags and consent are read from a `qianmian.consumers.Consumers`
snapshot, the same one the storefront holds. Nothing here reads the clock or trains.

>>> svc = RecommendService.load(f"var/models/{store.id}", store=store)  # doctest: +SKIP
>>> svc.observe({"user_id": "u1", "item_id": "i9", "behavior": "view", "ts": 1700000000})
>>> svc.recommend("u1", "home", k=20)                               # doctest: +SKIP
[Recommendation(item_id='i4', score=3.1, reason='because you viewed Lavender soap'), ...]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from qianmian.consumers.snapshot import Consumers
from qianmian.errors import InputError, NotFoundError
from qianmian.recommend import reasons as R
from qianmian.recommend import rules as rules_mod
from qianmian.recommend.base import topk
from qianmian.recommend.bundle import Bundle, check_store, load_bundle, resolve
from qianmian.recommend.catalog import Catalog
from qianmian.recommend.live import LiveBuffer, LiveEvent
from qianmian.recommend.matrix import BEHAVIOR_RANK
from qianmian.recommend.models.ensemble import Ensemble
from qianmian.recommend.rules import Rules
from qianmian.recommend.scenes import (
    PERSONAL,
    SCENES,
    Scored,
    audience_popularity,
    blocked_categories,
    constant,
    from_anchors,
    item_set_scores,
)
from qianmian.recommend.serving import Recommendation
from qianmian.store import Store
from qianmian.store.schema import NON_PRODUCT

AudienceOf = Mapping[str, str] | Callable[[str], str | None]


class RecommendService:
    """Recommendations for every scene from one loaded bundle (see `qianmian.recommend.scenes`)."""

    def __init__(
        self,
        bundle: Bundle,
        *,
        catalog: Catalog | None = None,
        rules: Rules = Rules(),
        audience_of: AudienceOf | None = None,
        consumers: Consumers | None = None,
        live: LiveBuffer | None = None,
        live_boost: float = 2.0,
        live_recency: float = 0.8,
    ) -> None:
        self.bundle = bundle
        self.catalog = with_non_product_category(catalog or Catalog.empty(bundle.items, bundle.item_category), bundle)
        self.rules = rules
        self.live = live or LiveBuffer()
        self.live_boost, self.live_recency = float(live_boost), float(live_recency)
        self.consumers = consumers or Consumers()
        self.forgotten: set[str] = set()
        self._audience_of = audience_of
        self._audience_pop: dict[str, np.ndarray] = {}

    @classmethod
    def load(
        cls, models_dir: Path | str, *, version: str | None = None, store: Store | None = None, **kwargs: Any
    ) -> RecommendService:
        """Load the bundle (latest version by default); with a store, also the catalog and (unless a
        shared `consumers` snapshot is given) the shoppers' self-tags and consent, after checking that
        the bundle was trained on that store (`bundle.check_store`)."""
        path = resolve(models_dir, version)
        bundle = load_bundle(path)
        if store is not None:
            check_store(bundle, store, path)
            kwargs.setdefault("catalog", Catalog.from_store(store, bundle.items, bundle.item_category))
            if kwargs.get("consumers") is None:
                kwargs["consumers"] = Consumers.load(store, profiles=False)
        return cls(bundle, **kwargs)

    # -- state updates --------------------------------------------------------------------------
    def observe(self, event: Mapping[str, Any] | LiveEvent) -> None:
        """Feed one event to the live buffer (ignored for shoppers who opted out)."""
        e = event if isinstance(event, LiveEvent) else LiveEvent.usable(event)
        if e is not None and self.consumers.consents(e.user_id):  # anonymous and item-less events re-rank nothing
            self.live.observe(e)

    def forget(self, user_id: str) -> None:
        """Drop what this service holds for `user_id` (live events, history rows); tags and consent
        live in the shared `consumers` snapshot (`Consumers.forget`)."""
        uid = str(user_id)
        self.live.forget(uid)
        self.forgotten.add(uid)

    def set_stock(self, item_ids: Sequence[str], stock: Sequence[float]) -> None:
        self.catalog = self.catalog.with_stock(item_ids, stock)

    # -- answers --------------------------------------------------------------------------------
    def recommend(
        self,
        user_id: str | None,
        scene: str = "home",
        k: int = 20,
        item_id: str | None = None,
        cart: Sequence[str] | None = None,
    ) -> list[Recommendation]:
        """The top `k` for `user_id` in `scene`; `item_id` for similar/post_purchase, `cart` for cart."""
        if scene not in SCENES:
            raise InputError("scene", f"one of {list(SCENES)}", scene)
        if not isinstance(k, int) or k < 1:
            raise InputError("k", "a positive integer", k)
        uid = None if user_id is None else str(user_id)
        personal = uid is not None and self.consumers.consents(uid)
        if scene in PERSONAL and not personal:
            return self._trending_layers(k) if scene == "layers" else self._finish(self._trending(), k, None)
        if scene == "home":
            return self._home(uid, k)
        if scene == "audience_top":
            return self._audience_top(uid, k)
        if scene == "layers":
            return self._layers(uid, k)
        owner = uid if personal else None
        if scene == "similar":
            return self.similar(_required(item_id, "item_id"), k, user_id=owner)
        context = list(cart or ()) + ([item_id] if item_id else [])
        return self._basket(owner, context, k, complements=scene == "post_purchase")

    def popular(self, k: int = 10) -> list[Recommendation]:
        """The most popular items right now, for everyone (the trained `trending` model, rules applied)."""
        return self._finish(self._trending(), k, None)

    def similar(self, item_id: str, k: int = 10, *, user_id: str | None = None) -> list[Recommendation]:
        """Items most similar to `item_id` (item-page rail)."""
        i = self._item(item_id)
        sim = np.array(self.bundle.model("covisit").item_similarity(i), np.float32)
        sim[sim <= 0] = -np.inf
        sim[i] = -np.inf
        title = self.catalog.title(i)
        return self._finish(Scored(sim, constant(R.text("similar", anchor=title))), k, user_id)

    # -- scenes ---------------------------------------------------------------------------------
    def _home(self, uid: str, k: int) -> list[Recommendation]:
        u, live = self._user(uid), self.live.recent(uid)
        if u is None and not live:
            return self._audience_top(uid, k)
        model = self.bundle.model("home")
        rows = [self._row(p, u, live) for p in self.bundle.parts("home")]
        ids = None if live or u is None else np.array([u])
        scores = model.score_each(rows, ids) if isinstance(model, Ensemble) else model.score(rows[0], ids)
        ctx, weights, verbs = self._context(u, live)
        sim = self.bundle.model("covisit").similarity_block
        reason = from_anchors("because", ctx, weights, sim, self.catalog.title, R.text("for_you"), verbs)
        return self._finish(Scored(np.asarray(scores)[0], reason), k, uid, bought=self._bought(uid))

    def _audience_top(self, uid: str, k: int) -> list[Recommendation]:
        audience = self._audience(uid)
        if audience is None:
            return self._finish(self._trending(), k, uid)
        pop = self._audience_pop.get(audience)
        if pop is None:
            pop = self._audience_pop[audience] = audience_popularity(self.bundle.user_matrix("popular"), self._members(audience))
        return self._finish(
            Scored(np.where(pop > 0, pop, -np.inf), constant(R.text("audience"))), k, uid, bought=self._bought(uid)
        )

    def _basket(self, uid: str | None, context: Sequence[str], k: int, *, complements: bool) -> list[Recommendation]:
        items = np.array([i for i in (self.bundle.items.get(c) for c in context) if i is not None], np.int64)
        if not len(items):
            return self._finish(self._trending(), k, uid)
        model = self.bundle.model("cart")
        if not getattr(model, "W", sp.csr_matrix((1, 1))).nnz:
            model = self.bundle.model("covisit")
        scores = item_set_scores(model.item_similarity, items, len(self.bundle.items))
        scores[scores <= 0] = -np.inf
        block = np.zeros(len(scores), bool)
        block[items] = True
        if complements:  # substitutes share a category with what was just bought
            cats = self.catalog.category[items]
            block |= np.isin(self.catalog.category, cats[cats >= 0])
        template = "goes_with" if complements else "often_with"
        reason = from_anchors(
            template, items, np.ones(len(items), np.float32), model.similarity_block, self.catalog.title, R.text("trending")
        )
        return self._finish(Scored(scores, reason), k, uid, bought=self._bought(uid), extra_block=block)

    def _layers(self, uid: str, k: int) -> list[Recommendation]:
        u, live = self._user(uid), self.live.recent(uid)
        model = self.bundle.model("layers")
        rows = [self._row(p, u, live) for p in self.bundle.parts("layers")]
        scores = np.asarray(model.score_each(rows, None) if isinstance(model, Ensemble) else model.score(rows[0], None))[
            0
        ].copy()
        item_block = rules_mod.blocked(self.catalog, self.rules, user_tags=self._tags(uid))
        scores[blocked_categories(item_block, self.catalog.category, len(self.bundle.categories))] = -np.inf
        own = rows[0].toarray()[0] > 0
        top = topk(scores[None, :], k).row(0)
        return [
            Recommendation(str(self.bundle.categories.ids[c]), float(s), R.text("repeat_layer" if own[c] else "new_layer"))
            for c, s in zip(*top)
        ]

    def _trending_layers(self, k: int) -> list[Recommendation]:
        pop = np.asarray(self.bundle.model("layer_trending").score(sp.csr_matrix((1, len(self.bundle.categories)))))[0]
        ids, scores = topk(np.where(pop > 0, pop, -np.inf)[None, :], k).row(0)
        return [Recommendation(str(self.bundle.categories.ids[c]), float(s), R.text("trending")) for c, s in zip(ids, scores)]

    # -- shared steps ---------------------------------------------------------------------------
    def _finish(
        self, scored: Scored, k: int, uid: str | None, *, bought: np.ndarray | None = None, extra_block: np.ndarray | None = None
    ) -> list[Recommendation]:
        """Rules → top-k with diversity → pins → reasons → pad with trending."""
        mask = rules_mod.blocked(self.catalog, self.rules, user_tags=self._tags(uid), bought=bought)
        if extra_block is not None:
            mask |= extra_block
        scores = rules_mod.boost(scored.scores, self.catalog, self.rules)
        scores = np.where(mask, -np.inf, scores)
        pool = k * 4 if self.rules.max_per_category else k
        ids, top = topk(scores[None, :], pool).row(0)
        keep = rules_mod.diversify(ids, self.catalog.category, self.rules.max_per_category, k)
        ids, top = ids[keep], top[keep]
        pinned = self.catalog.items.index(list(self.rules.pinned)) if self.rules.pinned else np.zeros(0, np.int64)
        ids, top = rules_mod.pin(ids, top, pinned, ~mask)
        ids, top = ids[:k], top[:k]
        texts = scored.reason(ids)
        texts = [R.text("pinned") if i in set(pinned.tolist()) else t for i, t in zip(ids.tolist(), texts)]
        recs = [Recommendation(str(self.bundle.items.ids[i]), float(s), t) for i, s, t in zip(ids, top, texts)]
        floor = recs[-1].score if recs else 0.0
        return recs + self._padding(k - len(recs), mask, ids, floor) if len(recs) < k else recs

    def _padding(self, n: int, mask: np.ndarray, chosen: np.ndarray, scored_floor: float) -> list[Recommendation]:
        """Trending items after the ranked ones, scored below them so scores stay non-increasing."""
        pop = np.array(self._trending().scores, np.float32)
        pop[mask] = -np.inf
        pop[chosen] = -np.inf
        ids, _ = topk(pop[None, :], n).row(0)
        below = min(float(scored_floor), 0.0) - 1.0 - np.arange(len(ids)) / max(len(ids), 1)
        return [Recommendation(str(self.bundle.items.ids[i]), float(s), R.text("trending")) for i, s in zip(ids, below)]

    def _trending(self) -> Scored:
        pop = np.asarray(self.bundle.model("trending").score(sp.csr_matrix((1, len(self.bundle.items)))))[0]
        return Scored(np.where(pop > 0, pop, -np.inf).astype(np.float32), constant(R.text("trending")))

    def _row(self, name: str, u: int | None, live: list[LiveEvent]) -> sp.csr_matrix:
        """The shopper's row for model `name`: training history plus boosted live events."""
        spec = self.bundle.specs[name]
        base = self.bundle.user_matrix(name)
        row = base[u] if u is not None else sp.csr_matrix((1, base.shape[1]), dtype=np.float32)
        if not live:
            return row
        weights = spec.matrix.behavior_weights()
        cols = self.bundle.items.index([e.item_id for e in live])
        if spec.level == "category":
            cols = np.where(cols >= 0, self.bundle.item_category[np.maximum(cols, 0)], -1)
        w = np.array([weights.get(e.behavior, 0.0) for e in live], np.float32) / max(*weights.values(), 1e-09)
        # a recency row ("max": each cell at most 1) is scaled by its total, a count row by its largest cell
        scale = float(row.sum()) if spec.matrix.aggregate == "max" else float(row.max())
        w *= self.live_boost * max(scale, 1.0) * self.live_recency ** np.arange(len(live))[::-1]
        ok = (cols >= 0) & (w > 0)
        add = sp.csr_matrix((w[ok], (np.zeros(ok.sum(), np.int64), cols[ok])), shape=row.shape)
        add.sum_duplicates()
        if spec.matrix.transform == "log1p":
            add.data = np.log1p(add.data)
        elif spec.matrix.transform == "binary":
            add.data[:] = 1.0
        return sp.csr_matrix(row.maximum(add) if spec.matrix.aggregate == "max" else row + add)

    def _context(self, u: int | None, live: list[LiveEvent]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The shopper's known items, their weights (live events weigh most) and strongest behaviours."""
        hist = self.bundle.strongest[u] if u is not None else sp.csr_matrix((1, len(self.bundle.items)))
        items, ranks = hist.indices.astype(np.int64), hist.data.astype(np.int64)
        weights = 1.0 + 0.25 * ranks.astype(np.float32)  # bought counts a bit more than viewed
        live_items = self.bundle.items.index([e.item_id for e in live])
        live_ranks = np.array([BEHAVIOR_RANK.get(e.behavior, 1) for e in live], np.int64)
        ok = live_items >= 0
        live_w = (10.0 + np.arange(len(live), dtype=np.float32))[ok]
        return np.r_[items, live_items[ok]], np.r_[weights, live_w], np.r_[ranks, live_ranks[ok]]

    def _bought(self, uid: str | None) -> np.ndarray | None:
        """Items the shopper bought (training history and live events)."""
        if uid is None:
            return None
        items, _, ranks = self._context(self._user(uid), self.live.recent(uid))
        return items[ranks == BEHAVIOR_RANK["buy"]]

    def _user(self, uid: str | None) -> int | None:
        return None if uid is None or uid in self.forgotten else self.bundle.users.get(uid)

    def _item(self, item_id: str) -> int:
        i = self.bundle.items.get(item_id)
        if i is None:
            raise NotFoundError("item", item_id)
        return i

    def _tags(self, uid: str | None) -> list[str]:
        return list(self.consumers.tags_of(uid)) if uid is not None else []

    def _audience(self, uid: str) -> str | None:
        a = self._audience_of
        if a is None:
            return None
        return a.get(uid) if isinstance(a, Mapping) else a(uid)

    def _members(self, audience: str) -> np.ndarray:
        a = self._audience_of
        if isinstance(a, Mapping):
            members = [u for u, name in a.items() if name == audience]
        else:
            members = [u for u in self.bundle.users.ids if a(u) == audience]
        idx = self.bundle.users.index(members)
        return idx[idx >= 0]


def with_non_product_category(catalog: Catalog, bundle: Bundle) -> Catalog:
    """The catalog told which category number means "not a product" in this bundle."""
    n = bundle.categories.get(NON_PRODUCT)
    return catalog if n is None else dataclasses.replace(catalog, non_product_category=int(n))


def _required(value: str | None, name: str) -> str:
    if not value:
        raise InputError(name, "an id for this scene", value)
    return value
