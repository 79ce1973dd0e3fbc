"""Page composition: a pure function from what we know about a shopper to the page they see.

The page is a list of modules in the experience's order — hero, greeting, guide question,
product rails, bundle, coupon, nearby store — plus who it is for, the audience and experiment
variant that chose it, and the reasons for each choice (so a marketer can read why a shopper saw
what they saw). A module with nothing to show (an empty rail, a nearby store without a location)
is left out and the reason says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qianmian.storefront.experiences import Experience, Rail
from qianmian.storefront.greeting import render
from qianmian.storefront.guide import Question
from qianmian.storefront.recs import Recommendation


@dataclass(frozen=True)
class PageInputs:
    """Everything the page depends on, already decided."""

    user_id: str
    name: str | None
    experience: Experience
    audience: str | None
    audiences: tuple[str, ...]
    personalized: bool
    need: str
    rails: tuple[tuple[Rail, tuple[Recommendation, ...]], ...]
    experiment: str | None = None
    variant: str | None = None
    question: Question | None = None
    nearby: Mapping[str, Any] | None = None
    tags: tuple[str, ...] = ()
    reasons: tuple[str, ...] = field(default_factory=tuple)


def _hero(x: PageInputs) -> dict[str, Any] | None:
    h = x.experience.hero
    return {"type": "hero", "title": h.title, "subtitle": h.subtitle, "image": h.image, "link": h.link}


def _greeting(x: PageInputs) -> dict[str, Any] | None:
    name = x.name if x.personalized and x.name else x.experience.anonymous_name
    return {"type": "greeting", "text": render(x.experience.greeting, name=name, need=x.need), "need": x.need}


def _guide(x: PageInputs) -> dict[str, Any] | None:
    return None if x.question is None else {"type": "guide", "question": x.question.as_json}


def _rails(x: PageInputs) -> list[dict[str, Any]]:
    return [
        {
            "type": "rail",
            "title": rail.title,
            "scene": rail.scene,
            "items": [r.as_json for r in recs],
        }
        for rail, recs in x.rails
        if recs
    ]


def _bundle(x: PageInputs) -> dict[str, Any] | None:
    b = x.experience.bundle
    return None if b is None else {"type": "bundle", "title": b.title, "item_ids": list(b.item_ids), "price": b.price}


def _coupon(x: PageInputs) -> dict[str, Any] | None:
    c = x.experience.coupon
    return None if c is None else {"type": "coupon", "code": c.code, "title": c.title, "value": c.value, "min_spend": c.min_spend}


def _nearby(x: PageInputs) -> dict[str, Any] | None:
    return None if x.nearby is None else {"type": "nearby_store", "title": "Visit us nearby", "store": dict(x.nearby)}


BUILDERS = {"hero": _hero, "greeting": _greeting, "guide": _guide, "bundle": _bundle, "coupon": _coupon, "nearby_store": _nearby}


def modules(x: PageInputs) -> list[dict[str, Any]]:
    """The page's modules in the experience's order (empty ones left out)."""
    out: list[dict[str, Any]] = []
    for name in x.experience.modules:
        if name == "rails":
            out.extend(_rails(x))
            continue
        built = BUILDERS[name](x)
        if built is not None:
            out.append(built)
    return out


def compose(x: PageInputs, *, page_id: str, served_at: dt.datetime) -> dict[str, Any]:
    """The page as a JSON-ready dict."""
    return {
        "page_id": page_id,
        "user_id": x.user_id,
        "served_at": served_at.isoformat(),
        "personalized": x.personalized,
        "audience": x.audience,
        "audiences": list(x.audiences),
        "experience": {"audience": x.experience.audience, "version": x.experience.version},
        "experiment": None if x.experiment is None else {"name": x.experiment, "variant": x.variant},
        "tags": list(x.tags),
        "modules": modules(x),
        "reasons": list(x.reasons),
    }


def shown(page: dict[str, Any]) -> dict[str, Any]:
    """What was shown, compactly, for the exposure log: every module's content and item ids,
    without the per-item scores and reasons (those are in the served page, and recomputable)."""
    modules = []
    for m in page["modules"]:
        if m["type"] == "rail":
            modules.append({"type": "rail", "title": m["title"], "scene": m["scene"], "item_ids": [i["item_id"] for i in m["items"]]})
        elif m["type"] == "guide":
            modules.append({"type": "guide", "question": m["question"]["id"]})
        else:
            modules.append(m)
    keep = ("page_id", "user_id", "served_at", "personalized", "audience", "experience", "experiment", "tags")
    return {**{k: page[k] for k in keep}, "modules": modules}


def rail_reasons(rails: Sequence[tuple[Rail, Sequence[Recommendation]]]) -> list[str]:
    return [f"rail {rail.title!r} ({rail.scene}) left out: nothing to show" for rail, recs in rails if not recs]
