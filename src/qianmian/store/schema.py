"""The data model: every table, its columns and its types, as Ibis schemas.

One definition serves every backend. Conventions (see docs/data-model.md):

- ids are strings; a missing `user_id` means an anonymous event (counts in GMV, in no consumer metric);
- `ts` is the wall-clock time in the brand's business time zone (a naive timestamp), so a "day" is
  the brand's day on every engine;
- `amount` is the money value of the event, always >= 0; a `return` event's amount is subtracted
  from GMV;
- free-form properties, attributes and traits are JSON objects stored as text.
"""

from __future__ import annotations

from typing import Final

import ibis
import ibis.expr.datatypes as dt

BEHAVIORS: Final[tuple[str, ...]] = (
    "expose",
    "view",
    "search",
    "click",
    "fav",
    "cart",
    "buy",
    "return",
    "review",
    "share",
    "member_join",
    "coupon_claim",
)
"""Every behaviour an event may have. `buy` and `return` carry quantity and amount."""

NON_PRODUCT: Final = "non-product"
"""The `category_id` of events on items that are not goods (postage, fees, discounts, manual
adjustments, bad debt, test items, gift vouchers), as a layout's `[non_products]` marks them: the
item is of kind "non-product". Such events keep their amounts and count in GMV (see the layout),
but product metrics (categories, association rules, category preferences, top categories) leave
them out (`qianmian.metrics.common.products`)."""

S = dt.String(nullable=True)
S_REQ = dt.String(nullable=False)
TS = dt.Timestamp(nullable=True)
F = dt.Float64(nullable=True)
I = dt.Int64(nullable=True)  # noqa: E741 (one letter per type, like TS/F/B above and below)
B = dt.Boolean(nullable=True)

EVENTS = ibis.schema(
    {
        "event_id": S_REQ,
        "user_id": S,
        "item_id": S,
        "category_id": S,
        "brand_id": S,
        "behavior": S_REQ,
        "ts": dt.Timestamp(nullable=False),
        "channel": S,
        "session_id": S,
        "order_id": S,
        "quantity": I,
        "amount": F,
        "store_id": S,
        "campaign_id": S,
        "creative_id": S,
        "properties": S,
        "source": S,
    }
)

ITEMS = ibis.schema(
    {
        "item_id": S_REQ,
        "category_id": S,
        "brand_id": S,
        "title": S,
        "price": F,
        "attributes": S,  # JSON object, e.g. {"scent": "lavender", "size": "M"}
        "tags": S,  # comma-separated product tags, e.g. "scented,consumable"
        "stock": I,
        "updated_at": TS,
    }
)

USERS = ibis.schema(
    {
        "user_id": S_REQ,
        "name": S,
        "gender": S,
        "city": S,
        "country": S,
        "traits": S,  # JSON object of any further traits
        "member_since": TS,
        "consent": B,  # False = opted out: never profiled, default pages only
        "updated_at": TS,
    }
)

USER_TAGS = ibis.schema(
    {
        "user_id": S_REQ,
        "tag": S_REQ,
        "active": B,  # False records the removal of a tag
        "source": S,  # "self", "guide", "import", …
        "ts": TS,
    }
)

STORES = ibis.schema(
    {"store_id": S_REQ, "name": S, "city": S, "address": S, "lat": F, "lon": F}
)

CAMPAIGNS = ibis.schema(
    {"campaign_id": S_REQ, "name": S, "start_ts": TS, "end_ts": TS, "budget": F, "properties": S}
)

CREATIVES = ibis.schema(
    {"creative_id": S_REQ, "campaign_id": S, "name": S, "channel": S, "properties": S}
)

EXPOSURES = ibis.schema(
    {
        "exposure_id": S_REQ,
        "experiment": S,
        "variant": S,
        "user_id": S_REQ,
        "ts": dt.Timestamp(nullable=False),
        "audience": S,
        "page": S,  # JSON of what was shown
        "source": S,
    }
)

QUARANTINE = ibis.schema(
    {
        "ingest_id": S_REQ,
        "source": S,
        "row_number": I,
        "raw": S,
        "field": S,
        "reason": S,
        "quarantined_at": TS,
    }
)

INGESTS = ibis.schema(
    {
        "ingest_id": S_REQ,
        "source": S,
        "sha256": S,
        "layout": S,
        "target": S,
        "started_at": TS,
        "finished_at": TS,
        "read": I,
        "loaded": I,
        "duplicates": I,
        "quarantined": I,
    }
)

CONSUMER_DAYS = ibis.schema(
    {
        "user_id": S,  # NULL: the day's anonymous events (kept so the rollup accounts for every event)
        "day": dt.Date(nullable=False),
        "source": S,
        "brand_id": S,
        "events": dt.Int64(nullable=False),
        **{f"n_{b}": dt.Int64(nullable=False) for b in BEHAVIORS},
        **{f"amount_{b}": dt.Float64(nullable=False) for b in BEHAVIORS},
    }
)
"""The daily consumer rollup (`qianmian.store.rollup`): one row per user × day × source × brand with
the number of events of each behaviour (`n_view` …) and their summed amount (`amount_buy` …), NULL
amounts counting 0. Derived from `events`; rebuilt from it whenever it falls behind."""

SCHEMA_VERSION = ibis.schema(
    {"version": dt.Int64(nullable=False), "description": S, "applied_at": TS}
)

IDENTITY = "store_identity"
STORE_IDENTITY = ibis.schema({"id": S_REQ, "created_at": TS})
"""One row: the store's id, written once when the store is created (`qianmian.store.migrations`,
version 3) and never changed; trained models record it (`Store.id`). Not a shop of the `stores`
table: the identity of this whole data store."""

TABLES: Final[dict[str, ibis.Schema]] = {
    "events": EVENTS,
    "items": ITEMS,
    "users": USERS,
    "user_tags": USER_TAGS,
    "stores": STORES,
    "campaigns": CAMPAIGNS,
    "creatives": CREATIVES,
    "exposures": EXPOSURES,
    "quarantine": QUARANTINE,
    "ingests": INGESTS,
    "consumer_days": CONSUMER_DAYS,
}
"""Tables every store has, by name. `schema_version` and `store_identity` are managed by
`qianmian.store.migrations`;
`consumer_days` is derived from `events` (`qianmian.store.rollup`)."""

KEYS: Final[dict[str, tuple[str, ...]]] = {
    "events": ("event_id",),
    "items": ("item_id",),
    "users": ("user_id",),
    "stores": ("store_id",),
    "campaigns": ("campaign_id",),
    "creatives": ("creative_id",),
    "exposures": ("exposure_id",),
    "quarantine": ("source", "row_number"),
    "ingests": ("ingest_id",),
}
"""Natural keys: appending a row whose key is already present is a duplicate, not a new row."""
