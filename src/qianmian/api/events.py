"""Events over HTTP: the request model and the validation of a whole batch.

An event is a row of the `events` table (see `qianmian.store.schema.EVENTS`). A batch is checked
whole before anything of it is written: every event against the model, the per-behaviour table
shared with files and the live buffer (`qianmian.ingest.rules`) and the store's plausible time
range (2000-01-01 up to the business clock + 1 day unless settings say otherwise). One bad event
and the request is refused (422) with every bad event listed by index, field and reason; nothing of
it is stored.

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

from qianmian.ingest import rules
from qianmian.store.schema import BEHAVIORS

MAX_BATCH: Final = 1_000

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
    quantity: int | None = Field(None, ge=0, le=1_000_000, description="Units; at least 1 on a buy or return")
    amount: float | None = Field(None, ge=0, le=1e12, allow_inf_nan=False)
    store_id: Id | None = None
    campaign_id: Id | None = None
    creative_id: Id | None = None
    properties: dict[str, Any] | None = Field(None, description="Free-form JSON object")


class EventBatch(BaseModel):
    """Up to 1,000 events, checked whole (see `EventIn`)."""

    events: list[EventIn | Any] = Field(max_length=MAX_BATCH, description="Events; one invalid event refuses the request (422), listing every invalid one")


class Rejected(BaseModel):
    index: int
    event_id: str | None
    field: str
    reason: str


class EventsAccepted(BaseModel):
    accepted: int = Field(description="Events now durable (fsynced); ids already stored are dropped when written")
    rejected: list[Rejected] = Field(default_factory=list, description="Always empty on success (kept for clients of earlier versions)")


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


def validate_one(raw: Any, zone: ZoneInfo, window: tuple[dt.datetime, dt.datetime]) -> dict[str, Any] | tuple[str, str]:
    """A row for a good event, or ``(field, reason)`` for a bad one (the first rule it breaks)."""
    try:
        event = raw if isinstance(raw, EventIn) else EventIn.model_validate(raw)
    except ValidationError as exc:
        return _reason(exc)
    broken = rules.problems(event.model_dump())
    if broken:
        return broken[0][0], broken[0][1].split(": ", 1)[1]
    wall = wall_clock(event.ts, zone)
    lo, hi = window
    if not lo <= wall < hi:
        return "ts", f"expected a time in the store's plausible range [{lo.isoformat(sep=' ')}, {hi.isoformat(sep=' ')}), received {wall.isoformat(sep=' ')}"
    return to_row(event, zone)


def validate_batch(items: list[Any], zone: ZoneInfo, window: tuple[dt.datetime, dt.datetime]) -> tuple[list[dict[str, Any]], list[Rejected]]:
    """Split a batch into good rows and rejections (index, event id, field, reason); `window` is the
    plausible range [from, until) of wall-clock times (see `ingest.rules.plausible_range`)."""
    good: list[dict[str, Any]] = []
    bad: list[Rejected] = []
    for i, raw in enumerate(items):
        out = validate_one(raw, zone, window)
        if isinstance(out, dict):
            good.append(out)
        else:
            event_id = raw.event_id if isinstance(raw, EventIn) else _event_id(raw)
            bad.append(Rejected(index=i, event_id=event_id, field=out[0], reason=out[1]))
    return good, bad
