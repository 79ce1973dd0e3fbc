"""Ranking metrics at k, vectorized over users.

For a user with target set T (|T| counts targets the model could never know, too) and ranked list
r_1..r_k:
- Recall@k  = |hits| / min(k, |T|)
- NDCG@k    = Σ_j [r_j ∈ T] / log2(j + 1)  ÷  Σ_{j ≤ min(k, |T|)} 1 / log2(j + 1)   (binary gains)
- HitRate@k = [|hits| > 0]
each averaged over evaluation users; coverage = distinct recommended items / items in train.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from qianmian.recommend.base import TopK, hit_matrix, per_user_recall


@dataclass(frozen=True)
class Metrics:
    k: int
    recall: float
    ndcg: float
    hitrate: float
    coverage: float
    users: int
    user_recall: np.ndarray = field(repr=False, compare=False, default_factory=lambda: np.zeros(0))
    """Each evaluation user's Recall@k (for standard errors and paired comparisons)."""


def evaluate_topk(top: TopK, target: sp.csr_matrix, target_size: np.ndarray, n_train_items: int) -> Metrics:
    """All metrics of `top` (one row per evaluation user, aligned with `target`)."""
    hits = hit_matrix(top.ids, target)
    k = hits.shape[1]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discounts)[np.clip(np.minimum(k, target_size) - 1, 0, k - 1)]
    ndcg = (hits * discounts).sum(axis=1) / ideal
    recs = top.ids[top.ids >= 0]
    recall = per_user_recall(hits, target_size)
    return Metrics(
        k=k,
        recall=float(recall.mean()),
        ndcg=float(ndcg.mean()),
        hitrate=float(hits.any(axis=1).mean()),
        coverage=float(len(np.unique(recs)) / max(n_train_items, 1)),
        users=int(hits.shape[0]),
        user_recall=recall,
    )


def _resampled(a: np.ndarray, b: np.ndarray | None, n_boot: int, random_state: int) -> np.ndarray:
    idx = np.random.default_rng(random_state).integers(0, len(a), size=(n_boot, len(a)))
    stat = a[idx].mean(axis=1)
    if b is not None:
        stat = stat / np.asarray(b, np.float64)[idx].mean(axis=1)
    return stat


def bootstrap_interval(
    numerator: np.ndarray,
    denominator: np.ndarray | None = None,
    *,
    level: float = 0.95,
    n_boot: int = 2000,
    random_state: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(numerator), or of mean(numerator) / mean(denominator)
    (paired: the same resampled users in both), at `level` (0.95: the 2.5 % and 97.5 % points)."""
    a = np.asarray(numerator, np.float64)
    if len(a) < 2:
        return float("nan"), float("nan")
    stat = _resampled(a, denominator, n_boot, random_state)
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(stat, [tail, 100.0 - tail])
    return float(lo), float(hi)


def bootstrap_se(
    numerator: np.ndarray, denominator: np.ndarray | None = None, *, n_boot: int = 2000, random_state: int = 0
) -> float:
    """Bootstrap standard error of mean(numerator), or of mean(numerator) / mean(denominator)
    when both are given per user (paired: the same resampled users in both)."""
    a = np.asarray(numerator, np.float64)
    if len(a) < 2:
        return float("nan")
    return float(_resampled(a, denominator, n_boot, random_state).std(ddof=1))
