"""`GET /v1/storefront/{user_id}`: the shopper's page; each page served goes to the exposure log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query

from qianmian.api.auth import require
from qianmian.api.deps import services
from qianmian.api.services import Services

router = APIRouter(tags=["storefront"], dependencies=[require("read")])

UserId = Path(min_length=1, max_length=256, description="The shopper's id")


@router.get(
    "/v1/storefront/{user_id}",
    summary="The shopper's personalized page",
    description=(
        "The experience of the shopper's highest-priority audience (or the default): hero, modules "
        "in order, product rails filled by recommendation scenes, bundle, coupon, a greeting with "
        "their name and predicted need, the guide's next question, the nearest store (pass lat/lon) "
        "for audiences whose experience has the `nearby_store` module; the experiment variant and the "
        "reasons for each choice. Shoppers who opted out get the default page, not logged."
    ),
)
async def storefront(
    user_id: str = UserId,
    lat: float | None = Query(None, ge=-90, le=90, description="Shopper's latitude (for the nearby store)"),
    lon: float | None = Query(None, ge=-180, le=180, description="Shopper's longitude"),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    now = svc.clock()
    page, exposure = svc.storefront.page(user_id, now=now, lat=lat, lon=lon)
    if exposure is not None:
        svc.log.write_nowait("exposures", [exposure])
    return page
