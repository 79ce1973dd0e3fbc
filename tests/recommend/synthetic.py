"""A small, seeded event log with structure a recommender can learn (for tests only).

Shoppers each prefer one "taste" (a pair of categories); items of a taste are viewed, carted and
bought together, so item-to-item neighbours are known: items of the same taste.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

START = dt.datetime(2024, 3, 1)
N_CATEGORIES = 6
ITEMS_PER_CATEGORY = 8


def item_id(c: int, j: int) -> str:
    return f"c{c}-i{j}"


def taste_of_category(c: int) -> int:
    return c // 2


def events(n_users: int = 120, days: int = 20, seed: int = 0) -> pd.DataFrame:
    """About 20 events per shopper over `days` days; tastes: categories {0,1}, {2,3}, {4,5}."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        taste = u % 3
        for e in range(20):
            c = 2 * taste + int(rng.integers(0, 2)) if rng.random() < 0.9 else int(rng.integers(0, N_CATEGORIES))
            j = int(min(rng.geometric(0.3) - 1, ITEMS_PER_CATEGORY - 1))
            behavior = rng.choice(["view", "view", "view", "fav", "cart", "buy"])
            ts = START + dt.timedelta(days=float(rng.uniform(0, days)))
            rows.append((f"u{u}", item_id(c, j), f"cat{c}", behavior, ts, f"o{u}-{e // 4}" if behavior == "buy" else None))
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "category_id", "behavior", "ts", "order_id"])
    frame.insert(0, "event_id", [f"e{i}" for i in range(len(frame))])
    frame["quantity"] = np.where(frame.behavior == "buy", 1, None)
    return frame


def items() -> pd.DataFrame:
    """The catalog: a few items are scented, one is out of stock, category 5 is consumable."""
    rows = []
    for c in range(N_CATEGORIES):
        for j in range(ITEMS_PER_CATEGORY):
            tags = ["consumable"] if c == 5 else []
            attrs = '{"scent": "lavender"}' if j % 2 == 1 else '{"scent": "none"}'
            stock = 0 if (c, j) == (0, 0) else 10
            rows.append((item_id(c, j), f"cat{c}", f"Item {c}-{j}", ",".join(tags) or None, attrs, stock))
    return pd.DataFrame(rows, columns=["item_id", "category_id", "title", "tags", "attributes", "stock"])
