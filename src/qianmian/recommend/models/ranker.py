"""A learned ranker over other models' scores: logistic regression on candidate columns.

For each history row u, the candidates are the union over components m of the `candidates`
columns with the highest positive score s_m(u, ·). Each candidate (u, i) gets three features
per component,

    log(1 + max(s_m(u,i), 0)),   s_m(u,i) / max_j s_m(u,j),   [s_m(u,i) > 0],

standardized with the centre and scale seen in training, and the score is the logit

    z(u, i) = b + Σ_f w_f · (x_f(u, i) − centre_f) / scale_f.

Columns that are not candidates score one below the row's lowest candidate, so every column has
a finite score and candidates always come first. With components such as the shopper's own
history at several half-lives, the time of the last touch, co-visitation and trending, the ranker
learns how much recency, frequency, behaviour and popularity count for "touched on the next day".

`learn` fits w and b on labelled days: for each day, the components' scores for shoppers as of
the start of that day and the columns each shopper touched that day. The loss is the logistic
loss with each pair weighted 1 / min(k, |target_u|) (so every shopper counts as in Recall@k)
plus (l2 / 2)·‖w‖², minimized by L-BFGS. Before `learn`, the ranker orders candidates by its
first component. The learned coefficients are plain numbers in `params()` (JSON), never pickled.

>>> ranker = RankerRecommender(components=[HistoryRecommender(), PopularRecommender()])  # doctest: +SKIP
>>> ranker.fit(x).learn([(day_scores, day_target), ...]).recommend(x[:1], k=10)          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from qianmian.errors import InputError
from qianmian.recommend.base import Recommender
from qianmian.recommend.models.blend import combine
from qianmian.recommend.models.ensemble import Ensemble

FEATURES_PER_PART = 3
LabelledDay = tuple[Sequence[np.ndarray], sp.csr_matrix]
"""One training day: each component's dense scores (rows = shoppers) and their targets (same rows)."""


class RankerRecommender(Ensemble):
    kind = "ranker"
    example_params: ClassVar[Mapping[str, Any]] = {"components": [{"kind": "covisit", "params": {"neighbours": 10}}, {"kind": "popular", "params": {}}], "candidates": 3}

    def __init__(
        self,
        *,
        components: Sequence[Recommender],
        candidates: int = 30,
        l2: float = 100.0,
        k: int = 10,
        coef: Sequence[float] | None = None,
        intercept: float = 0.0,
        centre: Sequence[float] | None = None,
        scale: Sequence[float] | None = None,
    ) -> None:
        super().__init__(components=components)
        if not isinstance(candidates, int) or candidates < 1:
            raise InputError("candidates", "a positive integer", candidates)
        if not (l2 >= 0 and isinstance(k, int) and k >= 1):
            raise InputError("l2/k", "l2 >= 0 and a positive integer k", (l2, k))
        self.candidates, self.l2, self.k = candidates, float(l2), k
        n = FEATURES_PER_PART * len(self.components)
        self.coef = _vector(coef, n, "coef", np.eye(n)[0])
        self.centre = _vector(centre, n, "centre", np.zeros(n))
        self.scale = _vector(scale, n, "scale", np.ones(n))
        if np.any(self.scale <= 0):
            raise InputError("scale", "positive numbers", self.scale.tolist())
        self.intercept = float(intercept)

    # -- scoring ----------------------------------------------------------------------------------
    def score_each(self, rows: Sequence[sp.csr_matrix], userids: np.ndarray | None = None) -> np.ndarray:
        parts = self.part_scores(rows, userids)
        cand = candidate_mask(parts, self.candidates)
        r, c = np.nonzero(cand)
        z = self._logit(pair_features(parts, r, c))
        out = np.full(cand.shape, np.inf, np.float32)
        out[r, c] = z
        floor = out.min(axis=1, keepdims=True)
        floor = np.where(np.isfinite(floor), floor - 1.0, 0.0).astype(np.float32)
        return np.where(cand, out, floor)

    def part_scores(self, rows: Sequence[sp.csr_matrix], userids: np.ndarray | None = None) -> list[np.ndarray]:
        """Each component's dense scores for its rows (what `learn` takes for one day)."""
        return [np.asarray(c.score(r, userids), np.float32) for c, r in zip(self.components, rows, strict=True)]

    def _logit(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.centre) / self.scale @ self.coef + self.intercept).astype(np.float32)

    def item_similarity(self, itemid: int) -> np.ndarray:
        sims = [np.asarray(c.item_similarity(itemid))[None, :] for c in self.components]
        return combine(sims, [1.0] * len(sims), "max")[0]

    # -- learning -----------------------------------------------------------------------------------
    def learn(self, days: Iterable[LabelledDay]) -> Self:
        """Fit the coefficients on labelled days (see module docstring); no-op without positives.

        `days` may be a generator: each day is reduced to its candidate pairs as it arrives."""
        x, y, w = training_pairs(days, self.candidates, self.k)
        if not y.any() or y.all():
            return self
        self.centre = x.mean(axis=0)
        sd = x.std(axis=0)
        self.scale = np.where(sd > 0, sd, 1.0)
        self.coef, self.intercept = fit_logistic((x - self.centre) / self.scale, y, w, self.l2)
        return self

    def own_params(self) -> dict[str, Any]:
        return {
            "candidates": self.candidates,
            "l2": self.l2,
            "k": self.k,
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "centre": self.centre.tolist(),
            "scale": self.scale.tolist(),
        }


