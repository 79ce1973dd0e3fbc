"""Experiences per audience, configured by marketers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Path

from qianmian.api.auth import require
from qianmian.api.deps import services
from qianmian.api.services import Services
from qianmian.storefront.experiences import Experience

router = APIRouter(prefix="/v1/experiences", tags=["experiences"])

Audience = Path(min_length=1, max_length=100, description="Audience name; `default` is everyone else")

EXAMPLE = {
    "greeting": "{name}, fancy a {need}?",
    "need": "coffee",
    "modules": ["hero", "greeting", "rails", "bundle", "coupon"],
    "hero": {"title": "Coffee week", "subtitle": "Beans, capsules and more"},
    "rails": [{"title": "For your cup", "scene": "home", "k": 8}, {"title": "Like what you viewed", "scene": "similar", "k": 8}],
    "bundle": {"title": "Barista set", "item_ids": ["101", "102"], "price": 129.0},
    "coupon": {"code": "COFFEE15", "title": "15 off over 150", "value": 15, "min_spend": 150},
}


def _out(e: Experience) -> dict[str, Any]:
    return e.to_dict()


@router.get("", summary="Every experience (the default included)", dependencies=[require("read")])
def list_all(svc: Services = Depends(services)) -> list[dict[str, Any]]:
    return [_out(e) for e in svc.experiences.list()]


@router.get("/{audience}", summary="One audience's experience", dependencies=[require("read")])
def get_one(audience: str = Audience, svc: Services = Depends(services)) -> dict[str, Any]:
    return _out(svc.experiences.get(audience))


@router.put(
    "/{audience}",
    summary="Create or replace an audience's experience",
    description="Fields: hero, greeting ({name} and {need} only), need, modules (order), rails (title, scene, k), bundle, coupon, anonymous_name. The version goes up by one.",
    dependencies=[require("admin")],
)
def put(audience: str = Audience, spec: dict[str, Any] = Body(..., examples=[EXAMPLE]), svc: Services = Depends(services)) -> dict[str, Any]:
    return _out(svc.experiences.put(audience, spec, now=svc.clock()))


@router.delete("/{audience}", status_code=204, summary="Remove an audience's experience", dependencies=[require("admin")])
def delete(audience: str = Audience, svc: Services = Depends(services)) -> None:
    svc.experiences.delete(audience)
