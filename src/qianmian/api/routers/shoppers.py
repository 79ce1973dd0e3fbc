"""The shopper view (千人千面 check before launch): who a shopper is and the exact page they would get.

- `GET /v1/shoppers/{user_id}`: AIPL stage and lifecycle as of a day, audiences (the storefront's
  membership snapshot, by priority), self-tags, behaviour counts and recent events;
- `GET /v1/shoppers/{user_id}/page`: the page the storefront would serve now, with the reasons and
  the recommendations in each rail — or, with `variant=`, the page of that arm of the storefront
  experiment (the test and control pages of one shopper, side by side), or, with `audience=`, the
  page as that audience's experience would show it to this shopper; `POST` the same path with an
  unsaved experience to preview a draft. A preview is never saved nor written to the exposure log.
- `GET /v1/shoppers`: a few active shoppers to start from;
- `GET /v1/shoppers/suggestions`: a shopper from each experiment arm and each audience, so the
  demo shows what personalization changes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from qianmian.api.auth import require
from qianmian.api.deps import services
from qianmian.api.routers._params import date_query, day, plain, run
from qianmian.api.services import Services
from qianmian.errors import InputError
from qianmian.storefront.greeting import category_label
from qianmian.storefront.shoppers import (
    active_shoppers,
    arm,
    item_labels,
    page_as,
    page_items,
    running_experiment,
    shopper,
    suggestions,
)

router = APIRouter(prefix="/v1/shoppers", tags=["shoppers"], dependencies=[require("read")])

UserId = Path(min_length=1, max_length=256, description="The shopper's id")


@router.get("", summary="A few of the most active shoppers (to start from)")
def list_active(as_of: str = date_query("Count events up to this day"), limit: int = Query(12, ge=1, le=200),
                svc: Services = Depends(services)) -> list[dict[str, Any]]:
    return plain(run(svc, active_shoppers, svc.store, as_of=day(as_of, "as_of"), limit=limit))


@router.get("/suggestions", summary="A shopper from each arm of the storefront experiment and from each audience (to see personalization)")
def suggest(as_of: str = date_query("Count events up to this day"), svc: Services = Depends(services)) -> dict[str, Any]:
    return plain(run(svc, suggestions, svc.store, svc.storefront, as_of=day(as_of, "as_of"), now=svc.clock()))


@router.get("/{user_id}", summary="One shopper: stage, lifecycle, audiences, tags, behaviour counts, recent events")
def one(
    user_id: str = UserId, as_of: str = date_query("Stage and lifecycle as of this day"),
    recent: int = Query(20, ge=1, le=200), svc: Services = Depends(services),
) -> dict[str, Any]:
    found = run(svc, shopper, svc.store, user_id, as_of=day(as_of, "as_of"), recent=recent)
    sf = svc.storefront
    experiment, variant = sf.arm_of(user_id, now=svc.clock())
    labels = sf.config.labels
    found |= {"audiences": sf.snapshot.membership.audiences_of(user_id), "tags": svc.tags.tags_of(user_id),
              "consent": svc.consumers.consents(user_id),
              "experiment": None if experiment is None else {"name": experiment, "variant": variant, "arm": arm(sf, variant)},
              "storefront_experiment": running_experiment(sf),
              "categories": {str(e["category_id"]): category_label(str(e["category_id"]), labels) for e in found["recent"] if e.get("category_id")}}
    return plain(found)


@router.get("/{user_id}/page", summary="The storefront page this shopper would get now (or as an audience would see it); not logged")
def page(
    user_id: str = UserId,
    audience: str | None = Query(None, min_length=1, max_length=100, description="Preview as this audience ('default': the default page)"),
    variant: str | None = Query(None, min_length=1, max_length=64, description="Preview in this arm of the storefront experiment (the shopper's own audiences)"),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    now = svc.clock()
    if audience is not None and variant is not None:
        raise InputError("variant", "either audience= or variant=, not both", variant)
    if audience is None:
        shown, _ = svc.storefront.page(user_id, now=now, variant=variant)
    else:
        shown = page_as(svc.storefront, user_id, audience, now=now)
    return _labelled(svc, shown, audience)


class DraftIn(BaseModel):
    audience: str = Field(..., min_length=1, max_length=100, description="The audience whose experience is drafted ('default' too)")
    experience: dict[str, Any] = Field(..., description="An experience spec, as for PUT /v1/experiences/{audience}")


@router.post("/{user_id}/page", summary="Preview an unsaved experience: the page this shopper would get from it (nothing is saved or logged)")
def draft_page(body: DraftIn, user_id: str = UserId, svc: Services = Depends(services)) -> dict[str, Any]:
    shown = page_as(svc.storefront, user_id, body.audience, now=svc.clock(), draft=body.experience)
    return _labelled(svc, shown, body.audience)


def _labelled(svc: Services, shown: dict[str, Any], audience: str | None) -> dict[str, Any]:
    labels = run(svc, item_labels, svc.store, page_items(shown), svc.storefront.config.labels)
    return plain({**shown, "preview_as": audience, "items": labels})
