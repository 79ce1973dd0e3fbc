"""Items that are not goods: a layout's `[non_products]` names them, ingest marks their events.

    [non_products]
    item_id = ["POST", "DOT", "M", "BANK CHARGES", "AMAZONFEE"]   # exact item ids (after the field's cleaning)
    item_id_prefix = ["GIFT_"]                                     # and/or id prefixes

An event on such an item gets `category_id = "non-product"` (`schema.NON_PRODUCT`): the item is of
kind "non-product". Its behaviour and amount are untouched, so it counts in GMV as the layout
says; product metrics leave it out (`qianmian.metrics.common.products`).
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from qianmian.errors import ConfigError
from qianmian.store.schema import NON_PRODUCT


@dataclass(frozen=True)
class NonProducts:
    """Item ids (exact, or by prefix) whose items are not goods."""

    item_ids: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()

    def matches(self, item_id: ir.StringValue) -> ir.BooleanValue:
        tests = ([item_id.isin(list(self.item_ids))] if self.item_ids else []) + [item_id.startswith(p) for p in self.prefixes]
        return functools.reduce(operator.or_, tests) & item_id.notnull()


def parse_non_products(raw: Any, where: str) -> NonProducts | None:
    """The `[non_products]` table of a mapping (None when absent); errors name the key."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"item_id", "item_id_prefix"}:
        raise ConfigError(f"{where}: [non_products]: expected a table with item_id and/or item_id_prefix lists, received {raw!r}")
    ids, prefixes = raw.get("item_id", []), raw.get("item_id_prefix", [])
    for key, values in (("item_id", ids), ("item_id_prefix", prefixes)):
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise ConfigError(f"{where}: [non_products].{key}: expected a list of non-empty strings, received {values!r}")
    if not ids and not prefixes:
        raise ConfigError(f"{where}: [non_products]: expected at least one item_id or item_id_prefix")
    return NonProducts(tuple(ids), tuple(prefixes))


def mark_non_products(events: ir.Table, rule: NonProducts | None) -> ir.Table:
    """`events` with `category_id = "non-product"` on the items `rule` names (unchanged without a rule)."""
    if rule is None or "item_id" not in events.columns:
        return events
    category = events.category_id if "category_id" in events.columns else ibis.null().cast("string")
    return events.mutate(category_id=ibis.ifelse(rule.matches(events.item_id), ibis.literal(NON_PRODUCT), category))
