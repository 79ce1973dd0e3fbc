"""Business rules applied after ranking: what may be shown, and in what order.

- exclude already bought, except consumables (tag `consumable`) the shopper may re-buy;
- charges are not goods: non-product codes (postage, discounts, fees; `Catalog.non_product`) are
  never recommended;
- out of stock (stock <= 0) is never shown;
- self-tag filters: a shopper's tag excludes items carrying a conflicting property. `CONFLICTS`
  maps a tag to the item tags it excludes (e.g. "unscented" → "scented", "scent"); a tag
  "no-<x>" excludes items tagged <x>. Tags without a rule filter nothing;
- category diversity: at most `max_per_category` items of one category;
- pinned items go first (if allowed), boosted items have their score multiplied.
Every rule is a boolean mask or a vectorized pass over the ranked candidates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from qianmian.errors import InputError
from qianmian.recommend.catalog import Catalog

CONFLICTS: Mapping[str, tuple[str, ...]] = {
    "unscented": ("scented", "scent", "fragranced", "fragrance", "perfumed"),
    "fragrance-free": ("scented", "scent", "fragranced", "fragrance", "perfumed"),
    "vegan": ("contains_meat", "meat", "contains_dairy", "dairy", "animal_derived", "leather", "wool", "silk"),
    "vegetarian": ("contains_meat", "meat", "contains_fish", "fish"),
    "halal": ("contains_pork", "pork", "contains_alcohol", "alcohol"),
    "gluten-free": ("contains_gluten", "gluten"),
    "nut-free": ("contains_nuts", "nuts"),
    "lactose-free": ("contains_dairy", "dairy", "lactose"),
    "alcohol-free": ("contains_alcohol", "alcohol"),
    "sugar-free": ("contains_sugar", "sugar"),
    "cruelty-free": ("animal_tested",),
}
"""Shopper tag → item tags it excludes. Extend per brand with `Rules(conflicts=...)`."""


@dataclass(frozen=True)
class Rules:
    """Which rules apply (every field keyword-only in spirit; defaults suit a storefront)."""

    exclude_bought: bool = True
    rebuy_consumables: bool = True
    in_stock_only: bool = True
    products_only: bool = True
    self_tags: bool = True
    max_per_category: int | None = None
    pinned: tuple[str, ...] = ()
    boosts: tuple[tuple[str, float], ...] = ()
    conflicts: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(CONFLICTS))

    def __post_init__(self) -> None:
        if self.max_per_category is not None and self.max_per_category < 1:
            raise InputError("max_per_category", "a positive integer or None", self.max_per_category)
        if any(b <= 0 for _, b in self.boosts):
            raise InputError("boosts", "positive multipliers", self.boosts)


def excluded_tags(user_tags: Iterable[str], conflicts: Mapping[str, tuple[str, ...]] = CONFLICTS) -> set[str]:
    """Item tags a shopper with `user_tags` must never see.

    >>> sorted(excluded_tags(["no-nuts", "budget"]))
    ['nuts']
    """
    out: set[str] = set()
    for tag in (t.strip().lower() for t in user_tags):
        out.update(conflicts.get(tag, ()))
        if tag.startswith("no-") and len(tag) > 3:
            out.add(tag[3:])
    return out


def blocked(
    catalog: Catalog,
    rules: Rules,
    *,
    user_tags: Iterable[str] = (),
    bought: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean mask over items: True = must not be shown to this shopper."""
    mask = np.zeros(len(catalog.items), bool)
    if rules.in_stock_only:
        mask |= catalog.out_of_stock()
    if rules.products_only:
        mask |= catalog.non_product()
    if rules.self_tags:
        mask |= catalog.has_any(excluded_tags(user_tags, rules.conflicts))
    if rules.exclude_bought and bought is not None and len(bought):
        drop = np.zeros_like(mask)
        drop[np.asarray(bought, np.int64)] = True
        if rules.rebuy_consumables:
            drop &= ~catalog.consumable()
        mask |= drop
    return mask


def boost(scores: np.ndarray, catalog: Catalog, rules: Rules) -> np.ndarray:
    """Scores with boosted items multiplied (positive scores) or divided (negative scores)."""
    if not rules.boosts:
        return scores
    out = np.array(scores, dtype=np.float32, copy=True)
    pos = catalog.items.index([i for i, _ in rules.boosts])
    factors = np.array([b for _, b in rules.boosts], np.float32)[pos >= 0]
    idx = pos[pos >= 0]
    out[..., idx] = np.where(out[..., idx] >= 0, out[..., idx] * factors, out[..., idx] / factors)
    return out


def diversify(ids: np.ndarray, categories: np.ndarray, cap: int | None, k: int) -> np.ndarray:
    """Positions (into `ids`, ranked best first) kept under a per-category cap, at most `k`.

    Vectorized: the rank of each candidate within its category is computed by a stable sort.
    Items of unknown category (-1) are not capped.
    """
    n = len(ids)
    if cap is None or n == 0:
        return np.arange(min(n, k))
    cats = categories[ids]
    order = np.argsort(cats, kind="stable")
    sorted_cats = cats[order]
    starts = np.r_[0, np.flatnonzero(sorted_cats[1:] != sorted_cats[:-1]) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    rank_in_cat = np.empty(n, np.int64)
    rank_in_cat[order] = np.arange(n) - run_start
    keep = (rank_in_cat < cap) | (cats < 0)
    return np.flatnonzero(keep)[:k]


def pin(ids: np.ndarray, scores: np.ndarray, pinned: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pinned, allowed items first (in pin order, score = current best), then the rest in order."""
    pinned = pinned[(pinned >= 0) & allowed[pinned]] if len(pinned) else pinned
    if not len(pinned):
        return ids, scores
    top = scores.max(initial=0.0) if len(scores) else 0.0
    rest = ~np.isin(ids, pinned)
    return np.r_[pinned, ids[rest]].astype(np.int64), np.r_[np.full(len(pinned), top, np.float32), scores[rest]]
