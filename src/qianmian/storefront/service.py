"""`StorefrontService`: decides and composes each shopper's page from in-memory snapshots.

Per request (no query on this path):

1. consent — an opted-out shopper gets the default page, non-personalized;
2. audiences — the shopper's audiences in priority order; the first one with an experience wins,
   else the `default` experience;
3. experiment — with a storefront experiment configured, the shopper's variant; the control
   variant sees the default page (the 2:8 test of seed 000 compares against it);
4. need — live activity, else the audience's need, else history (`greeting.predict_need`); not
   predicted for a page that is not personalized;
5. rails — each rail's scene from the recommender (popularity when not personalized), no product
   twice on a page; a personal rail that would only repeat the popular one is left out;
6. guide question, nearby store, bundle, coupon; then `page.compose`.

Each step is recorded in one `page.Decision`, from which the page's `decision` and `reasons` are
read ("Why this page" in the console).

Snapshots (experiences, popularity, stores, audience membership, the experiment, and the shared
`qianmian.consumers.Consumers` — profiles, consent, self-tags) are rebuilt by `refresh`, which the
API calls at start and on a timer. This service composes pages; the products come from
`storefront.products.Products` (trained models or popularity); experiences are authored through
`storefront.authoring`; self-tags and the guide (`storefront.input`), consent and erasure
(`storefront.privacy`) are services of their own over the same `Consumers`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import orjson
import pandas as pd

from qianmian.consumers.activity import LiveActivity, cart_items, last_item, live_category
from qianmian.consumers.consent import check_user
from qianmian.consumers.snapshot import Consumers, Profile
from qianmian.errors import InputError, QianmianError
from qianmian.recommend.fallback import Popularity, load_popularity
from qianmian.recommend.serving import Recommendation, Serving
from qianmian.store import Store
from qianmian.storefront import experiences as xp
from qianmian.storefront import guide
from qianmian.storefront.cache import LRU
from qianmian.storefront.config import StorefrontFile, packaged_default
from qianmian.storefront.experiences import Experience, Rail
from qianmian.storefront.greeting import FALLBACK_NEED, predict_need
from qianmian.storefront.nearby import StoreLocator
from qianmian.storefront.page import Decision, PageInputs, RailDecision, compose, shown
from qianmian.storefront.products import Loader, Products


class Membership(Protocol):
    """Audience lookup (`qianmian.audiences.MembershipIndex` has this shape)."""

    def audiences_of(self, user_id: str) -> list[str]: ...


class NoAudiences:
    def audiences_of(self, user_id: str) -> list[str]:
        return []


@dataclass(frozen=True)
class Snapshot:
    experiences: Mapping[str, Experience] = field(default_factory=dict)
    popularity: Popularity = field(default_factory=Popularity)
    locator: StoreLocator = field(default_factory=lambda: StoreLocator(pd.DataFrame(columns=["store_id", "name", "city", "address", "lat", "lon"])))
    membership: Membership = field(default_factory=NoAudiences)
    experiment: Any = None  # qianmian.experiments.assignment.Experiment


Assign = Callable[..., str | None]


@dataclass(frozen=True)
class Served:
    page: dict[str, Any]
    body: bytes  # the page as UTF-8 JSON
    exposure: dict[str, Any] | None


@dataclass
class Collaborators:
    """Optional parts built by other packages; each has a fallback."""

    recommender: Serving | None = None
    load_recommender: Loader | None = None
    models_dir: Path | None = None
    load_membership: Callable[[Store], Membership] | None = None
    load_experiment: Callable[[Store, str], Any] | None = None
    assign: Assign | None = None


class StorefrontService:
    def __init__(
        self,
        store: Store,
        *,
        lock: threading.RLock,
        config: StorefrontFile,
        collaborators: Collaborators,
        experiment_name: str | None = None,
        live: LiveActivity | None = None,
        consumers: Consumers | None = None,
    ) -> None:
        self.store = store
        self.lock = lock
        self.config = config
        self.parts = collaborators
        self.experiment_name = experiment_name
        self.consumers = consumers or Consumers()
        self.snapshot = Snapshot()
        self.problems: dict[str, str] = {}
        self.products = Products(
            store, lock=lock, consumers=self.consumers, live=live or LiveActivity(), popularity=lambda: self.snapshot.popularity,
            audience_of=self.primary_audience, recommender=collaborators.recommender, load=collaborators.load_recommender,
            models_dir=collaborators.models_dir, problems=self.problems,
        )
        self.rails = LRU[tuple[Recommendation, ...]]()
        self._id_prefix = uuid.uuid4().hex[:16]
        self._ids = itertools.count()
        self.generation = 0  # bumped when the snapshots are rebuilt

    @property
    def live(self) -> LiveActivity:
        return self.products.live

    def primary_audience(self, user_id: str) -> str | None:
        """The shopper's highest-priority audience (for cold-start "audience favourites")."""
        found = self.snapshot.membership.audiences_of(user_id)
        return found[0] if found else None

    # -- snapshots -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Rebuild every snapshot from the store (a failing optional part keeps its last value)."""
        with self.lock:
            s = self.snapshot
            self._try("consumers", self.consumers.refresh, None)
            s = replace(s, experiences=xp.load_all(self.store), popularity=load_popularity(self.store))
            s = replace(s, locator=StoreLocator.from_frame(self.store.execute(self.store.table("stores"))))
            if self.parts.load_membership is not None:
                s = replace(s, membership=self._try("audiences", self.parts.load_membership, s.membership))
            if self.experiment_name and self.parts.load_experiment is not None:
                s = replace(s, experiment=self._try("experiment", lambda st: self.parts.load_experiment(st, self.experiment_name), s.experiment))
        self.snapshot = s
        self.generation += 1

    def _try(self, part: str, load: Callable[[Store], Any], last: Any) -> Any:
        try:
            value = load(self.store)
        except Exception as exc:  # an optional part must not take the storefront down
            self.problems[part] = f"{type(exc).__name__}: {exc}"
            return last
        self.problems.pop(part, None)
        return value

    # -- the page ------------------------------------------------------------------------------
    def experience_for(self, audiences: Sequence[str]) -> tuple[Experience, str | None]:
        """The experience of the first audience (in priority order) that has one, else default."""
        exps = self.snapshot.experiences
        for a in audiences:
            if a in exps and a != xp.DEFAULT_AUDIENCE:
                return exps[a], a
        return exps.get(xp.DEFAULT_AUDIENCE) or packaged_default(), None

    def page(self, user_id: str, *, now: dt.datetime, lat: float | None = None, lon: float | None = None,
             variant: str | None = None) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """``(page, exposure row)``; the exposure row is None for shoppers who opted out."""
        served = self.serve(user_id, now=now, lat=lat, lon=lon, variant=variant)
        return served.page, served.exposure

    def serve(self, user_id: str, *, now: dt.datetime, lat: float | None = None, lon: float | None = None,
              variant: str | None = None) -> Served:
        """The page, its JSON text (serialized once, for the response and the log) and the exposure row.

        `variant` puts the shopper in that arm of the storefront experiment instead of their own
        (the console's side-by-side preview of the test and control pages; such a page must not be logged).
        """
        snap = self.snapshot
        profile = self.consumers.profile(check_user(user_id))
        audiences = tuple(snap.membership.audiences_of(user_id)) if profile.consent else ()
        own, owner = self.experience_for(audiences)
        experiment, chosen = self._variant(user_id, audiences, now, force=variant) if profile.consent else (None, None)
        arm = None if chosen is None else ("control" if chosen == getattr(snap.experiment, "control", None) else "test")
        if profile.consent and arm != "control":
            experience, audience, personalized = own, owner, True
        else:
            experience, audience, personalized = self.experience_for(())[0], None, False
        base = Decision(audiences, audience, experience.audience, experience.version, personalized, profile.consent,
                        experiment, chosen, arm, withheld=None if personalized else owner)
        inputs = self._inputs(profile, experience, base, lat, lon)
        page = compose(inputs, page_id=self._page_id(), served_at=now)
        body = orjson.dumps(page)
        return Served(page, body, self._exposure(page, now) if profile.consent else None)

    def arm_of(self, user_id: str, *, now: dt.datetime) -> tuple[str | None, str | None]:
        """(experiment, variant) the storefront would assign the shopper now; (None, None) without one."""
        if not self.consumers.consents(user_id):
            return None, None
        return self._variant(user_id, tuple(self.snapshot.membership.audiences_of(user_id)), now)

    def _page_id(self) -> str:
        """Unique without a system call per page: a random per-process prefix and a counter."""
        return f"{self._id_prefix}{next(self._ids):010x}"

    def _variant(self, user_id: str, audiences: Sequence[str], now: dt.datetime, *, force: str | None = None) -> tuple[str | None, str | None]:
        exp = self.snapshot.experiment
        if exp is None or self.parts.assign is None:
            if force is not None:
                raise InputError("variant", "no variant: the storefront runs no experiment", force)
            return None, None
        if force is not None:
            if force not in exp.variant_names:
                raise InputError("variant", f"one of the variants of {exp.name!r}: {list(exp.variant_names)}", force)
            return exp.name, force
        variant = self.parts.assign(exp, user_id, audiences=list(audiences), at=now)
        return (exp.name, variant) if variant is not None else (None, None)

    def _inputs(self, profile: Profile, experience: Experience, base: Decision, lat: float | None, lon: float | None) -> PageInputs:
        personalized = base.personalized
        seen = self.products.live.recent(profile.user_id) if personalized else []
        if personalized:
            need, why = predict_need(
                audience_need=experience.need if base.audience else None,
                live_category=live_category(seen),
                history_category=profile.top_category,
                labels=self.config.labels,
            )
        else:  # nothing about the shopper is used: the experience's own need, or the neutral words
            need, why = experience.need or FALLBACK_NEED, "not personalized"
        rails, rail_why = self._page_rails(profile.user_id, experience.rails, seen, personalized)
        tags = profile.tags if personalized else ()
        question = guide.next_question(self.config.questions, tags) if personalized and "guide" in experience.modules else None
        notes: list[str] = []
        nearby = self._nearby(profile, lat, lon, notes) if "nearby_store" in experience.modules else None
        decision = replace(base, need=need, need_source=why, rails=rail_why, notes=tuple(notes))
        return PageInputs(profile.user_id, profile.name, experience, base.audience, base.audiences, personalized, need, rails,
                          experiment=base.experiment, variant=base.variant, question=question, nearby=nearby, tags=tags, decision=decision)

    def _page_rails(self, user_id: str, rails: Sequence[Rail], seen: list, personalized: bool
                    ) -> tuple[tuple[tuple[Rail, tuple[Recommendation, ...]], ...], tuple[RailDecision, ...]]:
        """Each rail's products, no product twice on a page (a later rail skips what an earlier one
        shows and asks for more to keep its k). A page that is not personalized fills personal
        scenes from popularity, so with a popular rail as well such a rail would repeat it: left out."""
        popular = next((r.title for r in rails if r.scene == "popular"), None)
        shown: set[str] = set()
        out, why = [], []
        for rail in rails:
            if not personalized and rail.scene != "popular" and popular is not None:
                out.append((rail, ()))
                why.append(RailDecision(rail.title, rail.scene, "", 0, f"the page is not personalized, so it would repeat {popular!r}"))
                continue
            more = self._cached_rail(user_id, replace(rail, k=rail.k + len(shown)), seen, personalized)
            recs = tuple(r for r in more if r.item_id not in shown)[: rail.k]
            shown.update(r.item_id for r in recs)
            out.append((rail, recs))
            gone = "nothing to show" + (" that the rails above do not already show" if more else "")
            why.append(RailDecision(rail.title, rail.scene, self.products.describe(rail.scene, personalized), len(recs), None if recs else gone))
        return tuple(out), tuple(why)

    def _cached_rail(self, user_id: str, rail: Rail, seen: list, personalized: bool) -> tuple[Recommendation, ...]:
        live = (len(seen), seen[-1].at) if seen else (0, 0.0)
        who = (user_id, live, self.consumers.tags_of(user_id)) if personalized and rail.scene != "popular" else None
        key = (self.generation, self.products.version, self.consumers.version, who, rail.scene, rail.k)
        return self.rails.get_or_compute(key, lambda: tuple(self._rail(user_id, rail, seen, personalized)))

    def _rail(self, user_id: str, rail: Rail, seen: list, personalized: bool) -> list[Recommendation]:
        if not personalized or rail.scene == "popular":
            return self.products.popular(rail.k)
        item = None
        if rail.scene == "similar":
            item = last_item(seen, frozenset({"view", "click", "fav", "cart"}))
        elif rail.scene == "post_purchase":
            item = last_item(seen, frozenset({"buy"}))
        if rail.scene in ("similar", "post_purchase") and item is None:
            return []
        cart = cart_items(seen) if rail.scene == "cart" else None
        if rail.scene == "cart" and not cart:
            return []
        try:
            return self.products.recommend(user_id, rail.scene, rail.k, item_id=item, cart=cart)
        except QianmianError as exc:  # e.g. an item the model has never seen: popularity instead
            self.problems["rails"] = f"{type(exc).__name__}: {exc}"
            return self.products.fallback.recommend(user_id, rail.scene, rail.k, item_id=item, cart=cart)

    def _nearby(self, profile: Profile, lat: float | None, lon: float | None, notes: list[str]) -> dict[str, Any] | None:
        loc = self.snapshot.locator
        if lat is not None and lon is not None:
            found = loc.nearest(lat, lon, 1)
        else:
            found = loc.in_city(profile.city)[:1] if profile.city else []
        if not found:
            notes.append("nearby store left out: no location and no store in the shopper's city")
            return None
        return {k: (None if isinstance(v, float) and v != v else v) for k, v in found[0].items()}

    def _exposure(self, page: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        exp = page["experiment"] or {}
        return {
            "exposure_id": page["page_id"],
            "experiment": exp.get("name"),
            "variant": exp.get("variant"),
            "user_id": page["user_id"],
            "ts": now.isoformat(),
            "audience": page["audience"],
            "page": orjson.dumps(shown(page)).decode(),
            "source": "storefront",
        }

    # -- erasure -------------------------------------------------------------------------------
    def forget(self, user_id: str) -> dict[str, Any]:
        """Erase the shopper from the products (live events, models) and every cached rail."""
        models = self.products.forget(user_id)
        self.rails.clear()  # no cached rail may keep the shopper's recommendations
        return models

    def use_experiences(self, experiences: Mapping[str, Experience]) -> None:
        """Serve `experiences` from now on (what `storefront.authoring` just saved)."""
        self.snapshot = replace(self.snapshot, experiences=dict(experiences))
