"""`GET /v1/storefront/{user_id}`: the shopper's page; each page served goes to the exposure log."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from qianmian.api.auth import require

router = APIRouter(tags=["storefront"], dependencies=[require("read")])

UserId = Path(min_length=1, max_length=256, description="The shopper's id")


PAGE_SCHEMA = {
    "type": "object",
    "required": ["page_id", "user_id", "served_at", "personalized", "audience", "audiences", "experience", "experiment", "tags", "modules", "reasons"],
    "properties": {
        "page_id": {"type": "string"}, "user_id": {"type": "string"}, "served_at": {"type": "string", "format": "date-time"},
        "personalized": {"type": "boolean"}, "audience": {"type": ["string", "null"]},
        "audiences": {"type": "array", "items": {"type": "string"}},
        "experience": {"type": "object", "properties": {"audience": {"type": "string"}, "version": {"type": "integer"}}},
        "experiment": {"type": ["object", "null"], "properties": {"name": {"type": "string"}, "variant": {"type": "string"}}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "modules": {"type": "array", "items": {"type": "object", "required": ["type"], "properties": {"type": {"enum": ["hero", "greeting", "guide", "rail", "bundle", "coupon", "nearby_store"]}}}},
        "reasons": {"type": "array", "items": {"type": "string"}},
    },
}


@router.get(
    "/v1/storefront/{user_id}",
    summary="The shopper's personalized page",
    responses={200: {"description": "The page", "content": {"application/json": {"schema": PAGE_SCHEMA}}}},
    description=(
        "The experience of the shopper's highest-priority audience (or the default): hero, modules "
        "in order, product rails filled by recommendation scenes, bundle, coupon, a greeting with "
        "their name and predicted need, the guide's next question, the nearest store (pass lat/lon) "
        "for audiences whose experience has the `nearby_store` module; the experiment variant and the "
        "reasons for each choice. Shoppers who opted out get the default page, not logged."
    ),
)
async def storefront(
    request: Request,
    user_id: str = UserId,
    lat: float | None = Query(None, ge=-90, le=90, description="Shopper's latitude (for the nearby store)"),
    lon: float | None = Query(None, ge=-180, le=180, description="Shopper's longitude"),
) -> Response:
    svc = request.app.state.services  # not a dependency: this is the hottest route
    served = svc.storefront.serve(user_id, now=svc.clock(), lat=lat, lon=lon)
    if served.exposure is not None:
        svc.log.write_nowait("exposures", [served.exposure])
    return Response(served.body, media_type="application/json")  # serialized once, as logged
