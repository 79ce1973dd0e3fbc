"""BG/NBD and Gamma-Gamma: buy-till-you-die purchase and spend models, vectorised numpy + scipy.

Inputs are per-consumer sufficient statistics over a calibration window (arrays, one entry per
consumer), in one time unit (weeks in the literature):

    x    frequency: repeat purchases = purchase days - 1
    t_x  recency: time from the first to the last purchase day
    T    age: time from the first purchase day to the end of the calibration window
    m    monetary: mean value of the repeat purchase days (Gamma-Gamma only, x > 0)

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive a consumer
buys as Poisson(λ), λ ~ Gamma(r, α); after each purchase they drop out with probability p,
p ~ Beta(a, b). Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"): spend per purchase ~
Gamma(p, ν), ν ~ Gamma(q, v), independent of the purchase process.

The fits maximise the likelihood over the log-parameters (L-BFGS-B) on the distinct rows of the
statistics, weighted by how many consumers share them, so a million consumers cost what their
distinct (x, t_x, T) triples cost.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize, special

from qianmian.errors import InputError

Array = np.ndarray


class FitError(InputError):
    """The data cannot support a fit (too few consumers, no repeat purchases) or the optimum is not finite."""


@dataclass(frozen=True)
class BgNbd:
    """Fitted BG/NBD parameters: λ ~ Gamma(shape r, rate alpha), dropout p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float
    loglik: float = float("nan")
    n: int = 0

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma parameters: spend ~ Gamma(p, ν), ν ~ Gamma(q, v)."""

    p: float
    q: float
    v: float
    loglik: float = float("nan")
    n: int = 0

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @property
    def population_mean(self) -> float:
        """E[spend per purchase] for a consumer with no repeat purchase yet: p v / (q - 1)."""
        return self.p * self.v / (self.q - 1) if self.q > 1 else float("nan")


def check_rfm(x: Array, t_x: Array, T: Array) -> tuple[Array, Array, Array]:
    """The three arrays as floats, checked: same length, x >= 0, 0 <= t_x <= T, x = 0 ⇒ t_x = 0."""
    x, t_x, T = (np.asarray(v, dtype="float64") for v in (x, t_x, T))
    if not (x.shape == t_x.shape == T.shape) or x.ndim != 1:
        raise InputError("frequency, recency, T", "1-D arrays of one length", (x.shape, t_x.shape, T.shape))
    for name, v in (("frequency", x), ("recency", t_x), ("T", T)):
        if not np.all(np.isfinite(v)) or np.any(v < 0):
            raise InputError(name, "finite values >= 0", v[~np.isfinite(v) | (v < 0)][:3].tolist())
    if np.any(t_x > T + 1e-9):
        raise InputError("recency", "values <= T (the last purchase falls inside the window)", t_x[t_x > T + 1e-9][:3].tolist())
    return x, t_x, T


# -- BG/NBD --------------------------------------------------------------------------------------
def bgnbd_loglik(params: Array, x: Array, t_x: Array, T: Array) -> Array:
    """Per-row log-likelihood ln L(r, α, a, b | x, t_x, T) (Fader, Hardie & Lee 2005, eq. 6)."""
    r, alpha, a, b = params
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.full_like(x, -np.inf)
    xr = x[repeat]
    a4[repeat] = np.log(a) - np.log(b + xr - 1) - (r + xr) * np.log(alpha + t_x[repeat])
    return a1 + a2 + np.logaddexp(a3, a4)


def bgnbd_gradient(params: Array, x: Array, t_x: Array, T: Array, weights: Array) -> Array:
    """d(Σ w · ln L) / d(ln r, ln α, ln a, ln b): the analytic gradient (one pass, no finite differences)."""
    r, alpha, a, b = params
    repeat = x > 0
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.full_like(x, -np.inf)
    a4[repeat] = np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    share = special.expit(np.maximum(a4 - a3, -700.0))  # (no subnormal exp: it is slow) weight of the "dropped out after the last purchase" branch
    keep = 1 - share
    dg = special.digamma
    ab = dg(a + b) - dg(a + b + x)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_b = np.where(repeat, 1 / (b + x - 1), 0.0)
        d_r = dg(r + x) - dg(r) + np.log(alpha) - keep * np.log(alpha + T) - share * np.log(alpha + t_x)
    d_alpha = r / alpha - keep * (r + x) / (alpha + T) - share * (r + x) / (alpha + t_x)
    d_a = ab + share / a
    d_b = ab + dg(b + x) - dg(b) - share * inv_b
    return np.array([_wsum(weights, d_r) * r, _wsum(weights, d_alpha) * alpha, _wsum(weights, d_a) * a, _wsum(weights, d_b) * b])


def fit_bgnbd(x: Array, t_x: Array, T: Array) -> BgNbd:
    """Maximum-likelihood BG/NBD on per-consumer (frequency, recency, T).

    >>> fit_bgnbd(x, t_x, T)  # CDNOW sample, weeks  # doctest: +SKIP
    BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426, ...)
    """
    x, t_x, T = check_rfm(x, t_x, T)
    if len(x) < 4 or not np.any(x > 0):
        raise FitError("buy events", "at least 4 buyers, some with repeat purchases on later days (BG/NBD)",
                       f"{len(x)} buyers, {int(np.sum(x > 0))} with a repeat purchase")
    rows, weights = _distinct(np.column_stack([x, t_x, T]))
    ux, ut, uT = rows.T

    def neg(logp: Array) -> tuple[float, Array]:
        params = np.exp(logp)
        return -_wsum(weights, bgnbd_loglik(params, ux, ut, uT)), -bgnbd_gradient(params, ux, ut, uT, weights)

    start = np.log([1.0, max(float(np.mean(T)), 1e-3), 1.0, 1.0])
    best = _minimize(neg, start, jac=True)
    r, alpha, a, b = np.exp(best.x)
    return BgNbd(float(r), float(alpha), float(a), float(b), loglik=-float(best.fun), n=len(x))


def p_alive(m: BgNbd, x: Array, t_x: Array, T: Array) -> Array:
    """P(still alive | x, t_x, T) = 1 / (1 + [x > 0] · a / (b + x - 1) · ((α + T) / (α + t_x))^(r + x))."""
    x, t_x, T = (np.asarray(v, dtype="float64") for v in (x, t_x, T))
    repeat = x > 0
    odds = np.zeros_like(x)  # P(dead) / P(alive); a consumer without a repeat purchase cannot have dropped out
    xr = x[repeat]
    log_odds = np.log(m.a / (m.b + xr - 1)) + (m.r + xr) * (np.log(m.alpha + T[repeat]) - np.log(m.alpha + t_x[repeat]))
    odds[repeat] = np.exp(np.minimum(log_odds, 700.0))
    return 1.0 / (1.0 + odds)


def expected_purchases(m: BgNbd, t: float | Array, x: Array, t_x: Array, T: Array) -> Array:
    """E[Y(t) | x, t_x, T]: purchases expected in the next `t` time units (FHL 2005, eq. 10).

        (a + b + x - 1) / (a - 1) · [1 - ((α + T) / (α + T + t))^(r + x) · ₂F₁(r + x, b + x; a + b + x - 1; t / (α + T + t))]
        / (1 + [x > 0] · a / (b + x - 1) · ((α + T) / (α + t_x))^(r + x))
    """
    x, t_x, T = (np.asarray(v, dtype="float64") for v in (x, t_x, T))
    t = np.asarray(t, dtype="float64")
    r, alpha, a, b = m.r, m.alpha, m.a, m.b
    z = t / (alpha + T + t)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    head = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    out = (a + b + x - 1) / (a - 1) * (1 - head * hyp) * p_alive(m, x, t_x, T)
    return np.where(t > 0, out, 0.0)


def expected_purchases_new(m: BgNbd, t: float | Array) -> Array:
    """E[X(t)] for a consumer who just made a first purchase (FHL 2005, eq. 9)."""
    t = np.asarray(t, dtype="float64")
    r, alpha, a, b = m.r, m.alpha, m.a, m.b
    hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


# -- Gamma-Gamma ---------------------------------------------------------------------------------
def gamma_gamma_loglik(params: Array, x: Array, m: Array) -> Array:
    """Per-row log-likelihood of mean spend `m` over `x` repeat purchases (FHL 2005 "RFM and CLV")."""
    p, q, v = params
    px = p * x
    return (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(v)
            + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(x * m + v))


def gamma_gamma_gradient(params: Array, x: Array, m: Array, weights: Array) -> Array:
    """d(Σ w · ln L) / d(ln p, ln q, ln v) for the Gamma-Gamma likelihood."""
    p, q, v = params
    px = p * x
    dg = special.digamma
    both = dg(px + q)
    log_xmv = np.log(x * m + v)
    d_p = x * (both - dg(px) + np.log(m) + np.log(x) - log_xmv)
    d_q = both - dg(q) + np.log(v) - log_xmv
    d_v = q / v - (px + q) / (x * m + v)
    return np.array([_wsum(weights, d_p) * p, _wsum(weights, d_q) * q, _wsum(weights, d_v) * v])


def fit_gamma_gamma(x: Array, m: Array) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma on the consumers with a repeat purchase (x > 0, m > 0)."""
    x, m = np.asarray(x, dtype="float64"), np.asarray(m, dtype="float64")
    keep = (x > 0) & np.isfinite(m) & (m > 0)
    if keep.sum() < 3:
        raise FitError("buy events", "at least 3 buyers with repeat purchases and amounts > 0 (Gamma-Gamma)", f"{int(keep.sum())} such buyers")
    rows, weights = _distinct(np.column_stack([x[keep], m[keep]]))
    ux, um = rows.T

    def neg(logp: Array) -> tuple[float, Array]:
        params = np.exp(logp)
        return -_wsum(weights, gamma_gamma_loglik(params, ux, um)), -gamma_gamma_gradient(params, ux, um, weights)

    best = _minimize(neg, np.log([1.0, 1.0, max(float(np.mean(m[keep])), 1e-3)]), jac=True)
    p, q, v = np.exp(best.x)
    return GammaGamma(float(p), float(q), float(v), loglik=-float(best.fun), n=int(keep.sum()))


