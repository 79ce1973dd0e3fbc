"""`POST /v1/events`: validated per event, acknowledged once fsynced to the write-ahead log."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from qianmian.api.auth import require
from qianmian.api.deps import services
from qianmian.api.events import EventBatch, EventsAccepted, validate_batch
from qianmian.api.services import Services

router = APIRouter(tags=["events"])


@router.post(
    "/v1/events",
    response_model=EventsAccepted,
    summary="Send up to 1,000 events",
    description=(
        "Each event is validated on its own: good ones are kept, bad ones are returned in `rejected` "
        "with the field and the reason. The response comes once the good ones are durable (fsynced "
        "to the write-ahead log); one writer then batches them into the store, where an event id "
        "already stored is ignored."
    ),
    dependencies=[require("ingest")],
)
async def post_events(batch: EventBatch, svc: Services = Depends(services)) -> EventsAccepted:
    good, bad = validate_batch(batch.events, svc.zone)
    if good:
        await svc.log.write("events", good)
        svc.storefront.observe(good)  # the next page and recommendations see them at once
    return EventsAccepted(accepted=len(good), rejected=bad)
