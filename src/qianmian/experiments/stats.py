"""Experiment statistics from sufficient statistics (the maths never sees raw rows).

The store computes, per variant, counts, sums, sums of squares and cross sums; these frozen
dataclasses carry them and the functions below turn them into tests and intervals:

- `welch`: Welch's t-test on a mean metric; absolute lift with a t interval on the
  Welch–Satterthwaite degrees of freedom and relative lift with a delta-method interval;
- `two_proportions`: the pooled two-proportion z-test with Wald intervals;
- `ratio_comparison`: a ratio metric (e.g. average order value = revenue / orders) by the delta method;
- `cuped`: regression adjustment on a pre-period covariate (CUPED);
- `srm`: sample-ratio mismatch (chi-square goodness of fit, flagged at p < threshold, default
  `SRM_THRESHOLD` = 0.001; the `srm_threshold` setting changes it);
- `sequential_interval`: always-valid intervals (Howard et al. 2021 normal-mixture confidence
  sequences) that may be read at any time without inflating false positives;
- `holm`, `benjamini_hochberg`: multiple-testing corrections;
- `power`, `sample_size`, `minimum_detectable_effect`: planning.

One metric that cannot be computed (no data, zero variance, zero control mean) returns a
`Comparison` whose `error` names the reason instead of raising, so one bad metric never blanks a
report.

>>> c = welch(SampleMean(1000, 100, 100), SampleMean(1000, 130, 130))
>>> round(c.lift_rel, 2)
0.3
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize
from scipy import stats as sps

from qianmian.errors import InputError

ErrorCode = Literal["NO_UNITS", "ZERO_VARIANCE", "ZERO_CONTROL_MEAN", "ZERO_DENOMINATOR"]
Method = Literal["welch", "two_proportions", "ratio", "cuped"]


# -- sufficient statistics ------------------------------------------------------------------
@dataclass(frozen=True)
class SampleMean:
    """n units with values x_i: `sum` = Σx_i, `sum_squares` = Σx_i². Mean and sample variance (n−1)."""

    n: int
    sum: float
    sum_squares: float

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n > 0 else math.nan

    @property
    def variance(self) -> float:
        """Sample variance s² = (Σx² − (Σx)²/n) / (n − 1)."""
        if self.n < 2:
            return math.nan
        return max((self.sum_squares - self.sum * self.sum / self.n) / (self.n - 1), 0.0)


@dataclass(frozen=True)
class Proportion:
    """`successes` of `n` units (a 0/1 metric). Variance p(1 − p)."""

    n: int
    successes: float

    @property
    def mean(self) -> float:
        return self.successes / self.n if self.n > 0 else math.nan

    @property
    def variance(self) -> float:
        p = self.mean
        return p * (1.0 - p)

    def as_sample_mean(self) -> SampleMean:
        return SampleMean(self.n, self.successes, self.successes)


@dataclass(frozen=True)
class RatioStatistic:
    """A ratio of two per-unit sums, R = Σx / Σy (e.g. revenue / orders), over the same n units.

    `sum_products` = Σx_i·y_i. By the delta method,
    Var(R̂) ≈ (s_x² − 2R·s_xy + R²·s_y²) / (n·ȳ²).
    """

    numerator: SampleMean
    denominator: SampleMean
    sum_products: float

    @property
    def n(self) -> int:
        return self.numerator.n

    @property
    def mean(self) -> float:
        d = self.denominator.sum
        return self.numerator.sum / d if d != 0 else math.nan

    @property
    def covariance(self) -> float:
        n = self.n
        if n < 2:
            return math.nan
        return (self.sum_products - self.numerator.sum * self.denominator.sum / n) / (n - 1)

    @property
    def variance_of_mean(self) -> float:
        """Delta-method variance of R̂ (already divided by n)."""
        r, ybar = self.mean, self.denominator.mean
        num = self.numerator.variance - 2 * r * self.covariance + r * r * self.denominator.variance
        return max(num, 0.0) / (self.n * ybar * ybar)


@dataclass(frozen=True)
class CupedStatistic:
    """A mean metric y with a pre-period covariate x for the same units: `sum_products` = Σx_i·y_i."""

    post: SampleMean
    pre: SampleMean
    sum_products: float

    @property
    def n(self) -> int:
        return self.post.n

    @property
    def mean(self) -> float:
        return self.post.mean

    @property
    def covariance(self) -> float:
        n = self.n
        if n < 2:
            return math.nan
        return (self.sum_products - self.post.sum * self.pre.sum / n) / (n - 1)


# -- results --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Comparison:
    """Treatment against control. `lift_rel` = treatment / control − 1; intervals at 1 − alpha."""

    method: Method
    control_mean: float
    treatment_mean: float
    lift_abs: float
    lift_rel: float
    ci_abs: tuple[float, float]
    ci_rel: tuple[float, float]
    p_value: float
    se_abs: float
    se_rel: float
    df: float = math.inf
    alpha: float = 0.05
    error: ErrorCode | None = None

    @property
    def significant(self) -> bool:
        return self.error is None and self.p_value < self.alpha


NAN2 = (math.nan, math.nan)


def failed(method: Method, error: ErrorCode, control_mean: float, treatment_mean: float, alpha: float) -> Comparison:
    """A `Comparison` that carries an error code and NaN numbers instead of raising."""
    return Comparison(method, control_mean, treatment_mean, math.nan, math.nan, NAN2, NAN2, math.nan, math.nan, math.nan, math.nan, alpha, error)


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise InputError("alpha", "a number in (0, 1)", alpha)


def _critical(alpha: float, df: float) -> float:
    return float(sps.norm.ppf(1 - alpha / 2) if math.isinf(df) else sps.t.ppf(1 - alpha / 2, df))


def _p_value(stat: float, df: float) -> float:
    return float(2 * (sps.norm.sf(abs(stat)) if math.isinf(df) else sps.t.sf(abs(stat), df)))


def _relative(mt: float, mc: float, var_t: float, var_c: float) -> tuple[float, float]:
    """Relative lift mt/mc − 1 and its delta-method standard error.

    Var(m̂t/m̂c) ≈ Var(m̂t)/mc² + mt²·Var(m̂c)/mc⁴ (variances of the means; independent groups).
    """
    return mt / mc - 1.0, math.sqrt(var_t / mc**2 + mt**2 * var_c / mc**4)


def _compare(
    method: Method, mc: float, mt: float, var_c: float, var_t: float, df: float, alpha: float, se_test: float | None = None
) -> Comparison:
    """Shared tail: given the means and the variances of the means, build the Comparison."""
    diff = mt - mc
    se = math.sqrt(var_t + var_c)
    if mc == 0:
        return failed(method, "ZERO_CONTROL_MEAN", mc, mt, alpha)
    if se == 0 or (se_test is not None and se_test == 0):
        return failed(method, "ZERO_VARIANCE", mc, mt, alpha)
    crit = _critical(alpha, df)
    rel, se_rel = _relative(mt, mc, var_t, var_c)
    p = _p_value(diff / (se_test if se_test is not None else se), df)
    return Comparison(
        method, mc, mt, diff, rel, (diff - crit * se, diff + crit * se), (rel - crit * se_rel, rel + crit * se_rel),
        p, se, se_rel, df, alpha,
    )


# -- tests ----------------------------------------------------------------------------------
def welch_df(vt: float, nt: int, vc: float, nc: int) -> float:
    """Welch–Satterthwaite: (vt/nt + vc/nc)² / ((vt/nt)²/(nt−1) + (vc/nc)²/(nc−1))."""
    a, b = vt / nt, vc / nc
    den = a * a / (nt - 1) + b * b / (nc - 1)
    return (a + b) ** 2 / den if den > 0 else math.inf


def welch(control: SampleMean, treatment: SampleMean, *, alpha: float = 0.05) -> Comparison:
    """Welch's unequal-variance t-test of treatment − control.

    t = (x̄t − x̄c) / √(st²/nt + sc²/nc) with Welch–Satterthwaite df; the absolute interval is
    diff ± t(1−α/2, df)·se, the relative one (x̄t/x̄c − 1) ± t(1−α/2, df)·se_rel (delta method).
    Matches `scipy.stats.ttest_ind(equal_var=False)` and statsmodels `tconfint_diff(usevar="unequal")`.
    """
    _check_alpha(alpha)
    if control.n < 2 or treatment.n < 2:
        return failed("welch", "NO_UNITS", control.mean, treatment.mean, alpha)
    vc, vt = control.variance, treatment.variance
    df = welch_df(vt, treatment.n, vc, control.n)
    return _compare("welch", control.mean, treatment.mean, vc / control.n, vt / treatment.n, df, alpha)


def two_proportions(control: Proportion, treatment: Proportion, *, alpha: float = 0.05) -> Comparison:
    """Two-proportion z-test (pooled variance under H0) with Wald intervals.

    z = (p̂t − p̂c) / √(p̄(1−p̄)(1/nt + 1/nc)), p̄ the pooled rate; the interval uses the unpooled
    se √(p̂t(1−p̂t)/nt + p̂c(1−p̂c)/nc). Matches statsmodels `proportions_ztest` and
    `confint_proportions_2indep(method="wald")`.
    """
    _check_alpha(alpha)
    if control.n < 1 or treatment.n < 1:
        return failed("two_proportions", "NO_UNITS", control.mean, treatment.mean, alpha)
    pooled = (control.successes + treatment.successes) / (control.n + treatment.n)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / control.n + 1 / treatment.n))
    return _compare(
        "two_proportions", control.mean, treatment.mean,
        control.variance / control.n, treatment.variance / treatment.n, math.inf, alpha, se_test=se0,
    )


def ratio_comparison(control: RatioStatistic, treatment: RatioStatistic, *, alpha: float = 0.05) -> Comparison:
    """Compare two ratio metrics R = Σx/Σy (per-unit sums) with delta-method variances; z-based."""
    _check_alpha(alpha)
    if control.n < 2 or treatment.n < 2:
        return failed("ratio", "NO_UNITS", control.mean, treatment.mean, alpha)
    if control.denominator.sum == 0 or treatment.denominator.sum == 0:
        return failed("ratio", "ZERO_DENOMINATOR", control.mean, treatment.mean, alpha)
    return _compare("ratio", control.mean, treatment.mean, control.variance_of_mean, treatment.variance_of_mean, math.inf, alpha)


def cuped_theta(stats: list[CupedStatistic]) -> float:
    """The pooled within-variant slope θ = Σ_v cov_v(x, y)(n_v−1) / Σ_v var_v(x)(n_v−1).

    With this θ the CUPED difference equals the treatment coefficient of the OLS fit y ~ 1 + T + x.
    """
    num = sum(s.covariance * (s.n - 1) for s in stats)
    den = sum(s.pre.variance * (s.n - 1) for s in stats)
    return num / den if den > 0 else 0.0


def has_covariate(stats: Sequence[CupedStatistic]) -> bool:
    """True when the pre-period covariate varies within the variants (pooled variance > 0).

    Without that (no pre-period data, or the same value for every unit) θ is 0 and CUPED has
    nothing to remove: the report then uses the plain test, so its p-value does not change.
    """
    return sum(s.pre.variance * (s.n - 1) for s in stats if s.n >= 2) > 0


def pooled_pre_mean(stats: Sequence[CupedStatistic]) -> float:
    """x̄: the covariate's mean over every unit of `stats`."""
    n = sum(s.n for s in stats)
    return sum(s.pre.sum for s in stats) / n if n else 0.0


