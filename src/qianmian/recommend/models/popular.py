"""Popularity and trending: the same model on different matrices.

score(u, i) = pop(i) for every user, where pop(i) = Σ_u x_ui (`count="weight"`) or the number
of users with x_ui > 0 (`count="users"`). "Trending" is this model fitted on a matrix built with a
short time-decay half-life (`MatrixSpec(half_life_days=7)`), so recent interest dominates.
"""

from __future__ import annotations

from typing import Any, Literal, Self

import numpy as np
import scipy.sparse as sp

from qianmian.errors import InputError
from qianmian.recommend.base import Recommender, as_csr

Count = Literal["weight", "users"]


class PopularRecommender(Recommender):
    kind = "popular"

    def __init__(self, *, count: Count = "users") -> None:
        super().__init__()
        if count not in ("weight", "users"):
            raise InputError("count", "'weight' or 'users'", count)
        self.count: Count = count
        self.popularity = np.zeros(0, np.float32)

    def fit(self, user_items: sp.csr_matrix) -> Self:
        m = as_csr(user_items)
        m = (m > 0).astype(np.float32) if self.count == "users" else m
        self.popularity = np.asarray(m.sum(axis=0), dtype=np.float32).ravel()
        self.n_items = m.shape[1]
        return self

    def score(self, user_items: sp.csr_matrix, userids: np.ndarray | None = None) -> np.ndarray:
        return np.broadcast_to(self.popularity, (user_items.shape[0], self.n_items))

    def item_similarity(self, itemid: int) -> np.ndarray:
        """No notion of similarity: the popular items stand in (documented fallback)."""
        return self.popularity

    def params(self) -> dict[str, Any]:
        return {"count": self.count}

    def arrays(self) -> dict[str, Any]:
        return {"popularity": self.popularity}

    def set_arrays(self, arrays: dict[str, Any]) -> None:
        self.popularity = np.asarray(arrays["popularity"], np.float32)
        self.n_items = len(self.popularity)
