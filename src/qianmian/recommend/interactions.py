"""Interaction logs as integer arrays, and the weighted, time-decayed user×item matrix built from them.

An `Interactions` holds one entry per (user, item, event or event group): its behaviour weight and
its age in days at the cutoff, so the same log serves every decay a grid wants to try.
`matrix(half_life_days=h)` turns it into CSR with

    x_ui = Σ_events w_e · 2^(−age_e / h)        (aggregate="sum"; no decay when h is None)
    x_ui = max_events w_e · 2^(−age_e / h)      (aggregate="max")

"max" keeps the strongest, most recent signal and ignores how often a shopper repeated it (better
for purchase data, where one more invoice of the same item says little about what else they buy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp

from qianmian.consumers.weights import BEHAVIOR_WEIGHTS
from qianmian.errors import InputError

Aggregate = Literal["sum", "max"]
Transform = Literal["none", "log1p", "binary"]


@dataclass(frozen=True)
class MatrixSpec:
    """How events become matrix cells: behaviour weights, time decay, per-cell aggregate, transform.

    Behaviour weights (by default `qianmian.consumers.weights.BEHAVIOR_WEIGHTS`) apply when events are read (`qianmian.recommend.matrix`); the other fields
    apply in `Interactions.matrix`. `transform="log1p"` damps heavy repeaters, `"binary"` keeps
    only "touched or not" (after `aggregate="max"` with decay, a cell is the recency of the last touch).
    """

    view: float = BEHAVIOR_WEIGHTS["view"]
    fav: float = BEHAVIOR_WEIGHTS["fav"]
    cart: float = BEHAVIOR_WEIGHTS["cart"]
    buy: float = BEHAVIOR_WEIGHTS["buy"]
    half_life_days: float | None = None
    aggregate: Aggregate = "sum"
    transform: Transform = "none"

    def behavior_weights(self) -> dict[str, float]:
        return {"view": self.view, "fav": self.fav, "cart": self.cart, "buy": self.buy}


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
            raise InputError(
                "interactions", "arrays of equal length", [len(self.user), len(self.item), len(self.weight), len(self.age_days)]
            )

    def matrix(
        self, *, half_life_days: float | None = None, aggregate: Aggregate = "sum", transform: Transform = "none"
    ) -> sp.csr_matrix:
        """The users × items CSR matrix of the (decayed) weights, summed or maxed per cell, then transformed."""
        m = self._aggregated(half_life_days, aggregate)
        if transform == "log1p":
            m.data = np.log1p(m.data)
        elif transform == "binary":
            m.data = np.ones_like(m.data)
        elif transform != "none":
            raise InputError("transform", "'none', 'log1p' or 'binary'", transform)
        return m

    def spec_matrix(self, spec: MatrixSpec) -> sp.csr_matrix:
        """`matrix` with the decay, aggregate and transform of `spec`."""
        return self.matrix(half_life_days=spec.half_life_days, aggregate=spec.aggregate, transform=spec.transform)

    def _aggregated(self, half_life_days: float | None, aggregate: Aggregate) -> sp.csr_matrix:
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

    def holdout(self, days: float, length: float = 1.0) -> tuple[Interactions, Interactions]:
        """The log as of `days` before the cutoff, and the window that follows it.

        Returns (entries older than `days`, entries of [cutoff − days, cutoff − days + length)),
        both with ages counted from the new cutoff `cutoff − days` (the window's ages are ≤ 0).
        Labelled days for a learned ranker: `holdout(1)` is "yesterday as the target".
        """
        if not (days > 0 and length > 0):
            raise InputError("days/length", "positive numbers of days", (days, length))
        before = self.age_days > days
        window = (self.age_days <= days) & (self.age_days > days - length)
        return self._aged(before, days), self._aged(window, days)

    def _aged(self, keep: np.ndarray, days: float) -> Interactions:
        return Interactions(self.user[keep], self.item[keep], self.weight[keep], self.age_days[keep] - days, self.shape)

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
