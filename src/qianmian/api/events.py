"""Events over HTTP: the request model and per-event validation.

An event is a row of the `events` table (see `qianmian.store.schema.EVENTS`). Each event in a
batch is validated on its own: good ones are kept, bad ones come back with the field and the
reason, so one bad row never costs the batch.

`ts` is ISO 8601 or unix seconds. The store keeps the brand's wall-clock time (a naive
timestamp), so a time with an offset (or unix seconds, which are UTC) is converted to
``settings.timezone``; a naive ISO time is taken as already being wall-clock time.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from qianmian.store.schema import BEHAVIORS

MAX_BATCH: Final = 1_000
EARLIEST: Final = dt.datetime(1990, 1, 1)
LATEST: Final = dt.datetime(2100, 1, 1)

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
Behavior = Literal[BEHAVIORS]  # type: ignore[valid-type]


class EventIn(BaseModel):
    """One event. Ids may be strings or numbers (stored as strings)."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    event_id: Id = Field(description="Unique id; an id already stored is a duplicate and ignored")
    user_id: Id | None = Field(None, description="The shopper; absent for anonymous events")
    item_id: Id | None = None
    category_id: Id | None = None
    behavior: Behavior = Field(description=f"One of {', '.join(BEHAVIORS)}")
    ts: dt.datetime = Field(description="ISO 8601 (an offset is converted to the business time zone) or unix seconds")
    brand_id: Id | None = None
    channel: Id | None = None
    session_id: Id | None = None
    order_id: Id | None = None
    quantity: int | None = Field(None, ge=0, le=1_000_000)
    amount: float | None = Field(None, ge=0, le=1e12, allow_inf_nan=False)
    store_id: Id | None = None
    campaign_id: Id | None = None
    creative_id: Id | None = None
    properties: dict[str, Any] | None = Field(None, description="Free-form JSON object")


class EventBatch(BaseModel):
    """Up to 1,000 events; each is validated separately (see `EventIn`)."""

    events: list[EventIn | Any] = Field(max_length=MAX_BATCH, description="Events; invalid ones are returned in `rejected`")


class Rejected(BaseModel):
    index: int
    event_id: str | None
    field: str
    reason: str


class EventsAccepted(BaseModel):
    accepted: int = Field(description="Events now durable (fsynced); ids already stored are dropped when written")
    rejected: list[Rejected]


def wall_clock(ts: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """`ts` as a naive wall-clock time in `zone` (naive input is taken as is)."""
    return ts if ts.tzinfo is None else ts.astimezone(zone).replace(tzinfo=None)


def to_row(event: EventIn, zone: ZoneInfo) -> dict[str, Any]:
    """The JSON-safe row the WAL stores and the writer appends (ts as ISO text)."""
    row = event.model_dump(exclude_none=True)
    row["ts"] = wall_clock(event.ts, zone).isoformat()
    if event.properties is not None:
        row["properties"] = json.dumps(event.properties, ensure_ascii=False, sort_keys=True)
    row["source"] = "api"
    return row


def _reason(exc: ValidationError) -> tuple[str, str]:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or "event"
    return field, first.get("msg", "invalid")


def _event_id(raw: Any) -> str | None:
    return str(raw.get("event_id"))[:256] if isinstance(raw, dict) and raw.get("event_id") is not None else None


def validate_one(raw: Any, zone: ZoneInfo) -> dict[str, Any] | tuple[str, str]:
    """A row for a good event, or ``(field, reason)`` for a bad one."""
    try:
        event = raw if isinstance(raw, EventIn) else EventIn.model_validate(raw)
    except ValidationError as exc:
        return _reason(exc)
    wall = wall_clock(event.ts, zone)
    if not EARLIEST <= wall < LATEST:
        return "ts", f"expected a time between {EARLIEST.date()} and {LATEST.date()}, received {wall.isoformat()}"
    return to_row(event, zone)


def validate_batch(items: list[Any], zone: ZoneInfo) -> tuple[list[dict[str, Any]], list[Rejected]]:
    """Split a batch into good rows and rejections (index, event id, field, reason)."""
    good: list[dict[str, Any]] = []
    bad: list[Rejected] = []
    for i, raw in enumerate(items):
        out = validate_one(raw, zone)
        if isinstance(out, dict):
            good.append(out)
        else:
            event_id = raw.event_id if isinstance(raw, EventIn) else _event_id(raw)
            bad.append(Rejected(index=i, event_id=event_id, field=out[0], reason=out[1]))
    return good, bad