def cuped_adjusted(s: CupedStatistic, theta: float, xbar: float) -> tuple[float, float]:
    """(ȳ − θ(x̄_v − x̄), its variance (s_y² − 2θ·s_xy + θ²·s_x²) / n): one variant's CUPED mean."""
    var = s.post.variance - 2 * theta * s.covariance + theta * theta * s.pre.variance
    return s.post.mean - theta * (s.pre.mean - xbar), max(var, 0.0) / s.n


def cuped(
    control: CupedStatistic, treatment: CupedStatistic, *, alpha: float = 0.05, theta: float | None = None, xbar: float | None = None
) -> Comparison:
    """CUPED: compare ȳ_v − θ(x̄_v − x̄) with the pre-period covariate x removing variance.

    Var of each adjusted mean = (s_y² − 2θ·s_xy + θ²·s_x²) / n_v; the relative lift is taken on
    the adjusted means by the delta method; z-based. `theta` defaults to `cuped_theta` and `xbar`
    to the pooled covariate mean of the two groups (a report with several treatments passes both,
    taken over every variant, so each variant has one adjusted mean).
    """
    _check_alpha(alpha)
    if control.n < 2 or treatment.n < 2:
        return failed("cuped", "NO_UNITS", control.mean, treatment.mean, alpha)
    th = cuped_theta([control, treatment]) if theta is None else theta
    xb = pooled_pre_mean([control, treatment]) if xbar is None else xbar
    (mc, vc), (mt, vt) = cuped_adjusted(control, th, xb), cuped_adjusted(treatment, th, xb)
    return _compare("cuped", mc, mt, vc, vt, math.inf, alpha)


