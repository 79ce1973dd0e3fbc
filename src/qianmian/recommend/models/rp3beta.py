"""RP3beta (Paudel et al. 2017; Dacrema et al. 2019): a 3-step random walk, popularity-penalized.

With P_ui = row-normalized X (user → item) and P_iu = row-normalized Xᵀ (item → user), both
raised element-wise to `alpha`, the item-item weights are
W_ij = (P_iu · P_ui)_ij / pop_j ** beta, where pop_j is item j's number of users;
each row of W keeps its `neighbours` largest entries, and score(u) = x_u · W.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from qianmian.errors import InputError
from qianmian.recommend.base import ItemItemRecommender, as_csr, row_normalize, top_product_per_row


class RP3betaRecommender(ItemItemRecommender):
    kind = "rp3beta"
    example_params: ClassVar[Mapping[str, Any]] = {"alpha": 1.0, "beta": 0.0}

    def __init__(self, *, alpha: float = 1.0, beta: float = 0.5, neighbours: int = 200) -> None:
        super().__init__()
        if not alpha > 0:
            raise InputError("alpha", "a positive number", alpha)
        if not 0 <= beta <= 1:
            raise InputError("beta", "a number in [0, 1]", beta)
        if neighbours < 1:
            raise InputError("neighbours", "a positive integer", neighbours)
        self.alpha, self.beta, self.neighbours = float(alpha), float(beta), int(neighbours)
        self.W = sp.csr_matrix((0, 0), dtype=np.float32)

    def fit(self, user_items: sp.csr_matrix) -> Self:
        x = as_csr(user_items)
        self.n_items = x.shape[1]
        p_ui = _power(row_normalize(x), self.alpha)
        p_iu = _power(row_normalize(sp.csr_matrix(x.T)), self.alpha)
        pop = np.diff(sp.csc_matrix(x).indptr).astype(np.float64)
        penalty = np.divide(1.0, pop**self.beta, out=np.zeros_like(pop), where=pop > 0)
        scale = sp.diags(penalty.astype(np.float32))
        self.W = top_product_per_row(
            p_iu, p_ui, self.neighbours, weigh=lambda block, _first: sp.csr_matrix(block @ scale)
        ).astype(np.float32)
        return self

    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "beta": self.beta, "neighbours": self.neighbours}


def _power(m: sp.csr_matrix, a: float) -> sp.csr_matrix:
    out = m.copy()
    if a != 1.0:
        out.data = np.power(out.data, a)
    return out

