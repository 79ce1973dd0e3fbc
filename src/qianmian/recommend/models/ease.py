"""EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data").

Closed form: with the Gram matrix G = XᵀX + λI and P = G⁻¹, the item-item weights are
B = I − P · diag(1 / diag(P)), so diag(B) = 0 and score(u) = x_u · B.

B is dense (items × items), so only the `max_items` most popular items are modelled; the others
score 0. λ (`l2`) is the one hyper-parameter; typical values are 10…2000 for counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from qianmian.errors import InputError
from qianmian.recommend.base import Recommender, as_csr


class EASERecommender(Recommender):
    kind = "ease"
    example_params: ClassVar[Mapping[str, Any]] = {"l2": 1.0}

    def __init__(self, *, l2: float = 500.0, max_items: int = 5_000) -> None:
        super().__init__()
        if not l2 > 0:
            raise InputError("l2", "a positive number", l2)
        if max_items < 1:
            raise InputError("max_items", "a positive integer", max_items)
        self.l2 = float(l2)
        self.max_items = int(max_items)
        self.items = np.zeros(0, np.int64)
        self.B = np.zeros((0, 0), np.float32)

    def fit(self, user_items: sp.csr_matrix) -> Self:
        x = as_csr(user_items)
        self.n_items = x.shape[1]
        self.items = _most_popular(x, self.max_items)
        xs = x[:, self.items]
        gram = (xs.T @ xs).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += self.l2
        p = np.linalg.inv(gram)
        b = p / (-np.diag(p))
        b[np.diag_indices_from(b)] = 0.0
        self.B = b.astype(np.float32)
        return self

    def score(self, user_items: sp.csr_matrix, userids: np.ndarray | None = None) -> np.ndarray:
        rows = as_csr(user_items, self.n_items)
        if len(self.items) == self.n_items:
            return np.asarray(rows @ self.B)
        pos = np.full(self.n_items, -1, np.int64)
        pos[self.items] = np.arange(len(self.items))
        r = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
        p = pos[rows.indices]
        keep = p >= 0
        sub = sp.csr_matrix((rows.data[keep], (r[keep], p[keep])), shape=(rows.shape[0], len(self.items)))
        out = np.zeros((rows.shape[0], self.n_items), np.float32)
        out[:, self.items] = sub @ self.B
        return out

    def item_similarity(self, itemid: int) -> np.ndarray:
        out = np.zeros(self.n_items, np.float32)
        pos = np.flatnonzero(self.items == itemid)
        if len(pos):
            out[self.items] = self.B[pos[0]]
        return out

    def params(self) -> dict[str, Any]:
        return {"l2": self.l2, "max_items": self.max_items}

    def arrays(self) -> dict[str, Any]:
        return {"items": self.items, "B": self.B, "n_items": np.array([self.n_items])}

    def set_arrays(self, arrays: dict[str, Any]) -> None:
        self.items = np.asarray(arrays["items"], np.int64)
        self.B = np.asarray(arrays["B"], np.float32)
        self.n_items = int(np.asarray(arrays["n_items"])[0])


def _most_popular(x: sp.csr_matrix, n: int) -> np.ndarray:
    """Column numbers of the `n` items with the most users (all items when there are fewer)."""
    users = np.diff(sp.csc_matrix(x).indptr)
    if len(users) <= n:
        return np.arange(len(users), dtype=np.int64)
    return np.sort(np.argsort(-users, kind="stable")[:n]).astype(np.int64)
