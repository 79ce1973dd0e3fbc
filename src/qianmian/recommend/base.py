"""The one small protocol every recommender follows (after implicit's `RecommenderBase`).

A model is fitted on an integer-indexed sparse user×item matrix (CSR, float weights: behaviour
weights with optional time decay, see `qianmian.recommend.matrix`). It then scores any batch of
user history rows, so a shopper's newest events (the live buffer) change the answer without
retraining. `recommend` = `score` + filters + top-k. Models save to `.npz` + a JSON sidecar,
never pickle (`qianmian.recommend.persist`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from qianmian.errors import InputError


@dataclass(frozen=True)
class TopK:
    """Ranked item numbers and scores, one row per user; rows padded with id -1, score -inf."""

    ids: np.ndarray
    scores: np.ndarray

    def row(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """The non-padded part of row `r`."""
        keep = self.ids[r] >= 0
        return self.ids[r][keep], self.scores[r][keep]


def as_csr(user_items: sp.spmatrix | sp.sparray, n_items: int | None = None) -> sp.csr_matrix:
    """`user_items` as float32 CSR, checked against the model's item count."""
    if not sp.issparse(user_items):
        raise InputError("user_items", "a scipy sparse matrix (users × items)", type(user_items).__name__)
    m = sp.csr_matrix(user_items, dtype=np.float32)
    if n_items is not None and m.shape[1] != n_items:
        raise InputError("user_items", f"a matrix with {n_items} item columns", f"{m.shape[1]} columns")
    return m


def topk(scores: np.ndarray, k: int) -> TopK:
    """The `k` best columns of each row, best first; -inf entries are never returned.

    Uses `argpartition` (O(n_items)) then sorts only the k survivors, ties by item number. Which
    of several items tied exactly at the cut-off survives is up to `argpartition` (deterministic).
    """
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float32))
    n_users, n_items = scores.shape
    k_eff = min(k, n_items)
    if k_eff <= 0:
        return TopK(np.full((n_users, k), -1, np.int64), np.full((n_users, k), -np.inf, np.float32))
    part = (
        np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff] if k_eff < n_items else np.tile(np.arange(n_items), (n_users, 1))
    )
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    ids = np.take_along_axis(part, order, axis=1).astype(np.int64)
    top = np.take_along_axis(part_scores, order, axis=1)
    ids[~np.isfinite(top) & (top < 0)] = -1
    pad = k - k_eff
    if pad:
        ids = np.hstack([ids, np.full((n_users, pad), -1, np.int64)])
        top = np.hstack([top, np.full((n_users, pad), -np.inf, np.float32)])
    return TopK(ids, top.astype(np.float32))


def hit_matrix(ids: np.ndarray, target: sp.csr_matrix) -> np.ndarray:
    """Boolean (users × k): is the j-th recommendation of user r in row r of `target`?"""
    n_users, _k = ids.shape
    n_items = target.shape[1]
    t = sp.csr_matrix(target)
    rows = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(t.indptr))
    target_keys = rows * n_items + t.indices
    rec_keys = np.arange(n_users, dtype=np.int64)[:, None] * n_items + ids
    return np.isin(rec_keys, target_keys) & (ids >= 0)


def per_user_recall(hits: np.ndarray, target_size: np.ndarray) -> np.ndarray:
    """Recall@k of each row: hits / min(k, |target|) (a row with no target counts 0)."""
    k = hits.shape[1]
    return hits.sum(axis=1) / np.maximum(np.minimum(k, target_size), 1)


def mask_seen(scores: np.ndarray, user_items: sp.csr_matrix) -> None:
    """Set the score of every item in each user's history row to -inf (in place)."""
    rows = np.repeat(np.arange(user_items.shape[0]), np.diff(user_items.indptr))
    scores[rows, user_items.indices] = -np.inf