def candidate_mask(parts: Sequence[np.ndarray], n: int) -> np.ndarray:
    """True where a column is among the `n` highest positive scores of some part, per row."""
    shape = parts[0].shape
    mask = np.zeros(shape, bool)
    n = min(n, shape[1])
    rows = np.repeat(np.arange(shape[0]), n)
    for s in parts:
        top = (np.argpartition(-s, n - 1, axis=1)[:, :n] if n < shape[1] else np.tile(np.arange(shape[1]), (shape[0], 1))).ravel()
        ok = s[rows, top] > 0
        mask[rows[ok], top[ok]] = True
    return mask


def pair_features(parts: Sequence[np.ndarray], rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(pairs × 3·parts) features of the (row, column) pairs (see module docstring)."""
    out = np.empty((len(rows), FEATURES_PER_PART * len(parts)), np.float64)
    for m, s in enumerate(parts):
        v = s[rows, cols].astype(np.float64)
        top = s.max(axis=1).astype(np.float64)[rows]
        out[:, 3 * m] = np.log1p(np.maximum(v, 0.0))
        out[:, 3 * m + 1] = np.divide(v, top, out=np.zeros_like(v), where=top > 0)
        out[:, 3 * m + 2] = v > 0
    return out


def training_pairs(days: Iterable[LabelledDay], candidates: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and weights 1 / min(k, |target_u|) of every candidate pair of every day."""
    xs, ys, ws = [], [], []
    for parts, target in days:
        t = sp.csr_matrix(target)
        r, c = np.nonzero(candidate_mask(parts, candidates))
        size = np.diff(t.indptr)
        xs.append(pair_features(parts, r, c))
        ys.append(np.asarray(t[r, c]).ravel() > 0)
        ws.append(1.0 / np.maximum(np.minimum(k, size), 1)[r])
    if not xs:
        return np.zeros((0, 0)), np.zeros(0, bool), np.zeros(0)
    return np.vstack(xs), np.concatenate(ys), np.concatenate(ws)


def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """argmin_{coef, b} Σ_p w_p · logloss(y_p, x_p·coef + b) + (l2/2)‖coef‖², weights scaled to mean 1."""
    w = w / w.mean()
    y = y.astype(np.float64)
    xb = np.column_stack([x, np.ones(len(x))])

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        z = xb @ beta
        value = np.sum(w * (np.logaddexp(0.0, z) - y * z)) + 0.5 * l2 * beta[:-1] @ beta[:-1]
        grad = xb.T @ (w * (_sigmoid(z) - y))
        grad[:-1] += l2 * beta[:-1]
        return float(value), grad

    beta = minimize(loss, np.zeros(xb.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 1000}).x
    return beta[:-1], float(beta[-1])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


def _vector(values: Sequence[float] | None, n: int, name: str, default: np.ndarray) -> np.ndarray:
    if values is None:
        return default.astype(np.float64)
    v = np.asarray(values, np.float64)
    if v.shape != (n,) or not np.all(np.isfinite(v)):
        raise InputError(name, f"{n} finite numbers (3 per component)", list(np.ravel(values)))
    return v
