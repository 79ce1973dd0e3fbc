"""Page composition: a pure function from what we know about a shopper to the page they see.

The page is a list of modules in the experience's order — hero, greeting, guide question,
product rails, bundle, coupon, nearby store — plus who it is for, the audience and experiment
variant that chose it, and the reasons for each choice (so a marketer can read why a shopper saw
what they saw). A module with nothing to show (an empty rail, a nearby store without a location)
is left out and the reason says so.

The reasons are not written beside the decisions: the service records one `Decision` (audience,
experiment arm, experience, need, each rail and where its products came from) and both the page's
`decision` field and its `reasons` sentences are read from it, so they cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from qianmian.recommend.serving import Recommendation
from qianmian.storefront.experiences import Experience, Rail
from qianmian.storefront.greeting import render
from qianmian.storefront.guide import Question


@dataclass(frozen=True)
class RailDecision:
    """One rail of the experience: where its products come from, or why it is not on the page."""

    title: str
    scene: str
    source: str
    shown: int = 0
    left_out: str | None = None


@dataclass(frozen=True)
class Decision:
    """Everything that chose the page, recorded once where it was decided.

    `audiences` are the shopper's audiences by priority; `audience` the one whose experience
    composed the page (None: the default experience); `withheld` the audience whose experience the
    shopper would get but does not (control arm, opted out); `arm` is "test" or "control".
    """

    audiences: tuple[str, ...]
    audience: str | None
    experience: str
    experience_version: int
    personalized: bool
    consent: bool = True
    experiment: str | None = None
    variant: str | None = None
    arm: Literal["test", "control"] | None = None
    withheld: str | None = None
    need: str = ""
    need_source: str = ""
    rails: tuple[RailDecision, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _who(d: Decision) -> str:
    if not d.audiences:
        return "in no audience"
    more = f" (also in {', '.join(d.audiences[1:])})" if len(d.audiences) > 1 else ""
    return f"audience {d.audiences[0]!r}, the first by priority{more}" if more else f"audience {d.audiences[0]!r}"


def _experience_reason(d: Decision) -> str:
    version = f"v{d.experience_version}"
    if not d.consent:
        return f"default experience ({version}): the page of every shopper who opted out"
    if d.audience:
        first = "" if d.audiences[:1] == (d.audience,) else ", the first of the shopper's audiences that has one"
        return f"experience of audience {d.audience!r} ({version}){first}"
    if d.withheld:
        why = "the control arm" if d.arm == "control" else "an opted-out shopper"
        return f"default experience ({version}): {why} does not see the experience of audience {d.withheld!r}"
    if d.audiences:
        return f"default experience ({version}): none of the shopper's audiences has an experience"
    return f"default experience ({version}): the shopper is in no audience"


def _rail_reason(r: RailDecision) -> str:
    if r.left_out:
        return f"rail {r.title!r} ({r.scene}) left out: {r.left_out}"
    return f"rail {r.title!r} ({r.scene}): {r.shown} products, {r.source}"


def decision_reasons(d: Decision) -> list[str]:
    """The decision in sentences, in the order it was taken."""
    if not d.consent:
        out = ["opted out: default page, not personalized, not profiled"]
    else:
        out = [_who(d)]
        if d.experiment:
            shows = "the default page, not personalized" if d.arm == "control" else "the audience's page, personalized"
            out.append(f"experiment {d.experiment!r}: arm {d.variant!r} ({d.arm}) sees {shows}")
    out.append(_experience_reason(d))
    if d.personalized:
        out.append(f"predicted need {d.need!r} from {d.need_source}")
    else:
        out.append(f"no need predicted: the page is not personalized (the greeting says {d.need!r})")
    return out + [_rail_reason(r) for r in d.rails] + list(d.notes)


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
    decision: Decision | None = None


def _hero(x: PageInputs) -> dict[str, Any] | None:
    h = x.experience.hero
    return {"type": "hero", "title": h.title, "subtitle": h.subtitle, "image": h.image, "link": h.link}


def _greeting(x: PageInputs) -> dict[str, Any] | None:
    name = x.name if x.personalized and x.name else x.experience.anonymous_name  # empty: the name is left out
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
    """The page as a JSON-ready dict (`reasons` read from `x.decision` when there is one)."""
    reasons = decision_reasons(x.decision) if x.decision is not None else list(x.reasons)
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
        "decision": None if x.decision is None else x.decision.as_json,
        "reasons": reasons,
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
