"""Item-to-item co-visitation: items that the same shoppers interacted with.

With B = (X > 0) and the co-occurrence C = BᵀB (C_ij = shoppers who touched both i and j, diagonal
removed) and n_i = shoppers who touched i, the item-item weight is
- `"cosine"`:      W_ij = C_ij / sqrt(n_i · n_j)
- `"conditional"`: W_ij = C_ij / n_i   (share of i's shoppers who also touched j, the rule confidence)
- `"count"`:       W_ij = C_ij
keeping each row's `neighbours` largest; score(u) = x_u · W. Fitted on a buy-only matrix this is
"bought together" (the cart scene).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Self

import numpy as np
import scipy.sparse as sp

from qianmian.errors import InputError
from qianmian.recommend.base import ItemItemRecommender, as_csr, top_product_per_row

Normalize = Literal["cosine", "conditional", "count"]


class CovisitRecommender(ItemItemRecommender):
    kind = "covisit"
    example_params: ClassVar[Mapping[str, Any]] = {"neighbours": 10}

    def __init__(self, *, normalize: Normalize = "cosine", neighbours: int = 100, min_count: int = 1) -> None:
        super().__init__()
        if normalize not in ("cosine", "conditional", "count"):
            raise InputError("normalize", "'cosine', 'conditional' or 'count'", normalize)
        if neighbours < 1 or min_count < 1:
            raise InputError("neighbours/min_count", "positive integers", (neighbours, min_count))
        self.normalize: Normalize = normalize
        self.neighbours, self.min_count = int(neighbours), int(min_count)
        self.W = sp.csr_matrix((0, 0), dtype=np.float32)

    def fit(self, user_items: sp.csr_matrix) -> Self:
        b = (as_csr(user_items) > 0).astype(np.float32)
        self.n_items = b.shape[1]
        n = np.asarray(b.sum(axis=0)).ravel()
        self.W = top_product_per_row(
            b.T, b, self.neighbours, weigh=lambda c, first: self._normalized(c, n, first)
        ).astype(np.float32)
        return self

    def _normalized(self, c: sp.csr_matrix, n: np.ndarray, first: int) -> sp.csr_matrix:
        """Rows `first…` of the co-occurrence (counts below `min_count` dropped) as weights."""
        c.data[c.data < self.min_count] = 0
        c.eliminate_zeros()
        if self.normalize == "count":
            return c.astype(np.float32)
        rows = first + np.repeat(np.arange(c.shape[0]), np.diff(c.indptr))
        denom = n[rows] if self.normalize == "conditional" else np.sqrt(n[rows] * n[c.indices])
        out = c.astype(np.float32)
        out.data = (c.data / denom).astype(np.float32)
        return out

    def params(self) -> dict[str, Any]:
        return {"normalize": self.normalize, "neighbours": self.neighbours, "min_count": self.min_count}
