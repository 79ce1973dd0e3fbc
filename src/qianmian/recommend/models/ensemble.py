"""The shared part of models built from other models (the blend, the learned ranker).

An ensemble holds fitted components; each may be fitted and scored on its own matrix (a bundle
gives every part its own matrix spec), so `fit_each`/`score_each` take one matrix per component
and `fit`/`score` use the same matrix for all. Persistence stores the components' arrays under
a `"<index>."` prefix and their kinds and params in `params()["components"]`, from which
`qianmian.recommend.models.build` rebuilds them.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from qianmian.errors import InputError
from qianmian.recommend.base import Recommender


class Ensemble(Recommender):
    """Base class: subclasses implement `score_each`, `item_similarity` and `own_params`."""

    def __init__(self, *, components: Sequence[Recommender]) -> None:
        super().__init__()
        if not components:
            raise InputError("components", "at least one recommender", [])
        self.components = list(components)
        self.n_items = self.components[0].n_items

    def fit(self, user_items: sp.csr_matrix) -> Self:
        return self.fit_each([user_items] * len(self.components))

    def fit_each(self, matrices: Sequence[sp.csr_matrix]) -> Self:
        """Fit component m on `matrices[m]`."""
        for c, m in zip(self.components, matrices, strict=True):
            c.fit(m)
        self.n_items = self.components[0].n_items
        return self

    def score(self, user_items: sp.csr_matrix, userids: np.ndarray | None = None) -> np.ndarray:
        return self.score_each([user_items] * len(self.components), userids)

    @abstractmethod
    def score_each(self, rows: Sequence[sp.csr_matrix], userids: np.ndarray | None = None) -> np.ndarray:
        """Dense scores from one history-row matrix per component."""

    @abstractmethod
    def own_params(self) -> dict[str, Any]:
        """The constructor keyword arguments other than `components` (JSON-serializable)."""

    def params(self) -> dict[str, Any]:
        return {"components": [{"kind": c.kind, "params": c.params()} for c in self.components], **self.own_params()}

    def arrays(self) -> dict[str, Any]:
        return {f"{i}.{k}": v for i, c in enumerate(self.components) for k, v in c.arrays().items()}

    def set_arrays(self, arrays: dict[str, Any]) -> None:
        for i, c in enumerate(self.components):
            prefix = f"{i}."
            c.set_arrays({k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)})
        self.n_items = self.components[0].n_items
