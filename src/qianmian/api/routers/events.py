"""`POST /v1/events`: the whole request validated, then acknowledged once fsynced to the write-ahead log."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from qianmian.api.auth import require
from qianmian.api.deps import services
from qianmian.api.events import EventBatch, EventsAccepted, Rejected, validate_batch
from qianmian.api.services import Services
from qianmian.ingest.rules import plausible_range

router = APIRouter(tags=["events"])


def refused(bad: list[Rejected]) -> JSONResponse:
    """422 naming every bad event; nothing of the request was stored."""
    first = bad[0]
    body = {
        "error": {
            "type": "InputError", "status": 422, "field": f"events[{first.index}].{first.field}",
            "message": f"{len(bad)} of the events are invalid; nothing was stored (first: events[{first.index}].{first.field}: {first.reason})",
        },
        "rejected": [b.model_dump() for b in bad],
    }
    return JSONResponse(body, status_code=422)


@router.post(
    "/v1/events",
    response_model=EventsAccepted,
    summary="Send up to 1,000 events",
    description=(
        "The request is checked whole before anything is written. If any event is invalid the answer "
        "is 422 with `rejected` listing every invalid event (index, event id, field, reason) and "
        "nothing of the request is stored. Otherwise the answer comes once every event is durable "
        "(fsynced to the write-ahead log); one writer then batches them into the store, where an "
        "event id already stored is ignored, so each event is stored exactly once."
    ),
    responses={422: {"description": "Invalid events, each named; nothing was stored"}},
    dependencies=[require("ingest")],
)
async def post_events(batch: EventBatch, svc: Services = Depends(services)) -> EventsAccepted | JSONResponse:
    window = plausible_range(svc.clock(), earliest=svc.settings.plausible_from, latest=svc.settings.plausible_until)
    good, bad = validate_batch(batch.events, svc.zone, window)
    if bad:
        return refused(bad)
    if good:
        await svc.log.write("events", good)
        svc.storefront.products.observe(good)  # the next page and recommendations see them at once
    return EventsAccepted(accepted=len(good), rejected=[])
