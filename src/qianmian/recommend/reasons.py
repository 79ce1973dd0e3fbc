"""Short reasons for recommended items ("because you viewed X", "often bought with Y").

`anchors` finds, for each recommended item, the history item that explains it best: the anchor h
maximizing weight_h · sim(h, i), with sim from an item-item model (co-visitation by default).
The text is chosen per scene from `TEMPLATES`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np

VERBS: Final[dict[int, str]] = {1: "viewed", 2: "saved", 3: "added to cart", 4: "bought"}
"""Strongest-behaviour rank (see `qianmian.recommend.matrix.BEHAVIOR_RANK`) → verb."""

TEMPLATES: Final[dict[str, str]] = {
    "because": "because you {verb} {anchor}",
    "often_with": "often bought with {anchor}",
    "goes_with": "goes with your {anchor}",
    "similar": "similar to {anchor}",
    "audience": "popular with your audience",
    "audience_named": "popular with {audience}",
    "trending": "popular right now",
    "pinned": "featured by the shop",
    "repeat_layer": "you often browse this",
    "new_layer": "shoppers like you browse this",
    "for_you": "picked for you",
}


def anchors(
    history: np.ndarray,
    weights: np.ndarray,
    recommended: np.ndarray,
    similarity: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    max_history: int = 20,
) -> np.ndarray:
    """Position in `history` of each recommended item's anchor, or -1 when nothing explains it.

    `similarity(items, columns)` gives the dense block sim(items × columns) (a model's
    `similarity_block`); only the `max_history` heaviest history items are considered.
    """
    if not len(history) or not len(recommended):
        return np.full(len(recommended), -1, np.int64)
    top = np.argsort(-weights, kind="stable")[:max_history]
    sims = np.asarray(similarity(history[top], recommended), np.float32)
    contrib = sims * weights[top, None]
    best = contrib.argmax(axis=0)
    found = contrib[best, np.arange(len(recommended))] > 0
    return np.where(found, top[best], -1)


def text(template: str, **fields: str) -> str:
    return TEMPLATES[template].format(**fields)
