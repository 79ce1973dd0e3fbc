"""Interaction logs as integer arrays, and the weighted, time-decayed user×item matrix built from them.

An `Interactions` holds one entry per (user, item, event or event group): its behaviour weight and
its age in days at the cutoff. `matrix(half_life_days=h)` sums them into CSR with

    x_ui = Σ_events w_e · 2^(−age_e / h)        (no decay when h is None)

or, with `aggregate="max"`, x_ui = max_events w_e · 2^(−age_e / h): the strongest, most recent
signal, which ignores how often a shopper repeated it (better for purchase data, where one more
invoice of the same item says little about what else they will buy).

so the same log serves every decay a grid wants to try.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp

from qianmian.errors import InputError

Aggregate = Literal["sum", "max"]


@dataclass(frozen=True)
class Interactions:
    """Parallel arrays: user number, item number, behaviour weight, age in days; and the shape."""

    user: np.ndarray
    item: np.ndarray
    weight: np.ndarray
    age_days: np.ndarray
    shape: tuple[int, int]

    def __post_init__(self) -> None:
        n = len(self.user)
        if not (len(self.item) == len(self.weight) == len(self.age_days) == n):
            raise InputError("interactions", "arrays of equal length", [len(self.user), len(self.item), len(self.weight), len(self.age_days)])

    def matrix(self, *, half_life_days: float | None = None, aggregate: Aggregate = "sum") -> sp.csr_matrix:
        """The users × items CSR matrix of the (decayed) weights, summed or maxed per cell."""
        w = self.weight.astype(np.float64)
        if half_life_days is not None:
            if not half_life_days > 0:
                raise InputError("half_life_days", "a positive number or None", half_life_days)
            w = w * np.exp2(-np.maximum(self.age_days, 0.0) / half_life_days)
        if aggregate == "max":
            return _max_matrix(self.user, self.item, w, self.shape)
        if aggregate != "sum":
            raise InputError("aggregate", "'sum' or 'max'", aggregate)
        m = sp.csr_matrix((w, (self.user, self.item)), shape=self.shape, dtype=np.float64)
        m.sum_duplicates()
        return m.astype(np.float32)

    def select(self, keep: np.ndarray) -> Interactions:
        """The entries where the boolean mask `keep` is true (same shape)."""
        return Interactions(self.user[keep], self.item[keep], self.weight[keep], self.age_days[keep], self.shape)

    def __len__(self) -> int:
        return len(self.user)


def _max_matrix(user: np.ndarray, item: np.ndarray, w: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    key = user.astype(np.int64) * shape[1] + item
    order = np.argsort(key, kind="stable")
    k = key[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]]) if len(k) else np.zeros(0, np.int64)
    best = np.maximum.reduceat(w[order], starts) if len(k) else np.zeros(0)
    cells = k[starts]
    return sp.csr_matrix((best.astype(np.float32), (cells // shape[1], cells % shape[1])), shape=shape)