# -- sample-ratio mismatch --------------------------------------------------------------------
@dataclass(frozen=True)
class SRMResult:
    """Chi-square goodness of fit of the observed units per variant against the planned weights."""

    observed: tuple[int, ...]
    expected: tuple[float, ...]
    chi2: float
    p_value: float
    threshold: float

    @property
    def mismatch(self) -> bool:
        return self.p_value < self.threshold


SRM_THRESHOLD = 0.001
"""The default p-value below which a split is flagged: a check run on every report must rarely cry wolf."""


def srm(observed: list[int] | tuple[int, ...], weights: list[float] | tuple[float, ...], *, threshold: float = SRM_THRESHOLD) -> SRMResult:
    """χ² = Σ (O_v − E_v)² / E_v with E_v = N·w_v/Σw and k−1 degrees of freedom; flag at p < threshold."""
    if not 0.0 < threshold < 1.0:
        raise InputError("srm_threshold", "a p-value in (0, 1)", threshold)
    obs = np.asarray(observed, dtype=float)
    w = np.asarray(weights, dtype=float)
    if obs.shape != w.shape or obs.size < 2 or (w <= 0).any():
        raise InputError("weights", "one positive weight per observed variant (at least two)", list(weights))
    expected = obs.sum() * w / w.sum()
    if obs.sum() == 0:
        return SRMResult(tuple(int(o) for o in obs), tuple(expected), 0.0, 1.0, threshold)
    chi2 = float(((obs - expected) ** 2 / expected).sum())
    return SRMResult(tuple(int(o) for o in obs), tuple(float(e) for e in expected), chi2, float(sps.chi2.sf(chi2, obs.size - 1)), threshold)


