"""What an event must carry, per behaviour, and the times a store accepts: one table for every door.

Files (`ingest.transform`), `POST /v1/events` (`api.events`) and the live re-ranking buffer
(`recommend.live`) read these, so an event is valid or not whatever way it arrives.

- every event has `event_id`, `behavior` and `ts`;
- every behaviour names an item except `ITEMLESS` (search, member_join, coupon_claim);
- `user_id` is never required: an event without one is anonymous (counts in GMV, in no consumer metric);
- on a buy or return (`COUNTED`) a quantity, when given, is at least 1; amounts are never negative;
- `ts` lies in the plausible range: by default 2000-01-01 up to now + 1 day (`plausible_range`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

from qianmian.store.schema import BEHAVIORS

ALWAYS: Final = ("event_id", "behavior", "ts")
ITEMLESS: Final = frozenset({"search", "member_join", "coupon_claim"})
COUNTED: Final = frozenset({"buy", "return"})
REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    b: ALWAYS + (() if b in ITEMLESS else ("item_id",)) for b in BEHAVIORS
}
"""Fields each behaviour requires (non-empty)."""
ITEM_BEHAVIORS: Final = tuple(b for b in BEHAVIORS if "item_id" in REQUIRED[b])

EARLIEST: Final = dt.datetime(2000, 1, 1)
AHEAD: Final = dt.timedelta(days=1)


def plausible_range(now: dt.datetime, *, earliest: dt.datetime | None = None, latest: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[earliest, latest): by default 2000-01-01 to `now` + 1 day (the day covers clocks a zone ahead)."""
    return (earliest or EARLIEST, latest or now + AHEAD)


def item_reason(behavior: str) -> str:
    return f"item_id: expected an item for behaviour {behavior} (only {', '.join(sorted(ITEMLESS))} may have none)"


QUANTITY_REASON: Final = "quantity: expected at least 1 unit on a buy or return"


def problems(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, reason) for each rule of this table a (typed) event breaks; [] when it keeps them all."""
    out = []
    behavior = event.get("behavior")
    for name in REQUIRED.get(str(behavior), ALWAYS):
        value = event.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            out.append((name, item_reason(str(behavior)) if name == "item_id" else f"{name}: expected a non-empty value"))
    quantity = event.get("quantity")
    if behavior in COUNTED and quantity is not None and quantity < 1:
        out.append(("quantity", f"{QUANTITY_REASON}, received {quantity}"))
    return out
