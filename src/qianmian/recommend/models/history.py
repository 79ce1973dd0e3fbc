"""The shopper's own history as a model (repeat-aware scoring).

score(u, i) = x_ui ** power: the (time-decayed, behaviour-weighted) history row itself, so items or
categories the shopper keeps returning to rank first. Alone it never proposes anything new; in a
blend it carries the repeats while collaborative models carry the new items.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from qianmian.errors import InputError
from qianmian.recommend.base import Recommender, as_csr


class HistoryRecommender(Recommender):
    kind = "history"

    def __init__(self, *, power: float = 1.0) -> None:
        super().__init__()
        if not power > 0:
            raise InputError("power", "a positive number", power)
        self.power = float(power)

    def fit(self, user_items: sp.csr_matrix) -> Self:
        self.n_items = as_csr(user_items).shape[1]
        return self

    def score(self, user_items: sp.csr_matrix, userids: np.ndarray | None = None) -> np.ndarray:
        rows = as_csr(user_items, self.n_items)
        out = rows.toarray()
        return np.power(out, self.power, out=out) if self.power != 1.0 else out

    def item_similarity(self, itemid: int) -> np.ndarray:
        return np.zeros(self.n_items, np.float32)

    def params(self) -> dict[str, Any]:
        return {"power": self.power}

    def arrays(self) -> dict[str, Any]:
        return {"n_items": np.array([self.n_items])}

    def set_arrays(self, arrays: dict[str, Any]) -> None:
        self.n_items = int(np.asarray(arrays["n_items"])[0])