# -- sequential testing -----------------------------------------------------------------------
def sequential_rho(alpha: float, tuning_n: float) -> float:
    """Mixture scale ρ that makes the confidence sequence tightest at `tuning_n` total units.

    ρ = √((−2 ln α + ln(−2 ln α + 1)) / n*)  (Howard, Ramdas, McAuliffe & Sekhon 2021, eq. 14).
    """
    la = -2 * math.log(alpha)
    return math.sqrt((la + math.log(la + 1)) / tuning_n)


def sequential_halfwidth(se: float, n_total: int, *, alpha: float = 0.05, tuning_n: float = 5000) -> float:
    """Half-width of the asymptotic normal-mixture confidence sequence (two-sided, level 1 − α).

    With σ̂² = se²·N the per-unit variance of the estimate and N the units so far,
    half-width = σ̂ · √( 2(Nρ² + 1) / (N²ρ²) · ln(√(Nρ² + 1) / α) ).
    Valid at every N simultaneously, so the experiment may be read ("peeked at") any number of times.
    """
    _check_alpha(alpha)
    rho2 = sequential_rho(alpha, tuning_n) ** 2
    n = float(n_total)
    s = se * math.sqrt(n)
    return s * math.sqrt(2 * (n * rho2 + 1) / (n * n * rho2) * math.log(math.sqrt(n * rho2 + 1) / alpha))


def sequential(c: Comparison, n_total: int, *, tuning_n: float = 5000) -> Comparison:
    """The same comparison with always-valid intervals; the p-value is the smallest α whose
    confidence sequence excludes 0 (found by bisection on the monotone half-width)."""
    if c.error is not None:
        return c
    hw_abs = sequential_halfwidth(c.se_abs, n_total, alpha=c.alpha, tuning_n=tuning_n)
    hw_rel = sequential_halfwidth(c.se_rel, n_total, alpha=c.alpha, tuning_n=tuning_n)
    p = _sequential_p(abs(c.lift_abs), c.se_abs, n_total, tuning_n)
    return Comparison(
        c.method, c.control_mean, c.treatment_mean, c.lift_abs, c.lift_rel,
        (c.lift_abs - hw_abs, c.lift_abs + hw_abs), (c.lift_rel - hw_rel, c.lift_rel + hw_rel),
        p, c.se_abs, c.se_rel, c.df, c.alpha, c.error,
    )


def _sequential_p(effect: float, se: float, n_total: int, tuning_n: float) -> float:
    def gap(a: float) -> float:
        return sequential_halfwidth(se, n_total, alpha=a, tuning_n=tuning_n) - effect

    lo, hi = 1e-300, 1 - 1e-12
    if gap(hi) >= 0:
        return 1.0
    if gap(lo) < 0:
        return 0.0
    return float(optimize.brentq(gap, lo, hi, xtol=1e-14))


# -- multiple testing -------------------------------------------------------------------------
def holm(p_values: list[float] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values: p̃_(i) = max_{j≤i} min(1, (m − j + 1)·p_(j))."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    m = p.size
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order]).clip(max=1.0)
    out = np.empty(m)
    out[order] = adj
    return out