def expected_spend(g: GammaGamma, x: Array, m: Array) -> Array:
    """E[spend per purchase | x, m] = p (v + x m) / (p x + q - 1); the population mean when x = 0."""
    x, m = np.asarray(x, dtype="float64"), np.nan_to_num(np.asarray(m, dtype="float64"))
    return g.p * (g.v + x * m) / (g.p * x + g.q - 1)


# -- CLV -----------------------------------------------------------------------------------------
def clv(
    bg: BgNbd, gg: GammaGamma, x: Array, t_x: Array, T: Array, m: Array, *,
    horizon: float, step: float, discount_per_unit: float, margin: float = 1.0,
) -> Array:
    """Discounted value of the purchases expected within `horizon` time units.

        CLV = margin · E[spend] · Σ_k (E[Y(t_k)] - E[Y(t_{k-1})]) / (1 + d)^(t_k),  t_k = k · step

    `discount_per_unit` is the discount rate per time unit (an annual rate d_y gives
    (1 + d_y)^(unit / year) - 1). Purchases in a step are discounted to that step's end.
    """
    if horizon <= 0 or step <= 0:
        raise InputError("horizon", "a positive length of time", horizon)
    if discount_per_unit < 0:
        raise InputError("discount", "a rate >= 0", discount_per_unit)
    ends = np.minimum(np.arange(1, int(np.ceil(horizon / step - 1e-9)) + 1) * step, horizon)
    total = np.zeros(len(np.asarray(x)))
    previous = np.zeros_like(total)
    for t in ends:  # a handful of steps, each vectorised over every consumer
        now = expected_purchases(bg, t, x, t_x, T)
        total += (now - previous) / (1 + discount_per_unit) ** t
        previous = now
    return margin * expected_spend(gg, x, m) * total


# -- helpers -------------------------------------------------------------------------------------
def _wsum(weights: Array, values: Array) -> float:
    """Σ w·v without BLAS: a dot product wakes BLAS threads, which on a busy machine costs more than the sum."""
    return float(np.sum(weights * values))


def _distinct(rows: Array) -> tuple[Array, Array]:
    unique, counts = np.unique(rows, axis=0, return_counts=True)
    return unique, counts.astype("float64")


def _minimize(fun, start: Array, *, jac: bool = False) -> optimize.OptimizeResult:
    """L-BFGS-B on log-parameters with tight tolerances (`jac`: `fun` also returns the gradient)."""
    with np.errstate(all="ignore"):
        best = optimize.minimize(fun, start, method="L-BFGS-B", jac=jac, bounds=[(-15.0, 15.0)] * len(start),
                                 options={"ftol": 1e-14, "gtol": 1e-8, "maxiter": 2000})
    if not np.isfinite(best.fun):
        raise FitError("buy events", "data whose likelihood has a finite optimum", str(best.message))
    return best
