"""Behaviour weights: how much one event says about a shopper's interest (the one table).

view, click and search 1, fav 2, cart 3, buy 4; any other behaviour (return, member_join …) 0.
Popularity rails, the shopper's top categories and the recommenders' default matrices all read
this table. `INTENT_WEIGHTS` is the same table without `buy`: what a shopper is doing right now
says what they still need, and what they just bought is no longer a need (the greeting's live need).

>>> weight_of("cart"), weight_of("return")
(3.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import ibis
import ibis.expr.types as ir

BEHAVIOR_WEIGHTS: Final[Mapping[str, float]] = MappingProxyType(
    {"view": 1.0, "click": 1.0, "search": 1.0, "fav": 2.0, "cart": 3.0, "buy": 4.0}
)
INTENT_WEIGHTS: Final[Mapping[str, float]] = MappingProxyType({b: w for b, w in BEHAVIOR_WEIGHTS.items() if b != "buy"})


def weight_of(behavior: str, weights: Mapping[str, float] = BEHAVIOR_WEIGHTS) -> float:
    """The weight of one behaviour (0 for a behaviour the table does not name)."""
    return float(weights.get(behavior, 0.0))


def weight_expr(behavior: ir.StringValue, weights: Mapping[str, float] = BEHAVIOR_WEIGHTS) -> ir.FloatingValue:
    """The weight of each event's behaviour as an engine expression (0 when unnamed)."""
    return ibis.cases(*[(behavior == b, w) for b, w in weights.items()], else_=0.0)