def benjamini_hochberg(p_values: list[float] | np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values: p̃_(i) = min_{j≥i} min(1, m·p_(j)/j)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    m = p.size
    scaled = m * p[order] / np.arange(1, m + 1)
    adj = np.minimum.accumulate(scaled[::-1])[::-1].clip(max=1.0)
    out = np.empty(m)
    out[order] = adj
    return out


Correction = Literal["holm", "bh", "none"]


def adjust(p_values: list[float] | np.ndarray, method: Correction) -> np.ndarray:
    """Adjusted p-values by `method`; NaN p-values (failed metrics) stay NaN and are not counted."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.size, np.nan)
    ok = ~np.isnan(p)
    if method == "none":
        out[ok] = p[ok]
    elif method == "holm":
        out[ok] = holm(p[ok])
    elif method == "bh":
        out[ok] = benjamini_hochberg(p[ok])
    else:
        raise InputError("correction", "one of 'holm', 'bh', 'none'", method)
    return out


# -- planning ---------------------------------------------------------------------------------
def _split(weights: tuple[float, float]) -> tuple[float, float]:
    wc, wt = weights
    if wc <= 0 or wt <= 0:
        raise InputError("weights", "two positive weights (control, treatment)", weights)
    return wc / (wc + wt), wt / (wc + wt)


def power(effect: float, sd: float, n_total: float, *, alpha: float = 0.05, weights: tuple[float, float] = (1, 1)) -> float:
    """Power of the two-sided z-test to detect an absolute `effect` with per-unit std. dev. `sd`.

    se = sd·√(1/n_c + 1/n_t); power = Φ(|effect|/se − z₁₋α/₂) + Φ(−|effect|/se − z₁₋α/₂)
    (statsmodels `NormalIndPower`).
    """
    _check_alpha(alpha)
    fc, ft = _split(weights)
    se = sd * math.sqrt(1 / (fc * n_total) + 1 / (ft * n_total))
    z = sps.norm.ppf(1 - alpha / 2)
    d = abs(effect) / se
    return float(sps.norm.cdf(d - z) + sps.norm.cdf(-d - z))


def sample_size(
    effect: float, sd: float, *, alpha: float = 0.05, target_power: float = 0.8, weights: tuple[float, float] = (1, 1)
) -> float:
    """Total units (control + treatment, split by `weights`) for `power` to reach `target_power`."""
    if effect == 0 or sd <= 0:
        raise InputError("effect and sd", "a non-zero effect and a positive sd", (effect, sd))
    return float(optimize.brentq(lambda n: power(effect, sd, n, alpha=alpha, weights=weights) - target_power, 2.0, 1e15, xtol=1e-9, rtol=1e-14))


def minimum_detectable_effect(
    sd: float, n_total: float, *, alpha: float = 0.05, target_power: float = 0.8, weights: tuple[float, float] = (1, 1)
) -> float:
    """Smallest absolute effect the test detects with `target_power` given `n_total` units."""
    if sd <= 0 or n_total <= 2:
        raise InputError("sd and n_total", "sd > 0 and n_total > 2", (sd, n_total))
    return float(optimize.brentq(lambda e: power(e, sd, n_total, alpha=alpha, weights=weights) - target_power, 1e-12 * sd, 1e6 * sd, xtol=1e-15, rtol=1e-14))


# -- intervals for one group ------------------------------------------------------------------
def proportion_interval(p: Proportion, *, alpha: float = 0.05, method: Literal["wilson", "wald"] = "wilson") -> tuple[float, float]:
    """Interval for one rate. Wilson: (p̂ + z²/2n ± z√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)."""
    _check_alpha(alpha)
    if p.n <= 0:
        return NAN2
    z, phat, n = float(sps.norm.ppf(1 - alpha / 2)), p.mean, p.n
    if method == "wald":
        h = z * math.sqrt(phat * (1 - phat) / n)
        return phat - h, phat + h
    centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
    h = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - h, centre + h


def mean_interval(s: SampleMean, *, alpha: float = 0.05) -> tuple[float, float]:
    """x̄ ± t(1−α/2, n−1)·s/√n."""
    _check_alpha(alpha)
    if s.n < 2:
        return NAN2
    h = float(sps.t.ppf(1 - alpha / 2, s.n - 1)) * math.sqrt(s.variance / s.n)
    return s.mean - h, s.mean + h