class Recommender(ABC):
    """Base class: subclasses implement `fit`, `score`, `item_similarity` and their arrays."""

    kind: ClassVar[str]
    example_params: ClassVar[Mapping[str, Any]] = {}
    """Small params that fit a tiny matrix (a handful of items): the contract suite
    (tests/recommend/test_contract.py) builds every registered kind with them."""

    def __init__(self) -> None:
        self.n_items = 0

    # -- what a model implements ----------------------------------------------------------------
    @abstractmethod
    def fit(self, user_items: sp.csr_matrix) -> Self:
        """Learn from a users × items CSR matrix of non-negative weights."""

    @abstractmethod
    def score(self, user_items: sp.csr_matrix, userids: np.ndarray | None = None) -> np.ndarray:
        """Dense scores (rows of `user_items` × n_items), higher is better.

        `userids` are the rows' numbers in the training matrix, used only by models that keep
        per-user state (matrix factorization); None means "score from the rows alone".
        """

    @abstractmethod
    def item_similarity(self, itemid: int) -> np.ndarray:
        """Similarity of every item to `itemid` (length n_items)."""

    def similarity_block(self, items: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """sim(items[a], columns[b]) as a dense (len(items) × len(columns)) array (for reasons)."""
        if not len(items):
            return np.zeros((0, len(columns)), np.float32)
        return np.vstack([np.asarray(self.item_similarity(int(i)))[columns] for i in items])

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The constructor keyword arguments (JSON-serializable)."""

    @abstractmethod
    def arrays(self) -> dict[str, np.ndarray | sp.csr_matrix]:
        """The fitted state, as arrays or CSR matrices."""

    @abstractmethod
    def set_arrays(self, arrays: dict[str, Any]) -> None:
        """Restore the fitted state written by `arrays`."""

    # -- shared behaviour -----------------------------------------------------------------------
    def recommend(
        self,
        user_items: sp.csr_matrix,
        *,
        userids: np.ndarray | None = None,
        k: int = 20,
        exclude_seen: bool = True,
        blocked: np.ndarray | None = None,
    ) -> TopK:
        """Top `k` items per history row, best first.

        `exclude_seen` removes items present in the row; `blocked` is a boolean mask over items
        (True = never recommend, e.g. out of stock), or a 2-D mask with one row per user.
        """
        self._check_fitted()
        k = _check_k(k)
        rows = as_csr(user_items, self.n_items)
        scores = np.array(self.score(rows, userids), dtype=np.float32, copy=True)
        if exclude_seen:
            mask_seen(scores, rows)
        if blocked is not None:
            scores[np.broadcast_to(np.asarray(blocked, dtype=bool), scores.shape)] = -np.inf
        return topk(scores, k)

    def similar_items(self, itemid: int, k: int = 10, *, blocked: np.ndarray | None = None) -> TopK:
        """The `k` items most similar to `itemid` (the item itself excluded)."""
        self._check_fitted()
        if not 0 <= itemid < self.n_items:
            raise InputError("itemid", f"an item number in [0, {self.n_items})", itemid)
        sim = np.array(self.item_similarity(itemid), dtype=np.float32, copy=True)
        sim[itemid] = -np.inf
        sim[sim <= 0] = -np.inf
        if blocked is not None:
            sim[np.asarray(blocked, dtype=bool)] = -np.inf
        return topk(sim[None, :], _check_k(k))

    def _check_fitted(self) -> None:
        if self.n_items <= 0:
            raise InputError("model", f"a fitted {self.kind} model (call fit first)", "an unfitted model")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


class ItemItemRecommender(Recommender):
    """A model whose whole state is a sparse item × item weight matrix `W`: score(u) = x_u · W.

    Subclasses compute `W` in `fit` (and set `n_items`); scoring, similarity and persistence are shared.
    """

    W: sp.csr_matrix

    def score(self, user_items: sp.csr_matrix, userids: np.ndarray | None = None) -> np.ndarray:
        return np.asarray((as_csr(user_items, self.n_items) @ self.W).toarray())

    def item_similarity(self, itemid: int) -> np.ndarray:
        return self.W[itemid].toarray().ravel()

    def similarity_block(self, items: np.ndarray, columns: np.ndarray) -> np.ndarray:
        return self.W[np.asarray(items, np.int64)][:, np.asarray(columns, np.int64)].toarray()

    def arrays(self) -> dict[str, Any]:
        return {"W": self.W}

    def set_arrays(self, arrays: dict[str, Any]) -> None:
        self.W = sp.csr_matrix(arrays["W"], dtype=np.float32)
        self.n_items = self.W.shape[1]


def _check_k(k: int) -> int:
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError("k", "a positive integer", k)
    return int(k)


def row_normalize(m: sp.csr_matrix) -> sp.csr_matrix:
    """Each row divided by its sum (empty rows stay empty)."""
    sums = np.asarray(m.sum(axis=1)).ravel()
    inv = np.divide(1.0, sums, out=np.zeros_like(sums, dtype=np.float64), where=sums > 0)
    return sp.csr_matrix(sp.diags(inv.astype(np.float32)) @ m)


PRODUCT_BLOCK_ROWS = 4_096
"""Rows of an item × item product formed at a time by `top_product_per_row` (bounds its memory)."""


def top_product_per_row(
    left: sp.spmatrix,
    right: sp.spmatrix,
    n: int,
    *,
    weigh: Callable[[sp.csr_matrix, int], sp.csr_matrix] | None = None,
    block_rows: int = PRODUCT_BLOCK_ROWS,
) -> sp.csr_matrix:
    """`left @ right` with its diagonal removed, optionally `weigh`ed, each row cut to its `n` largest.

    The product is formed `block_rows` rows at a time and each block is pruned before the next is
    formed, so memory is bounded by one block, not the whole product (an item × item co-occurrence
    grows with the sum over shoppers of their items squared). Each row of a sparse product (its
    values and the order of its entries) depends only on the same row of `left`, so the result, ties
    included, does not depend on `block_rows`: a tie in a row goes to the entry first in the
    product's own order (`keep_top_per_row`), as when the whole product is formed at once. `left`
    may be CSR or CSC (sliced by rows either way). `weigh(block, first_row)` turns rows
    `first_row…` of the product into weights element-wise, keeping the entries' order.
    """
    if block_rows < 1:
        raise InputError("block_rows", "a positive integer", block_rows)
    kept: list[sp.csr_matrix] = []
    for start in range(0, left.shape[0], block_rows):
        block = sp.csr_matrix(left[start : start + block_rows] @ right)
        rows = np.repeat(np.arange(start, start + block.shape[0]), np.diff(block.indptr))
        block.data[rows == block.indices] = 0
        kept.append(keep_top_per_row(weigh(block, start) if weigh else block, n))
    if not kept:
        return sp.csr_matrix((left.shape[0], right.shape[1]), dtype=np.result_type(left.dtype, right.dtype))
    out = sp.csr_matrix(sp.vstack(kept, format="csr"))
    out.sort_indices()
    return out


def keep_top_per_row(m: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """Keep the `n` largest entries of each row of a sparse matrix (vectorized by row blocks)."""
    m = sp.csr_matrix(m)
    m.eliminate_zeros()
    counts = np.diff(m.indptr)
    if counts.max(initial=0) <= n:
        return m
    rows = np.repeat(np.arange(m.shape[0]), counts)
    order = np.lexsort((-m.data, rows))
    rank = np.arange(len(order)) - np.repeat(m.indptr[:-1], counts)
    keep = order[rank < n]
    out = sp.csr_matrix((m.data[keep], (rows[keep], m.indices[keep])), shape=m.shape)
    out.sort_indices()
    return out
