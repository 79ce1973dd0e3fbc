"""A weighted blend of recommenders, with weights learned on a validation split.

score(u) = Σ_m w_m · norm(score_m(u)), where `norm` puts every model on one scale per user:
- `"zscore"`: (s − mean_u) / std_u over all items;
- `"max"`:    s / max_u |s|.
Weights come from `learn_weights`: coordinate ascent on validation Recall@k over a small grid,
starting from the best single model, so the blend is never worse than its best part on the split
it was tuned on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp

from qianmian.errors import InputError
from qianmian.recommend.base import Recommender, as_csr, hit_matrix, mask_seen, per_user_recall, topk
from qianmian.recommend.models.ensemble import Ensemble

Normalize = Literal["zscore", "max"]
WEIGHT_GRID: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0)


def normalized(scores: np.ndarray, how: Normalize) -> np.ndarray:
    """Per-row normalization of dense scores (see module docstring)."""
    s = np.asarray(scores, dtype=np.float32)
    if how == "zscore":
        sd = s.std(axis=1, keepdims=True)
        return (s - s.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
    if how == "max":
        mx = np.abs(s).max(axis=1, keepdims=True)
        return s / np.where(mx > 0, mx, 1.0)
    raise InputError("normalize", "'zscore' or 'max'", how)


def combine(scores: Sequence[np.ndarray], weights: Sequence[float], how: Normalize) -> np.ndarray:
    """Σ_m w_m · norm(scores_m); parts with weight 0 are skipped."""
    out = np.zeros_like(np.asarray(scores[0], dtype=np.float32))
    for s, w in zip(scores, weights, strict=True):
        if w:
            out += np.float32(w) * normalized(s, how)
    return out


class BlendRecommender(Ensemble):
    """Blend of fitted components. `fit` fits every part on one matrix; pipelines that give each
    part its own matrix use `fit_each`/`score_each` with one matrix per part."""

    kind = "blend"
    example_params: ClassVar[Mapping[str, Any]] = {"components": [{"kind": "ease", "params": {"l2": 1.0}}, {"kind": "popular", "params": {}}], "weights": [1.0, 0.1]}

    def __init__(
        self, *, components: Sequence[Recommender], weights: Sequence[float] | None = None, normalize: Normalize = "zscore"
    ) -> None:
        super().__init__(components=components)
        w = list(weights) if weights is not None else [1.0] * len(components)
        if len(w) != len(components) or min(w) < 0 or not any(w):
            raise InputError("weights", f"{len(components)} non-negative weights, not all 0", w)
        self.weights = [float(x) for x in w]
        self.normalize: Normalize = normalize
        normalized(np.zeros((1, 1)), normalize)

    def score_each(self, rows: Sequence[sp.csr_matrix], userids: np.ndarray | None = None) -> np.ndarray:
        parts = [
            c.score(r, userids) if w else np.zeros((r.shape[0], self.n_items), np.float32)
            for c, r, w in zip(self.components, rows, self.weights, strict=True)
        ]
        return combine(parts, self.weights, self.normalize)

    def item_similarity(self, itemid: int) -> np.ndarray:
        sims = [c.item_similarity(itemid)[None, :] for c in self.components]
        return combine(sims, self.weights, "max")[0]

    def own_params(self) -> dict[str, Any]:
        return {"weights": self.weights, "normalize": self.normalize}


def learn_weights(
    scores: Sequence[np.ndarray],
    target: sp.csr_matrix,
    target_size: np.ndarray,
    *,
    k: int,
    seen: sp.csr_matrix | None = None,
    normalize: Normalize = "zscore",
    grid: Sequence[float] = WEIGHT_GRID,
    rounds: int = 3,
) -> tuple[list[float], float]:
    """Weights maximizing mean Recall@k of the blend on a validation split, and that recall.

    `scores[m]` are model m's raw scores for the validation users (rows aligned with `target`);
    `seen` (the users' train rows) is masked before ranking when the protocol excludes seen items.
    """
    parts = [normalized(s, normalize) for s in scores]

    def recall(w: Sequence[float]) -> float:
        blended = sum(np.float32(x) * p for x, p in zip(w, parts) if x)
        if seen is not None:
            mask_seen(blended, as_csr(seen))
        hits = hit_matrix(topk(blended, k).ids, target)
        return float(per_user_recall(hits, target_size).mean())

    singles = [recall([1.0 if j == i else 0.0 for j in range(len(parts))]) for i in range(len(parts))]
    best_w = [1.0 if i == int(np.argmax(singles)) else 0.0 for i in range(len(parts))]
    best = max(singles)
    for _ in range(rounds):
        improved = False
        for i in range(len(parts)):
            for g in grid:
                w = best_w.copy()
                w[i] = g
                if any(w) and (r := recall(w)) > best + 1e-9:
                    best, best_w, improved = r, w, True
        if not improved:
            break
    return best_w, best
