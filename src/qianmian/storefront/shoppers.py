"""The shopper view's questions (千人千面 check before launch): who a shopper is, the page they would
get as another audience would see it, and which shoppers show what personalization changes.

`api/routers/shoppers.py` serves these under `/v1/shoppers`; nothing here is saved or logged.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import ibis

from qianmian.audiences.registry import AudienceRegistry
from qianmian.dates import end_of
from qianmian.metrics.aipl import aipl_stages
from qianmian.metrics.lifecycle import lifecycle_states
from qianmian.store import Store
from qianmian.store.rows import records
from qianmian.storefront.experiences import DEFAULT_AUDIENCE, parse_experience
from qianmian.storefront.greeting import category_label
from qianmian.storefront.service import StorefrontService


def active_shoppers(store: Store, *, as_of: dt.date, limit: int) -> list[dict[str, Any]]:
    """The shoppers with the most events up to `as_of` (ties by id)."""
    ev = store.table("events")
    ev = ev.filter(ev.user_id.notnull(), ev.ts < ibis.literal(end_of(as_of)))
    top = ev.group_by("user_id").aggregate(events=ev.count(), buys=(ev.behavior == "buy").cast("int64").sum())
    return records(store.execute(top.order_by([ibis.desc(top.events), top.user_id]).limit(limit)))


def shopper(store: Store, user_id: str, *, as_of: dt.date, recent: int) -> dict[str, Any]:
    """Stage, lifecycle, behaviour counts and the latest events of one shopper, from their own events
    (AIPL stage and lifecycle state depend only on the shopper's events, so the scan is one user's)."""
    ev = store.table("events")
    mine = ev.filter(ev.user_id == user_id, ev.ts < ibis.literal(end_of(as_of)))
    stage = store.execute(aipl_stages(mine, as_of=as_of))
    life = records(store.execute(lifecycle_states(mine, as_of=as_of)))
    counts = store.execute(mine.group_by("behavior").aggregate(events=mine.count()))
    latest = mine.order_by([ibis.desc(mine.ts), mine.event_id]).limit(recent)
    latest = latest.select("ts", "behavior", "item_id", "category_id", "brand_id", "channel", "amount")
    users = store.table("users")
    profile = records(store.execute(users.filter(users.user_id == user_id).select("name", "gender", "city", "country", "consent")))
    return {
        "user_id": user_id, "as_of": str(as_of), "known": bool(len(counts)),
        "profile": profile[0] if profile else None,
        "stage": str(stage.stage.iloc[0]) if len(stage) else None,
        "lifecycle": life[0] if life else None,
        "behaviors": {str(b): int(n) for b, n in zip(counts.behavior, counts.events)},
        "recent": records(store.execute(latest)),
    }


@dataclass(frozen=True)
class _OnlyAudience:
    """Membership that puts every shopper in one audience (or none, for the default page)."""

    audience: str | None

    def audiences_of(self, user_id: str) -> list[str]:
        return [self.audience] if self.audience else []


def page_as(storefront: StorefrontService, user_id: str, audience: str, *, now: dt.datetime,
            draft: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The page `user_id` would get if their only audience were `audience` ("default": the default
    page), optionally with `draft` (an unsaved experience spec, checked like a saved one) for it.

    A shallow copy of the service with the membership (and that experience) replaced and no
    experiment, so the shopper's consent, live activity, tags and the recommender are the real
    ones, and nothing is saved or logged.
    """
    snap = storefront.snapshot
    experiences = snap.experiences
    if draft is not None:
        experiences = {**experiences, audience: parse_experience(audience, draft)}
    view = copy.copy(storefront)
    member = None if audience == DEFAULT_AUDIENCE else audience
    view.snapshot = replace(snap, membership=_OnlyAudience(member), experiences=experiences, experiment=None)
    page, _ = view.page(user_id, now=now)
    note = f"preview as audience {audience!r}: the shopper's own audiences and experiment arm are set aside"
    page["decision"]["notes"] = [*page["decision"]["notes"], note]  # the record and its sentences stay one
    page["reasons"].append(note)
    return page


