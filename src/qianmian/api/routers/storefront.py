"""`GET /v1/storefront/{user_id}`: the shopper's page; each page served goes to the exposure log.

This is the hottest route, so it is a `RequestRoute` (no per-request dependency solving) and reads
its three parameters from the request itself: the checks are the same as elsewhere, with the same
422 naming the field; the parameters are documented in OpenAPI from `PARAMETERS`.
"""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from fastapi.responses import Response

from qianmian.api.auth import require
from qianmian.api.routing import RequestRoute
from qianmian.consumers.consent import check_user
from qianmian.errors import InputError

router = APIRouter(tags=["storefront"], dependencies=[require("read")], route_class=RequestRoute)


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

BOUNDS = {"lat": 90.0, "lon": 180.0}
PARAMETERS = [
    {"name": "user_id", "in": "path", "required": True, "description": "The shopper's id", "schema": {"type": "string", "minLength": 1, "maxLength": 256}},
    {"name": "lat", "in": "query", "required": False, "description": "Shopper's latitude (for the nearby store)", "schema": {"type": "number", "minimum": -90, "maximum": 90}},
    {"name": "lon", "in": "query", "required": False, "description": "Shopper's longitude", "schema": {"type": "number", "minimum": -180, "maximum": 180}},
]


def coordinate(request: Request, name: str) -> float | None:
    """The query parameter `name` as a number within ±BOUNDS[name], or None when absent."""
    text = request.query_params.get(name)
    if text is None:
        return None
    bound = BOUNDS[name]
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not -bound <= value <= bound:  # also refuses nan
        raise InputError(name, f"a number between {-bound:g} and {bound:g}", text)
    return value


@router.get(
    "/v1/storefront/{user_id}",
    summary="The shopper's personalized page",
    responses={
        200: {"description": "The page", "content": {"application/json": {"schema": PAGE_SCHEMA}}},
        422: {"description": "A parameter is invalid (the error names it)"},
    },
    openapi_extra={"parameters": PARAMETERS},
    description=(
        "The experience of the shopper's highest-priority audience (or the default): hero, modules "
        "in order, product rails filled by recommendation scenes, bundle, coupon, a greeting with "
        "their name and predicted need, the guide's next question, the nearest store (pass lat/lon) "
        "for audiences whose experience has the `nearby_store` module; the experiment variant and the "
        "reasons for each choice. Shoppers who opted out get the default page, not logged."
    ),
)
async def storefront(request: Request) -> Response:
    user_id = check_user(request.path_params["user_id"])
    lat, lon = coordinate(request, "lat"), coordinate(request, "lon")
    svc = request.app.state.services  # not a dependency: this is the hottest route
    served = svc.storefront.serve(user_id, now=svc.clock(), lat=lat, lon=lon)
    if served.exposure is not None:
        svc.log.write_nowait("exposures", [served.exposure])
    return Response(served.body, media_type="application/json")  # serialized once, as logged
