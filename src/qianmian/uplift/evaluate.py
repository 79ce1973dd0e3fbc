"""How well a score ranks consumers by what a treatment changes: Qini curve, Qini coefficient,
uplift at k, and bootstrap intervals — all on a held-out randomized sample, in vectorized numpy.

Sort the test consumers by score, highest first. After the top n of N:

    gain(n) = Y_t(n) − Y_c(n) · N_t(n) / N_c(n)

where Y_t, Y_c are the summed outcomes of the treated and control consumers among the top n and
N_t, N_c their counts: the extra outcomes (visits, orders …) treating those n produced, estimated
from the controls ranked beside them. The **Qini curve** plots gain(n) / N against n / N, so both
axes are per consumer of the whole test population; random targeting is the straight line from
(0, 0) to (1, gain(N) / N). The **Qini coefficient** is the area between the curve and that line:
the extra outcome per consumer, averaged over every targeting depth, that ranking by the score buys
over random targeting of the same size (0 = no better than random). Consumers with equal scores
are one block, so ties count as a random order within the block (the curve is straight across it).

**Uplift at k** is mean(Y | treated) − mean(Y | control) among the top fraction k.

>>> import numpy as np
>>> y = np.array([1, 0, 0, 0, 1, 0, 0, 0]); t = np.array([1, 0, 1, 0, 0, 1, 1, 0])
>>> round(qini_coefficient(np.arange(8, 0, -1), y, t), 4)
0.0625
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from qianmian.errors import InputError

_CHUNK_CELLS = 4_000_000  # bootstrap replicates are computed in chunks of about this many cells


@dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile bootstrap interval at `level`."""

    estimate: float
    low: float
    high: float
    level: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _check(score: np.ndarray, y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    score, y, t = (np.asarray(a, dtype=float) for a in (score, y, t))
    if not (score.ndim == y.ndim == t.ndim == 1 and len(score) == len(y) == len(t)):
        raise InputError("score, outcome, treatment", "three 1-d arrays of one length", (score.shape, y.shape, t.shape))
    if len(y) == 0 or not np.isin(t, (0.0, 1.0)).all():
        raise InputError("treatment", "a non-empty array of 0 (control) and 1 (treated)", np.unique(t)[:5].tolist())
    if not np.isfinite(score).all():
        raise InputError("score", "finite numbers", "NaN or infinite values")
    return score, y, t


def _sorted(score: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Block ends (last index of each run of equal scores) and `arrays`, all ordered by score descending."""
    order = np.argsort(-score, kind="stable")
    s = score[order]
    ends = np.append(np.flatnonzero(np.diff(s)), len(s) - 1)
    return ends, [a[..., order] for a in arrays]


def _gain(yt: np.ndarray, yc: np.ndarray, nt: np.ndarray, nc: np.ndarray) -> np.ndarray:
    ratio = np.divide(nt, nc, out=np.zeros_like(nt, dtype=float), where=nc > 0)
    return yt - yc * ratio


def _curve_from_weights(ends: np.ndarray, y: np.ndarray, t: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x, gain/N) at 0 and at every block end, for weights `w` of shape (..., N) in score order."""
    total = w.sum(axis=-1, keepdims=True)
    def cum(a):
        return np.cumsum(a, axis=-1)[..., ends]
    gain = _gain(cum(w * y * t), cum(w * y * (1 - t)), cum(w * t), cum(w * (1 - t)))
    zero = np.zeros((*w.shape[:-1], 1))
    return np.concatenate([zero, cum(w) / total], -1), np.concatenate([zero, gain / total], -1)


def _area(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Area between the curve and the random line from (0, 0) to (1, g[-1])."""
    under = ((g[..., 1:] + g[..., :-1]) / 2 * np.diff(x, axis=-1)).sum(axis=-1)
    return under - g[..., -1] / 2


def qini_curve(score: np.ndarray, y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(share targeted, incremental outcome per consumer) at 0 and at the end of every tie block."""
    score, y, t = _check(score, y, t)
    ends, (ys, ts) = _sorted(score, y, t)
    return _curve_from_weights(ends, ys, ts, np.ones_like(ys))


def qini_coefficient(score: np.ndarray, y: np.ndarray, t: np.ndarray) -> float:
    """Area between the Qini curve of `score` and random targeting (see the module docstring)."""
    return float(_area(*qini_curve(score, y, t)))


def uplift_at(score: np.ndarray, y: np.ndarray, t: np.ndarray, k: float) -> float:
    """mean(y | treated) − mean(y | control) among the top fraction `k` by score (NaN if a group is empty)."""
    if not 0 < k <= 1:
        raise InputError("k", "a fraction in (0, 1]", k)
    score, y, t = _check(score, y, t)
    top = np.argsort(-score, kind="stable")[: max(1, round(k * len(score)))]
    yt, tt = y[top], t[top]
    if tt.sum() == 0 or tt.sum() == len(tt):
        return float("nan")
    return float(yt[tt == 1].mean() - yt[tt == 0].mean())


def bootstrap_qini(
    scores: Mapping[str, np.ndarray], y: np.ndarray, t: np.ndarray, *, baseline: str | None = None,
    n_boot: int = 200, level: float = 0.95, random_state: int = 0,
) -> dict[str, Interval]:
    """Qini coefficient of every score with a percentile interval from `n_boot` resamples of the
    test rows (the same resamples for every score, so they are paired); with `baseline`, also
    `"<name> - <baseline>"`: the difference of each other score from the baseline."""
    if not isinstance(n_boot, int) or n_boot < 20:
        raise InputError("n_boot", "a whole number >= 20", n_boot)
    if not 0 < level < 1:
        raise InputError("level", "a fraction in (0, 1)", level)
    if baseline is not None and baseline not in scores:
        raise InputError("baseline", f"one of {sorted(scores)}", baseline)
    y, t = np.asarray(y, float), np.asarray(t, float)
    draws = _boot_areas({name: np.asarray(s, float) for name, s in scores.items()}, y, t, n_boot, random_state)
    point = {name: qini_coefficient(s, y, t) for name, s in scores.items()}
    out = {name: _interval(point[name], d, level) for name, d in draws.items()}
    if baseline is not None:
        for name in scores:
            if name != baseline:
                out[f"{name} - {baseline}"] = _interval(point[name] - point[baseline], draws[name] - draws[baseline], level)
    return out


def _boot_areas(
    scores: Mapping[str, np.ndarray], y: np.ndarray, t: np.ndarray, n_boot: int, random_state: int
) -> dict[str, np.ndarray]:
    """Qini areas of each score over the same `n_boot` resamples (multinomial row counts), drawn in
    chunks so memory stays near `_CHUNK_CELLS` cells whatever the test size."""
    n = len(y)
    rng = np.random.default_rng(random_state)
    prepared = {}
    for name, s in scores.items():
        ends, (ys, ts, order) = _sorted(_check(s, y, t)[0], y, t, np.arange(n))
        prepared[name] = (ends, ys, ts, order)
    out: dict[str, list[np.ndarray]] = {name: [] for name in scores}
    step = max(1, _CHUNK_CELLS // n)
    for start in range(0, n_boot, step):
        weights = rng.multinomial(n, np.full(n, 1.0 / n), size=min(step, n_boot - start)).astype(np.float64)
        for name, (ends, ys, ts, order) in prepared.items():
            out[name].append(_area(*_curve_from_weights(ends, ys, ts, weights[:, order])))
    return {name: np.concatenate(parts) for name, parts in out.items()}


def _interval(estimate: float, draws: np.ndarray, level: float) -> Interval:
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(estimate), float(lo), float(hi), level)
