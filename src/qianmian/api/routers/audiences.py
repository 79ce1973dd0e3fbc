"""Audiences (人群) over HTTP: check a rule as it is typed, preview size and a sample, save, read
the TGI profile against all consumers, apply seed templates, materialize, and strategy crowds.

`POST /v1/audiences/check` answers 200 for a bad rule too (`ok: false` with the line, column and
what was expected), so an editor can validate on every keystroke without error noise. A good rule
that names a trait no consumer has, or a trait value never seen, comes back `ok: true` with
`warnings` (each with line, column, message and the known names or values).
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from qianmian.api.auth import require
from qianmian.api.deps import services
from qianmian.api.routers._params import date_query, day, plain, run
from qianmian.api.services import Services
from qianmian.errors import InputError
from qianmian.store import Store

router = APIRouter(tags=["audiences"])
P = "/v1/audiences"

Name = Path(min_length=1, max_length=64, description="Audience name")
Rule = Field(..., min_length=1, max_length=4000, description='e.g. lifecycle in ("silent", "churning") and monetary(365d) > 500')
Day = Field(..., min_length=10, max_length=10, description="ISO day, counted to its end")


class RuleIn(BaseModel):
    rule: str = Rule


class PreviewIn(BaseModel):
    rule: str = Field(..., min_length=1, max_length=4000, description="A rule, or the name of a saved audience")
    as_of: str = Day
    sample: int = Field(10, ge=0, le=100)
    seed: int = Field(0, ge=0, le=1_000_000)


class TGIIn(BaseModel):
    rule: str = Field(..., min_length=1, max_length=4000, description="A rule, or the name of a saved audience")
    as_of: str = Day
    by: Literal["category_id", "brand_id", "item_id", "channel", "city", "gender", "country"] = "category_id"
    behaviors: list[str] | None = Field(None, max_length=12, description="Only these behaviours (default: all)")
    days: int = Field(30, ge=1, le=3650, description="Events of the last N days up to as_of")
    min_count: int = Field(5, ge=1, le=1_000_000)
    limit: int = Field(20, ge=1, le=200)
    reference: str | None = Field(None, min_length=1, max_length=4000,
                                  description="A rule, or the name of a saved audience, to compare with (default: all consumers)")


class AudienceIn(BaseModel):
    name: str = Field(..., min_length=1, max_length=64)
    rule: str = Rule
    priority: int = Field(100, ge=-1_000_000, le=1_000_000, description="Smaller comes first")
    description: str = Field("", max_length=500)
    replace: bool = Field(False, description="Save a new version of an existing audience")


class MaterializeIn(BaseModel):
    as_of: str = Day
    names: list[str] | None = Field(None, max_length=500)


class TemplateIn(BaseModel):
    as_of: str = Day
    replace: bool = False


def _registry(store: Store) -> Any:
    from qianmian.audiences import AudienceRegistry

    return AudienceRegistry(store)


def _rule_of(registry: Any, name_or_rule: str) -> str:
    return registry.get(name_or_rule).rule if registry.exists(name_or_rule) else name_or_rule


def check_rule(store: Store, rule: str) -> dict[str, Any]:
    """`ok` with the canonical text and a plain sentence, or `ok: false` with where and why."""
    from qianmian.audiences import RuleError, check, to_sentence, to_text

    registry = _registry(store)
    try:
        tree = check(rule, audience_exists=registry.exists)
    except RuleError as exc:
        return {"ok": False, "message": str(exc), "line": exc.line, "column": exc.column, "position": exc.position,
                "expected": exc.expected, "received": str(exc.received), "caret": exc.caret()}
    except InputError as exc:
        return {"ok": False, "message": str(exc), "expected": exc.expected, "received": str(exc.received)}
    from qianmian.audiences.rules.hints import rule_warnings

    warnings = [w.to_dict() for w in rule_warnings(store, tree, rule)]
    return {"ok": True, "rule": to_text(tree), "sentence": to_sentence(tree), "warnings": warnings}


def rule_warning_dicts(store: Store, rule: str) -> list[dict[str, Any]]:
    """Warnings (unknown traits, trait values never seen) for a checked rule or saved audience."""
    from qianmian.audiences import check
    from qianmian.audiences.rules.hints import rule_warnings

    registry = _registry(store)
    text = _rule_of(registry, rule)
    return [w.to_dict() for w in rule_warnings(store, check(text, audience_exists=registry.exists), text)]


def listing(store: Store) -> list[dict[str, Any]]:
    """Current audiences by priority, each with its members at the latest materialized day."""
    from qianmian.audiences.membership import latest_sizes

    sizes = latest_sizes(store)
    found = [a.to_dict() for a in _registry(store).list()]
    for a in found:
        members, as_of = sizes.get(a["name"], (None, None))
        a["members"] = members
        a["materialized_as_of"] = None if as_of is None else str(as_of)[:10]
    return found


def audience_tgi(store: Store, body: TGIIn) -> dict[str, Any]:
    from qianmian.audiences.populations import rule_tgi

    as_of = day(body.as_of, "as_of")
    r = rule_tgi(_registry(store), body.rule, as_of=as_of, days=body.days, reference=body.reference, by=body.by,
                 behaviors=body.behaviors, min_count=body.min_count, limit=body.limit)
    return {"rule": body.rule, "as_of": str(as_of), "days": body.days, "reference": body.reference or "all consumers", **r.to_dict()}


@router.get(P, summary="Current audiences by priority (with members at the latest materialized day)", dependencies=[require("read")])
def list_all(svc: Services = Depends(services)) -> list[dict[str, Any]]:
    return plain(run(svc, listing, svc.store))


@router.get(P + "/catalog", summary="What a rule may name: fields, functions, filters, behaviours", dependencies=[require("read")])
def catalog() -> dict[str, Any]:
    from qianmian.audiences.rules.catalog import BEHAVIOR_NAMES, FIELDS, FILTER_COLUMNS, FUNCTIONS

    return {
        "fields": [{"name": k, "type": f.type, "meaning": f.noun, "values": list(f.values)} for k, f in FIELDS.items()],
        "functions": [{"name": k, "summary": f.summary} for k, f in FUNCTIONS.items()],
        "filters": list(FILTER_COLUMNS), "behaviors": list(BEHAVIOR_NAMES),
    }


@router.post(P + "/check", summary="Check a rule: canonical text and sentence, or where it is wrong", dependencies=[require("read")])
def check(body: RuleIn, svc: Services = Depends(services)) -> dict[str, Any]:
    return plain(run(svc, check_rule, svc.store, body.rule))


@router.post(P + "/preview", summary="Size, share of all consumers and a sample of members, before saving", dependencies=[require("read")])
def preview(body: PreviewIn, svc: Services = Depends(services)) -> dict[str, Any]:
    from qianmian.audiences.membership import preview_audience

    as_of = day(body.as_of, "as_of")
    result = run(svc, lambda: preview_audience(_registry(svc.store), body.rule, as_of=as_of, sample=body.sample, random_state=body.seed))
    return plain({**result.to_dict(), "warnings": run(svc, rule_warning_dicts, svc.store, body.rule)})


@router.post(P + "/tgi", summary="TGI profile of a rule's (or audience's) members against all consumers or another rule or audience", dependencies=[require("read")])
def tgi(body: TGIIn, svc: Services = Depends(services)) -> dict[str, Any]:
    return plain(run(svc, audience_tgi, svc.store, body))


@router.post(P, status_code=201, summary="Save an audience (the rule is checked first; a bad rule changes nothing)", dependencies=[require("admin")])
def create(body: AudienceIn, svc: Services = Depends(services)) -> dict[str, Any]:
    audience = run(svc, lambda: _registry(svc.store).create(
        body.name, body.rule, priority=body.priority, description=body.description, replace=body.replace, at=svc.clock()))
    return plain({**audience.to_dict(), "warnings": run(svc, rule_warning_dicts, svc.store, body.rule)})


@router.get(P + "/templates/{template}", summary="The audiences a seed template proposes for this store", dependencies=[require("read")])
def template_drafts(template: Literal["nestle", "nivea", "zara"], as_of: str = date_query("Categories popular up to this day"),
                    svc: Services = Depends(services)) -> dict[str, Any]:
    from qianmian.audiences.templates import template as build

    drafts = run(svc, build, template, svc.store, as_of=day(as_of, "as_of"))
    return plain({"template": template, "audiences": [asdict(d) for d in drafts]})


@router.post(P + "/templates/{template}", summary="Save a seed template's audiences", dependencies=[require("admin")])
def template_apply(template: Literal["nestle", "nivea", "zara"], body: TemplateIn, svc: Services = Depends(services)) -> dict[str, Any]:
    from qianmian.audiences.templates import apply
    from qianmian.audiences.templates import template as build

    def go(store: Store) -> list[Any]:
        drafts = build(template, store, as_of=day(body.as_of, "as_of"))
        return apply(_registry(store), drafts, replace=body.replace, at=svc.clock())

    return plain({"template": template, "audiences": [a.to_dict() for a in run(svc, go, svc.store)]})


@router.post(P + "/materialize", summary="Compute and store members as of a day; the storefront then uses them", dependencies=[require("admin")])
def materialize(body: MaterializeIn, svc: Services = Depends(services)) -> dict[str, Any]:
    from qianmian.audiences import materialize as run_materialize

    result = run(svc, run_materialize, svc.store, day(body.as_of, "as_of"), names=body.names or None)
    svc.storefront.refresh()
    return plain(result.to_dict())


@router.get(P + "/{name}", summary="One audience: rule, sentence and its versions", dependencies=[require("read")])
def get_one(name: str = Name, svc: Services = Depends(services)) -> dict[str, Any]:
    def go(store: Store) -> dict[str, Any]:
        registry = _registry(store)
        return {**registry.get(name).to_dict(), "versions": [h.version for h in registry.history(name)]}

    return plain(run(svc, go, svc.store))


@router.delete(P + "/{name}", summary="Delete an audience (its versions stay in the history)", dependencies=[require("admin")])
def delete(name: str = Name, svc: Services = Depends(services)) -> dict[str, Any]:
    audience = run(svc, lambda: _registry(svc.store).delete(name, at=svc.clock()))
    return {"deleted": audience.name, "version": audience.version}


# -- strategy crowds (computed on demand; the last few results are kept while the data is unchanged) --
_CROWDS: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
_CROWDS_KEPT = 8


def crowds_result(store: Store, *, as_of: dt.date, k: int | None, sample: int | None, seed: int) -> dict[str, Any]:
    from qianmian.audiences.crowds import crowds

    key = (id(store), as_of, k, sample, seed, store.count("events"))
    if key not in _CROWDS:
        _CROWDS[key] = plain(crowds(store, as_of=as_of, k=k, sample=sample, random_state=seed).to_dict())
        while len(_CROWDS) > _CROWDS_KEPT:
            _CROWDS.popitem(last=False)
    return _CROWDS[key]


@router.get("/v1/crowds", summary="Brand strategy crowds: micro-groups re-clustered by category preference (TGI)",
                   dependencies=[require("read")])
def strategy_crowds(
    as_of: str = date_query("As of this day"),
    k: int | None = Query(None, ge=2, le=20, description="Number of crowds (default: chosen by silhouette)"),
    sample: int | None = Query(None, ge=100, le=10_000_000, description="Cluster a sample of this many consumers"),
    seed: int = Query(0, ge=0, le=1_000_000),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    return run(svc, crowds_result, svc.store, as_of=day(as_of, "as_of"), k=k, sample=sample, seed=seed)

