"""Scenes: where a recommendation is shown, and how its candidates are scored.

| scene           | candidates from                                    | personal? |
| --------------- | -------------------------------------------------- | --------- |
| `home`          | the `home` model on the shopper's history + live   | yes       |
| `similar`       | item-item similarity to the given item             | no        |
| `cart`          | co-purchase confidence from the cart's items       | no        |
| `post_purchase` | co-purchases of what was just bought, other categories only (complements, not substitutes) | no |
| `audience_top`  | what the shopper's audience interacts with most    | yes (audience) |
| `layers`        | category rails: the `layers` model (own history + collaborative) | yes |

Opted-out shoppers get only the non-personal scenes; `home`, `audience_top` and `layers` fall
back to what is popular right now. Each scene returns numbers and scores over its columns (items,
or categories for `layers`) plus a reason per candidate; rules are applied by the service.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

import numpy as np
import scipy.sparse as sp

from qianmian.recommend import reasons as R

Scene = Literal["home", "similar", "cart", "post_purchase", "audience_top", "layers"]
SCENES: Final[tuple[str, ...]] = get_args(Scene)
PERSONAL: Final[frozenset[str]] = frozenset({"home", "audience_top", "layers"})


@dataclass(frozen=True)
class Scored:
    """Dense scores over the scene's columns and a function giving each chosen column's reason."""

    scores: np.ndarray
    reason: Callable[[np.ndarray], list[str]]


def constant(reason: str) -> Callable[[np.ndarray], list[str]]:
    return lambda ids: [reason] * len(ids)


def from_anchors(
    template: str,
    context: np.ndarray,
    weights: np.ndarray,
    similarity: Callable[[np.ndarray, np.ndarray], np.ndarray],
    title: Callable[[int], str],
    fallback: str,
    verbs: np.ndarray | None = None,
) -> Callable[[np.ndarray], list[str]]:
    """Reasons naming, for each chosen item, the context item that explains it best."""

    def reason(ids: np.ndarray) -> list[str]:
        pos = R.anchors(context, weights, ids, similarity)
        out = []
        for p in pos:
            if p < 0:
                out.append(fallback)
                continue
            verb = R.VERBS.get(int(verbs[p]) if verbs is not None else 1, "viewed")
            out.append(R.text(template, anchor=title(int(context[p])), verb=verb))
        return out

    return reason


def item_set_scores(similarity: Callable[[int], np.ndarray], items: Sequence[int], n: int) -> np.ndarray:
    """Σ over `items` of their similarity rows (cart / post-purchase candidates)."""
    out = np.zeros(n, np.float32)
    for i in items:
        out += np.asarray(similarity(int(i)), np.float32)
    return out


def audience_popularity(matrix: sp.csr_matrix, member_rows: np.ndarray) -> np.ndarray:
    """Number of the audience's members who interacted with each column."""
    if not len(member_rows):
        return np.zeros(matrix.shape[1], np.float32)
    return np.asarray((matrix[member_rows] > 0).sum(axis=0), np.float32).ravel()


def blocked_categories(item_blocked: np.ndarray, item_category: np.ndarray, n_categories: int) -> np.ndarray:
    """Categories whose every known item is blocked for this shopper (no item to show)."""
    known = item_category >= 0
    total = np.bincount(item_category[known], minlength=n_categories)
    allowed = np.bincount(item_category[known & ~item_blocked], minlength=n_categories)
    return (total > 0) & (allowed == 0)


SceneNames = Sequence[Scene]
