"""What the business rules need to know about items: category, tags, stock.

Tags come from `items.tags` (comma-separated) and from `items.attributes` (JSON): an attribute
`{"scent": "lavender"}` gives the tags `scent` and `scent=lavender`; a false-like value
(`false`, `no`, `none`, `""`, `0`) gives no tag. All tags are lower-cased. The catalog is aligned
with a model's item numbers, and holds an item × tag sparse matrix so rules are vectorized.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from qianmian.recommend.ids import IdMap
from qianmian.store import Store

FALSE_LIKE = frozenset({"", "false", "no", "none", "0", "null", "n/a"})
CONSUMABLE_TAGS = ("consumable", "consumables", "refill", "replenishable")
NON_PRODUCT_TAGS = ("non-product", "non_product", "fee", "service")
NON_PRODUCT_CODES = ("POST", "D", "M", "DOT", "BANK CHARGES", "C2", "PADS", "AMAZONFEE", "ADJUST", "TEST001", "TEST002")
"""Item codes that are charges, not goods (postage, discounts, manual adjustments, fees, test
lines), as Online Retail uses them; an item tagged `non-product` counts as one too."""


@dataclass(frozen=True)
class Catalog:
    """Per-item rule inputs aligned with `items`; `stock` NaN = unknown (treated as available)."""

    items: IdMap
    category: np.ndarray
    stock: np.ndarray
    tag_matrix: sp.csr_matrix
    tags: IdMap
    titles: np.ndarray | None = None
    non_product_category: int = -1
    """The category number of items of kind "non-product" (`schema.NON_PRODUCT`, set by a layout's
    `[non_products]`), or -1 when the model knows no such category."""

    def title(self, item: int) -> str:
        """The item's title, or its id when the catalog has none."""
        t = self.titles[item] if self.titles is not None else None
        return str(t) if isinstance(t, str) and t else str(self.items.ids[item])

    @classmethod
    def empty(cls, items: IdMap, category: np.ndarray | None = None) -> Catalog:
        n = len(items)
        cat = np.asarray(category if category is not None else np.full(n, -1), np.int64)
        return cls(items, cat, np.full(n, np.nan), sp.csr_matrix((n, 0), dtype=bool), IdMap(np.array([], dtype=object)))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, items: IdMap, category: np.ndarray | None = None) -> Catalog:
        """From rows with `item_id` and optional `title`, `tags`, `attributes`, `stock` columns."""
        pos = items.index(frame.item_id.astype(str).to_numpy()) if len(frame) else np.zeros(0, np.int64)
        known = frame[pos >= 0] if len(frame) else frame
        pos = pos[pos >= 0]
        stock = np.full(len(items), np.nan)
        if "stock" in known:
            stock[pos] = pd.to_numeric(known["stock"], errors="coerce").to_numpy(np.float64)
        pairs = [(p, t) for p, tags in zip(pos, _tag_lists(known)) for t in tags]
        vocab = IdMap.from_values(sorted({t for _, t in pairs}))
        rows = np.array([p for p, _ in pairs], dtype=np.int64)
        cols = vocab.index([t for _, t in pairs]) if pairs else np.zeros(0, np.int64)
        tm = sp.csr_matrix((np.ones(len(rows), bool), (rows, cols)), shape=(len(items), len(vocab)))
        titles = np.full(len(items), None, dtype=object)
        if "title" in known:
            titles[pos] = known["title"].to_numpy(object)
        base = cls.empty(items, category)
        return cls(items, base.category, stock, tm, vocab, titles)

    @classmethod
    def from_store(cls, store: Store, items: IdMap, category: np.ndarray | None = None) -> Catalog:
        """The `items` table's tags, attributes and stock for the model's items."""
        if "items" not in store.list_tables():
            return cls.empty(items, category)
        t = store.table("items").select("item_id", "title", "tags", "attributes", "stock")
        return cls.from_frame(store.to_pyarrow(t).to_pandas(), items, category)

    def has_any(self, tags: Iterable[str]) -> np.ndarray:
        """Boolean mask of items carrying at least one of `tags`."""
        cols = self.tags.index([t.lower() for t in tags])
        cols = cols[cols >= 0]
        if not len(cols):
            return np.zeros(len(self.items), bool)
        return np.asarray(self.tag_matrix[:, cols].sum(axis=1)).ravel() > 0

    def out_of_stock(self) -> np.ndarray:
        return np.nan_to_num(self.stock, nan=1.0) <= 0

    def consumable(self) -> np.ndarray:
        return self.has_any(CONSUMABLE_TAGS)

    def non_product(self) -> np.ndarray:
        """Charges rather than goods: a known non-product code, an item tagged as one, or an item
        in the "non-product" category."""
        codes = self.items.index(list(NON_PRODUCT_CODES))
        mask = self.has_any(NON_PRODUCT_TAGS)
        mask[codes[codes >= 0]] = True
        if self.non_product_category >= 0:
            mask |= self.category == self.non_product_category
        return mask

    def with_stock(self, item_ids: Sequence[str], stock: Sequence[float]) -> Catalog:
        """A copy with updated stock levels (unknown item ids are ignored)."""
        pos = self.items.index(list(item_ids))
        new = self.stock.copy()
        new[pos[pos >= 0]] = np.asarray(stock, np.float64)[pos >= 0]
        return dataclasses.replace(self, stock=new)


def _tag_lists(frame: pd.DataFrame) -> list[list[str]]:
    tags = frame["tags"] if "tags" in frame else pd.Series([None] * len(frame))
    attrs = frame["attributes"] if "attributes" in frame else pd.Series([None] * len(frame))
    return [_split_tags(t) + _attribute_tags(a) for t, a in zip(tags.tolist(), attrs.tolist())]


def _split_tags(value: object) -> list[str]:
    if not isinstance(value, str):
        return []
    return [t.strip().lower() for t in value.split(",") if t.strip()]


def _attribute_tags(value: object) -> list[str]:
    if not isinstance(value, str) or not value.strip():
        return []
    try:
        attrs = json.loads(value)
    except json.JSONDecodeError:
        return []
    if not isinstance(attrs, dict):
        return []
    out: list[str] = []
    for key, v in attrs.items():
        text = str(v).strip().lower() if not isinstance(v, bool) else ("true" if v else "false")
        if text in FALSE_LIKE:
            continue
        out.append(str(key).strip().lower())
        if text != "true":
            out.append(f"{str(key).strip().lower()}={text}")
    return out
