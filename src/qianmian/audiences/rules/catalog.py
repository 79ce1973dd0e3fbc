"""What a rule may name: consumer fields, functions and their types, with the words used to explain them.

Types: "bool" (a condition), "number", "string", "window" (30d), "behavior" (view, buy, …).
Adding a field here means adding its column to the feature table (`qianmian.features`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from qianmian.store.schema import BEHAVIORS

Type = Literal["bool", "number", "string", "window", "behavior"]


@dataclass(frozen=True)
class FieldSpec:
    """A consumer field read from the feature table column `column`."""

    type: Type
    column: str
    noun: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class FunctionSpec:
    """A function: positional parameter types, whether keyword filters are allowed, result type."""

    params: tuple[Type, ...]
    returns: Type
    summary: str
    filters: bool = False
    literal_args: bool = False  # arguments must be literals (names of tags, traits, audiences)


FIELDS: Final[dict[str, FieldSpec]] = {
    "aipl": FieldSpec("string", "aipl", "AIPL stage", ("A", "I", "P", "L")),
    "lifecycle": FieldSpec("string", "lifecycle", "lifecycle state", ("active", "silent", "churning", "lost")),
    "customer": FieldSpec("string", "customer", "customer type", ("new", "returning")),
    "recency": FieldSpec("number", "recency_days", "days since the last purchase"),
    "frequency": FieldSpec("number", "frequency", "number of orders"),
    "monetary": FieldSpec("number", "monetary", "total spend"),
    "tenure": FieldSpec("number", "tenure_days", "days since the first purchase"),
    "member": FieldSpec("bool", "member", "member"),
    "top_category": FieldSpec("string", "top_category", "top category"),
    "p_alive": FieldSpec("number", "p_alive", "probability of still being an active customer (BG/NBD)"),
}
"""Bare names a rule can compare, e.g. `lifecycle in ("silent", "churning")`, `monetary > 500`."""

FUNCTIONS: Final[dict[str, FunctionSpec]] = {
    "count": FunctionSpec(("behavior", "window"), "number", 'count(view, category = "coffee", 30d): events of a behaviour in the window', filters=True),
    "monetary": FunctionSpec(("window",), "number", "monetary(365d): spend in the window (purchases minus returns)", filters=True),
    "orders": FunctionSpec(("window",), "number", "orders(90d): distinct orders in the window", filters=True),
    "expected_purchases": FunctionSpec(("window",), "number", "expected_purchases(90d): purchases the BG/NBD model expects in the next N days"),
    "clv": FunctionSpec(("window",), "number", "clv(365d): discounted value expected from the consumer in the next N days (BG/NBD + Gamma-Gamma)"),
    "tag": FunctionSpec(("string",), "bool", 'tag("vegan"): the consumer declared this self-tag', literal_args=True),
    "trait": FunctionSpec(("string",), "string", 'trait("gender"): a user trait (column or traits JSON key)', literal_args=True),
    "in_audience": FunctionSpec(("string",), "bool", 'in_audience("staff"): the consumer is in another audience', literal_args=True),
    "uplift": FunctionSpec(("string",), "number", 'uplift("coupon-visit"): the predicted uplift from a saved uplift model', literal_args=True),
    "uplift_rank": FunctionSpec(("string",), "number", 'uplift_rank("coupon-visit") <= 30: place by predicted uplift in percent (top 30%)', literal_args=True),
}

FILTER_COLUMNS: Final[dict[str, str]] = {
    "category": "category_id",
    "brand": "brand_id",
    "item": "item_id",
    "channel": "channel",
    "campaign": "campaign_id",
    "store": "store_id",
}
"""Keyword filters allowed inside count/monetary/orders, mapped to `events` columns."""

ANY_BEHAVIOR: Final = "any"
BEHAVIOR_NAMES: Final[tuple[str, ...]] = (*BEHAVIORS, ANY_BEHAVIOR)
TRAIT_COLUMNS: Final[tuple[str, ...]] = ("gender", "city", "country", "name")
"""Traits stored as columns of `users`; any other trait is a key of the `users.traits` JSON."""
MAX_WINDOW_DAYS: Final = 3650
