"""Meta-learners that estimate each consumer's uplift τ(x) = E[Y | x, treated] − E[Y | x, control]
from a randomized test, over scikit-learn's histogram gradient boosting.

- **T-learner** ("t"): one outcome model per arm, μ1 on the treated and μ0 on the controls;
  τ(x) = μ1(x) − μ0(x).
- **X-learner** ("x", Künzel et al. 2019): the T-learner's models, then imputed effects
  D1 = Y − μ0(x) on the treated and D0 = μ1(x) − Y on the controls, each regressed on x (τ1, τ0);
  τ(x) = e · τ0(x) + (1 − e) · τ1(x), with e the share treated (the propensity, constant in an RCT).

A 0/1 outcome gets classifiers (μ = predicted probability), any other a regressor. Models fit with
one thread: the machine is shared, and boosting on a few hundred thousand rows is quick anyway.

>>> import numpy as np
>>> rng = np.random.default_rng(0); X = rng.normal(size=(4000, 2)); t = rng.integers(0, 2, 4000)
>>> y = (rng.random(4000) < 0.1 + 0.2 * t * (X[:, 0] > 0)).astype(float)
>>> m = fit_learner(X, t, y, spec=LearnerSpec(kind="t"))
>>> tau = m.predict(X); bool(tau[X[:, 0] > 0].mean() > tau[X[:, 0] <= 0].mean() + 0.1)
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

import numpy as np
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from threadpoolctl import threadpool_limits

from qianmian.errors import InputError

Kind = Literal["t", "x"]
KINDS: tuple[Kind, ...] = ("t", "x")


@dataclass(frozen=True)
class LearnerSpec:
    """Which meta-learner and the size of its boosted trees (small by default: RCT data are noisy)."""

    kind: Kind = "x"
    max_iter: int = 60
    learning_rate: float = 0.1
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 100
    random_state: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError("learner", f"one of {list(KINDS)} (T- or X-learner)", self.kind)
        if not isinstance(self.max_iter, int) or not 1 <= self.max_iter <= 2000:
            raise InputError("max_iter", "a whole number from 1 to 2000", self.max_iter)
        if not isinstance(self.min_samples_leaf, int) or self.min_samples_leaf < 1:
            raise InputError("min_samples_leaf", "a whole number >= 1", self.min_samples_leaf)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def booster(self, *, binary: bool) -> Any:
        cls = HistGradientBoostingClassifier if binary else HistGradientBoostingRegressor
        return cls(
            max_iter=self.max_iter, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf, random_state=self.random_state,
        )


class UpliftModel(Protocol):
    def predict(self, X: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class _Outcome:
    """An outcome model: predicted probability (0/1 outcomes) or predicted value."""

    model: Any
    binary: bool

    def predict(self, X: np.ndarray) -> np.ndarray:
        with threadpool_limits(limits=1):
            return self.model.predict_proba(X)[:, 1] if self.binary else self.model.predict(X)


def _fit(spec: LearnerSpec, X: np.ndarray, y: np.ndarray, *, binary: bool) -> _Outcome:
    with threadpool_limits(limits=1):
        return _Outcome(spec.booster(binary=binary).fit(X, y), binary)


@dataclass(frozen=True)
class TLearner:
    mu1: _Outcome
    mu0: _Outcome

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.mu1.predict(X) - self.mu0.predict(X)


@dataclass(frozen=True)
class XLearner:
    tau1: _Outcome
    tau0: _Outcome
    propensity: float

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.propensity * self.tau0.predict(X) + (1 - self.propensity) * self.tau1.predict(X)


def is_binary(y: np.ndarray) -> bool:
    return bool(np.isin(np.unique(y), (0.0, 1.0)).all())


def fit_learner(X: np.ndarray, t: np.ndarray, y: np.ndarray, *, spec: LearnerSpec = LearnerSpec()) -> UpliftModel:
    """Fit the meta-learner of `spec` on features `X`, treatment `t` (0/1) and outcome `y`."""
    X, t, y = np.asarray(X, float), np.asarray(t), np.asarray(y, float)
    _check_arms(t, y)
    binary = is_binary(y)
    treated, control = t == 1, t == 0
    mu1 = _fit(spec, X[treated], y[treated], binary=binary)
    mu0 = _fit(spec, X[control], y[control], binary=binary)
    if spec.kind == "t":
        return TLearner(mu1, mu0)
    d1 = y[treated] - mu0.predict(X[treated])
    d0 = mu1.predict(X[control]) - y[control]
    tau1 = _fit(spec, X[treated], d1, binary=False)
    tau0 = _fit(spec, X[control], d0, binary=False)
    return XLearner(tau1, tau0, float(treated.mean()))


def _check_arms(t: np.ndarray, y: np.ndarray) -> None:
    if not np.isin(t, (0, 1)).all():
        raise InputError("treatment", "0 (control) or 1 (treated) on every row", np.unique(t)[:5].tolist())
    for arm, name in ((1, "treated"), (0, "control")):
        rows = y[t == arm]
        if len(rows) < 2:
            raise InputError("treatment", f"at least 2 {name} rows in the training split", len(rows))
        if is_binary(y) and len(np.unique(rows)) < 2:
            raise InputError("outcome", f"both 0 and 1 among the {name} training rows", np.unique(rows).tolist())
