"""Matrix factorization by implicit-feedback ALS (Hu, Koren & Volinsky 2008), fitted by `implicit`.

Minimizes Σ_ui c_ui (p_ui − x_uᵀy_i)² + λ(‖X‖² + ‖Y‖²) with preference p_ui = [w_ui > 0] and
confidence c_ui = alpha · w_ui (implicit's convention). score(u) = x_u · Yᵀ. Rows that are not a
training user (or whose history changed, e.g. live events) are folded in: x_u is re-solved from
the row with Y fixed (`implicit`'s `recalculate_user`), so the model needs no retraining.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from qianmian.errors import InputError
from qianmian.recommend.base import Recommender, as_csr


class ALSRecommender(Recommender):
    kind = "als"
    example_params: ClassVar[Mapping[str, Any]] = {"factors": 4, "regularization": 0.01, "alpha": 5.0, "iterations": 20, "random_state": 7, "num_threads": 1}

    def __init__(
        self,
        *,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 10.0,
        iterations: int = 15,
        random_state: int = 0,
        num_threads: int = 0,
    ) -> None:
        super().__init__()
        if factors < 1 or iterations < 1:
            raise InputError("factors/iterations", "positive integers", (factors, iterations))
        if not (regularization >= 0 and alpha > 0):
            raise InputError("regularization/alpha", "regularization >= 0 and alpha > 0", (regularization, alpha))
        self.factors, self.iterations = int(factors), int(iterations)
        self.regularization, self.alpha = float(regularization), float(alpha)
        self.random_state, self.num_threads = int(random_state), int(num_threads)
        self.user_factors = np.zeros((0, self.factors), np.float32)
        self.item_factors = np.zeros((0, self.factors), np.float32)
        self._model: Any = None

    def _implicit(self) -> Any:
        from implicit.cpu.als import (
            AlternatingLeastSquares,  # loads OpenBLAS before the limit below
        )

        with threadpool_limits(1, "blas"):  # implicit parallelizes itself; nested BLAS threads only slow it
            return AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.random_state,
                num_threads=self.num_threads,
            )

    def fit(self, user_items: sp.csr_matrix) -> Self:
        x = as_csr(user_items)
        self._model = self._implicit()
        with threadpool_limits(1, "blas"):
            self._model.fit(x, show_progress=False)
        self.user_factors = np.asarray(self._model.user_factors, np.float32)
        self.item_factors = np.asarray(self._model.item_factors, np.float32)
        self.n_items = x.shape[1]
        return self

    def user_vectors(self, user_items: sp.csr_matrix, userids: np.ndarray | None) -> np.ndarray:
        """Training factors for known `userids`, folded-in factors from the rows otherwise."""
        if userids is not None:
            ids = np.asarray(userids, np.int64)
            if ids.min(initial=0) >= 0 and ids.max(initial=-1) < len(self.user_factors):
                return self.user_factors[ids]
        if self._model is None:
            self._model = self._implicit()
            self._model.item_factors = self.item_factors
            self._model.user_factors = self.user_factors
        rows = as_csr(user_items, self.n_items)
        return np.atleast_2d(self._model.recalculate_user(np.arange(rows.shape[0]), rows))

    def score(self, user_items: sp.csr_matrix, userids: np.ndarray | None = None) -> np.ndarray:
        return self.user_vectors(user_items, userids) @ self.item_factors.T

    def item_similarity(self, itemid: int) -> np.ndarray:
        """Cosine similarity of item factors."""
        norms = np.linalg.norm(self.item_factors, axis=1)
        norms[norms == 0] = 1.0
        return (self.item_factors @ self.item_factors[itemid]) / (norms * norms[itemid])

    def params(self) -> dict[str, Any]:
        return {
            "factors": self.factors,
            "regularization": self.regularization,
            "alpha": self.alpha,
            "iterations": self.iterations,
            "random_state": self.random_state,
            "num_threads": self.num_threads,
        }

    def arrays(self) -> dict[str, Any]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def set_arrays(self, arrays: dict[str, Any]) -> None:
        self.user_factors = np.asarray(arrays["user_factors"], np.float32)
        self.item_factors = np.asarray(arrays["item_factors"], np.float32)
        self.n_items = len(self.item_factors)
        self._model = None