def arm(storefront: StorefrontService, variant: str | None) -> str | None:
    control = getattr(storefront.snapshot.experiment, "control", None)
    return None if variant is None else ("control" if variant == control else "test")


def suggestions(store: Store, storefront: StorefrontService, *, as_of: dt.date, now: dt.datetime, pool: int = 1000) -> dict[str, Any]:
    """The most active shopper of each arm of the storefront experiment and of each audience (among
    the `pool` most active shoppers up to `as_of`), with their arm and audiences.

    The test arm's pick is a shopper whose audience has its own experience when there is one, and
    an audience's pick is in the test arm when one is, so the page shown differs from the default.
    """
    snap = storefront.snapshot
    rows = []
    for r in active_shoppers(store, as_of=as_of, limit=pool):
        audiences = snap.membership.audiences_of(r["user_id"])
        _, variant = storefront.arm_of(r["user_id"], now=now)
        rows.append({**r, "audiences": audiences, "variant": variant, "arm": arm(storefront, variant),
                     "has_experience": storefront.experience_for(audiences)[1] is not None})
    picks: list[dict[str, Any]] = []

    def pick(why: str, *tests: Any, audience: str | None = None) -> None:
        for test in tests:  # the first test that some shopper not yet picked passes
            hit = next((x for x in rows if x["user_id"] not in {p["user_id"] for p in picks} and test(x)), None)
            if hit is not None:
                shown = audience or (hit["audiences"][0] if hit["audiences"] else None)
                picks.append({**{k: v for k, v in hit.items() if k != "has_experience"}, "audience": shown, "why": why})
                return

    exp = snap.experiment
    for v in exp.variant_names if exp is not None else ():
        if arm(storefront, v) == "control":
            pick(f"the most active shopper in the control arm ({v}): the default page", lambda x, v=v: x["variant"] == v)
        else:
            pick(f"the most active shopper in the test arm ({v}) whose audience has its own page",
                 lambda x, v=v: x["variant"] == v and x["has_experience"], lambda x, v=v: x["variant"] == v)
    for a in (a.name for a in AudienceRegistry(store).list()):
        if any(p["audience"] == a and p["arm"] != "control" for p in picks):
            continue  # already shown by an arm's pick
        pick(f"the most active member of audience {a}", lambda x, a=a: a in x["audiences"] and x["arm"] != "control",
             lambda x, a=a: a in x["audiences"], audience=a)
    return {"experiment": running_experiment(storefront), "shoppers": picks}


def running_experiment(storefront: StorefrontService) -> dict[str, Any] | None:
    """The storefront experiment's name, variants and control (None when none runs)."""
    exp = storefront.snapshot.experiment
    return None if exp is None else {"name": exp.name, "variants": list(exp.variant_names), "control": exp.control}


def item_labels(store: Store, item_ids: list[str], labels: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Title and category of each item (from `items`, else the category of its events), with the
    category in words (`category`: its label, or "category <id>" where the data has no name)."""
    out = _item_rows(store, item_ids)
    for r in out.values():
        cid = r.get("category_id")
        r["category"] = None if cid is None else category_label(str(cid), labels or {})
    return out


def _item_rows(store: Store, item_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not item_ids:
        return {}
    items = store.table("items")
    known = records(store.execute(items.filter(items.item_id.isin(item_ids)).select("item_id", "title", "category_id", "price")))
    out = {r["item_id"]: r for r in known}
    missing = [i for i in item_ids if i not in out]
    if missing:
        ev = store.table("events")
        ev = ev.filter(ev.item_id.isin(missing))
        found = records(store.execute(ev.group_by("item_id").aggregate(category_id=ev.category_id.max())))
        out |= {r["item_id"]: {**r, "title": None, "price": None} for r in found}
    return out


def page_items(page: dict[str, Any]) -> list[str]:
    ids = [i["item_id"] for m in page.get("modules", []) if m.get("type") == "rail" for i in m.get("items", [])]
    ids += [i for m in page.get("modules", []) if m.get("type") == "bundle" for i in m.get("item_ids", [])]
    return sorted(set(ids))
