"""Where the storefront's products come from: the trained models, else popularity from the store.

`Products` holds what serves recommendations (`qianmian.recommend.serving.Serving`): the trained
`RecommendService` once a bundle is loaded, else `qianmian.recommend.fallback.PopularRecommender`.
Popular rails read the trained models' popularity when they are loaded. A shopper who opted out
(the shared `Consumers` snapshot) gets popularity only, and their live events are not kept. A
model failure never costs a page its products: the fallback answers and `problems` says why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from qianmian.consumers.activity import LiveActivity
from qianmian.consumers.snapshot import Consumers
from qianmian.errors import QianmianError
from qianmian.recommend import erasure
from qianmian.recommend.fallback import Popularity, PopularRecommender
from qianmian.recommend.serving import Recommendation, Serving
from qianmian.store import Store

AudienceOf = Callable[[str], str | None]
Loader = Callable[[Store, AudienceOf, Consumers], Serving | None]


class Products:
    """Recommendations, similar and popular items for the page and the API, from one `Serving`."""

    def __init__(
        self,
        store: Store,
        *,
        lock: threading.RLock,
        consumers: Consumers,
        live: LiveActivity,
        popularity: Callable[[], Popularity],
        audience_of: AudienceOf,
        recommender: Serving | None = None,
        load: Loader | None = None,
        models_dir: Path | None = None,
        problems: MutableMapping[str, str] | None = None,
    ) -> None:
        self.store, self.lock, self.consumers, self.live = store, lock, consumers, live
        self.audience_of = audience_of
        self.fallback = PopularRecommender(popularity, live)
        self.serving: Serving = recommender or self.fallback
        self.injected = recommender is not None
        self.load, self.models_dir = load, models_dir
        self.problems: MutableMapping[str, str] = {} if problems is None else problems
        self.version = 0  # bumped when the serving models change, so cached rails follow

    @property
    def trained(self) -> bool:
        return self.serving is not self.fallback

    def serving_name(self) -> str:
        return "trained models" if self.trained else "popularity"

    def load_models(self) -> str:
        """(Re)load trained models through the loader; popularity when there are none."""
        if self.load is None:
            return "injected" if self.injected else "popularity"
        try:
            with self.lock:
                loaded = self.load(self.store, self.audience_of, self.consumers)
        except Exception as exc:  # an optional part must not take the storefront down
            self.problems["recommender"] = f"{type(exc).__name__}: {exc}"
            loaded = None
        else:
            self.problems.pop("recommender", None)
        self.serving = loaded or self.fallback
        self.version += 1
        return self.serving_name()

    def describe(self, scene: str, personalized: bool) -> str:
        """Where a rail's products come from (the rail's "why")."""
        if not personalized or scene == "popular":
            if self.trained:
                return "the most popular products with all shoppers (the trained models' trending popularity)"
            return "the most popular products with all shoppers (all-time popularity in the store: no trained models loaded)"
        if not self.trained:
            return "popularity re-ranked by the shopper's live activity (no trained models loaded)"
        return f"recommended for this shopper by the trained models ({scene} scene)"

    def recommend(self, user_id: str, scene: str, k: int, *, item_id: str | None = None,
                  cart: Sequence[str] | None = None) -> list[Recommendation]:
        """Recommendations for a scene; popularity when the shopper opted out or the model fails."""
        if user_id and not self.consumers.consents(user_id):
            return self.popular(k)
        try:
            return self.serving.recommend(user_id, scene, k=k, item_id=item_id, cart=list(cart) if cart else None)
        except QianmianError:
            raise
        except Exception as exc:  # a model failure must not cost the page its products
            self.problems["recommender"] = f"{type(exc).__name__}: {exc}"
            return self.fallback.recommend(user_id, scene, k, item_id=item_id, cart=cart)

    def popular(self, k: int) -> list[Recommendation]:
        """The most popular products: the trained models' when loaded, else the store's all-time popularity."""
        try:
            return self.serving.popular(k)
        except Exception as exc:  # a model failure must not cost the page its products
            self.problems["recommender"] = f"{type(exc).__name__}: {exc}"
            return self.fallback.popular(k)

    def similar(self, item_id: str, k: int) -> list[Recommendation]:
        try:
            return self.serving.similar(item_id, k)
        except QianmianError:
            raise
        except Exception as exc:
            self.problems["recommender"] = f"{type(exc).__name__}: {exc}"
            return self.fallback.similar(item_id, k)

    def observe(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Feed live events to the page's activity and the models (never for opted-out shoppers)."""
        skip = self.consumers.opted_out
        self.live.observe(rows, skip=skip)
        if self.trained:
            for r in rows:
                if r.get("user_id") not in skip:
                    self.serving.observe(r)

    def withdraw(self, user_id: str) -> None:
        """The shopper opted out: their live events go, and the models stop using their history."""
        self.live.forget(user_id)
        self.serving.forget(user_id)
        self.version += 1

    def forget(self, user_id: str) -> dict[str, Any]:
        """Erase the shopper from the live events and the models: scrub the bundles on disk, then
        reload (the old copy in memory goes)."""
        self.live.forget(user_id)
        self.serving.forget(user_id)
        if self.models_dir is None:
            return {"bundles_scrubbed": [], "serving": "injected" if self.trained else "popularity"}
        scrubbed = erasure.erase_user(self.models_dir, user_id)
        serving = self.load_models() if scrubbed else self.serving_name()
        self.version += 1
        return {"bundles_scrubbed": scrubbed, "serving": serving}
