"""The statistics engine against scipy / statsmodels computed independently from raw rows."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as hst
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from qianmian.errors import InputError
from qianmian.experiments import stats as st


def mean_stat(x: np.ndarray) -> st.SampleMean:
    return st.SampleMean(len(x), float(x.sum()), float((x * x).sum()))


def delta_rel(t: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    """Relative lift and its delta-method se, written from the raw arrays (not from sums)."""
    mt, mc = t.mean(), c.mean()
    var = t.var(ddof=1) / len(t) / mc**2 + mt**2 * c.var(ddof=1) / len(c) / mc**4
    return mt / mc - 1, math.sqrt(var)


samples = hst.lists(hst.floats(-1e3, 1e3, allow_nan=False), min_size=3, max_size=60)


@settings(max_examples=60, deadline=None)
@given(samples, samples)
def test_welch_matches_scipy_and_statsmodels(a, b):
    c, t = np.array(a), np.array(b)
    if c.std() < 1e-3 or t.std() < 1e-3 or abs(c.mean()) < 1e-3:
        return
    got = st.welch(mean_stat(c), mean_stat(t))
    ref = sps.ttest_ind(t, c, equal_var=False)
    lo, hi = CompareMeans(DescrStatsW(t), DescrStatsW(c)).tconfint_diff(usevar="unequal")
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-12)
    assert got.ci_abs == pytest.approx((lo, hi), rel=1e-6, abs=1e-9)
    rel, se = delta_rel(t, c)
    assert got.lift_rel == pytest.approx(rel, rel=1e-9, abs=1e-9)
    assert got.se_rel == pytest.approx(se, rel=1e-6)


def test_welch_exact_on_fixed_sample():
    rng = np.random.default_rng(7)
    c, t = rng.normal(10, 3, 400), rng.normal(10.6, 4, 300)
    got = st.welch(mean_stat(c), mean_stat(t), alpha=0.1)
    ref = sps.ttest_ind(t, c, equal_var=False)
    lo, hi = CompareMeans(DescrStatsW(t), DescrStatsW(c)).tconfint_diff(alpha=0.1, usevar="unequal")
    assert abs(got.p_value - ref.pvalue) < 1e-12
    assert abs(got.ci_abs[0] - lo) < 1e-9 and abs(got.ci_abs[1] - hi) < 1e-9
    rel, se = delta_rel(t, c)
    crit = sps.t.ppf(0.95, ref.df)
    assert got.ci_rel == pytest.approx((rel - crit * se, rel + crit * se), abs=1e-12)


def test_two_proportions_matches_statsmodels():
    ct, nt, cc, nc = 312, 2000, 250, 2100
    got = st.two_proportions(st.Proportion(nc, cc), st.Proportion(nt, ct))
    _, p = proportions_ztest([ct, cc], [nt, nc])
    lo, hi = confint_proportions_2indep(ct, nt, cc, nc, method="wald", compare="diff")
    assert abs(got.p_value - p) < 1e-12
    assert abs(got.ci_abs[0] - lo) < 1e-12 and abs(got.ci_abs[1] - hi) < 1e-12
    pt, pc = ct / nt, cc / nc
    se = math.sqrt(pt * (1 - pt) / nt / pc**2 + pt**2 * pc * (1 - pc) / nc / pc**4)
    z = sps.norm.ppf(0.975)
    assert got.ci_rel == pytest.approx((pt / pc - 1 - z * se, pt / pc - 1 + z * se), abs=1e-12)


def test_ratio_delta_method_matches_raw_computation():
    rng = np.random.default_rng(3)

    def group(n: int, price: float) -> tuple[np.ndarray, np.ndarray]:
        orders = rng.poisson(1.2, n).astype(float)
        return orders * rng.gamma(2, price / 2, n), orders

    (xc, yc), (xt, yt) = group(3000, 50), group(2500, 56)

    def ratio(x, y):
        return st.RatioStatistic(mean_stat(x), mean_stat(y), float((x * y).sum()))

    def var_r(x, y):  # delta method written on the arrays
        r = x.sum() / y.sum()
        cov = np.cov(x, y, ddof=1)
        return (cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / (len(x) * y.mean() ** 2)

    got = st.ratio_comparison(ratio(xc, yc), ratio(xt, yt))
    rc, rt = xc.sum() / yc.sum(), xt.sum() / yt.sum()
    se = math.sqrt(var_r(xc, yc) + var_r(xt, yt))
    assert got.lift_abs == pytest.approx(rt - rc, rel=1e-12)
    assert got.se_abs == pytest.approx(se, rel=1e-9)
    assert got.p_value == pytest.approx(2 * sps.norm.sf(abs(rt - rc) / se), rel=1e-9)


def test_cuped_difference_equals_ols_treatment_coefficient():
    rng = np.random.default_rng(11)
    n = 4000
    treat = rng.random(n) < 0.3
    pre = rng.gamma(2, 20, n)
    post = 0.8 * pre + rng.normal(0, 10, n) + 3.0 * treat
    X = sm.add_constant(np.column_stack([treat.astype(float), pre]))
    ols = sm.OLS(post, X).fit()

    def cs(mask):
        y, x = post[mask], pre[mask]
        return st.CupedStatistic(mean_stat(y), mean_stat(x), float((x * y).sum()))

    got = st.cuped(cs(~treat), cs(treat))
    assert abs(got.lift_abs - ols.params[1]) < 1e-9
    plain = st.welch(mean_stat(post[~treat]), mean_stat(post[treat]))
    assert got.se_abs < 0.5 * plain.se_abs  # the covariate removes most of the variance


def test_srm_matches_scipy_and_flags_a_broken_split():
    ok = st.srm([19_950, 80_050], [2, 8])
    assert ok.p_value == pytest.approx(sps.chisquare([19_950, 80_050], [20_000, 80_000]).pvalue, rel=1e-12)
    assert not ok.mismatch
    broken = st.srm([21_000, 79_000], [2, 8])  # 1% of traffic leaked from control to test
    assert broken.mismatch and broken.p_value < 1e-10
    with pytest.raises(InputError):
        st.srm([1, 2, 3], [1, 1])


def test_holm_and_bh_match_statsmodels():
    p = np.array([0.01, 0.04, 0.03, 0.2, 0.001, 0.04, 0.5])
    assert st.holm(p) == pytest.approx(multipletests(p, method="holm")[1], abs=1e-15)
    assert st.benjamini_hochberg(p) == pytest.approx(multipletests(p, method="fdr_bh")[1], abs=1e-15)
    adj = st.adjust([0.01, math.nan, 0.04], "holm")
    assert math.isnan(adj[1]) and adj[0] == pytest.approx(0.02) and adj[2] == pytest.approx(0.04)


@settings(max_examples=40, deadline=None)
@given(hst.lists(hst.floats(0, 1), min_size=1, max_size=30))
def test_corrections_agree_with_statsmodels_on_any_p_values(ps):
    p = np.array(ps)
    assert st.holm(p) == pytest.approx(multipletests(p, method="holm")[1], abs=1e-12)
    assert st.benjamini_hochberg(p) == pytest.approx(multipletests(p, method="fdr_bh")[1], abs=1e-12)


def test_power_and_sample_size_match_statsmodels():
    # detect +10% on a 4% conversion rate with a 2:8 test:control split
    sd, effect = math.sqrt(0.04 * 0.96), 0.004
    ratio = 8 / 2  # statsmodels: nobs2 = ratio * nobs1 (nobs1 = test)
    n_total = 200_000
    ref = NormalIndPower().power(effect / sd, nobs1=n_total * 0.2, alpha=0.05, ratio=ratio)
    assert st.power(effect, sd, n_total, weights=(8, 2)) == pytest.approx(ref, abs=1e-12)
    need = st.sample_size(effect, sd, weights=(8, 2))
    ref_n1 = NormalIndPower().solve_power(effect / sd, nobs1=None, alpha=0.05, power=0.8, ratio=ratio)
    assert need * 0.2 == pytest.approx(ref_n1, rel=1e-6)
    mde = st.minimum_detectable_effect(sd, n_total, weights=(8, 2))
    ref_d = NormalIndPower().solve_power(None, nobs1=n_total * 0.2, alpha=0.05, power=0.8, ratio=ratio)
    assert mde / sd == pytest.approx(ref_d, rel=1e-4)  # statsmodels' own root finder stops early
    assert NormalIndPower().power(mde / sd, nobs1=n_total * 0.2, alpha=0.05, ratio=ratio) == pytest.approx(0.8, abs=1e-9)


def test_sequential_interval_is_wider_and_shrinks_with_n():
    c = st.welch(st.SampleMean(5000, 500, 500), st.SampleMean(5000, 560, 560))
    s = st.sequential(c, 10_000)
    assert s.ci_abs[0] < c.ci_abs[0] and s.ci_abs[1] > c.ci_abs[1]
    assert s.p_value > c.p_value
    widths = [st.sequential_halfwidth(1.0 / math.sqrt(n), n) for n in (1_000, 10_000, 100_000)]
    assert widths[0] > widths[1] > widths[2]
    # the p-value is where the always-valid interval just touches 0
    edge = st.sequential_halfwidth(s.se_abs, 10_000, alpha=s.p_value)
    assert edge == pytest.approx(abs(s.lift_abs), rel=1e-9)


def test_sequential_peeking_keeps_false_positives_below_alpha():
    """Under H0, peeking after every 200 units: naive 95% intervals exclude 0 at some look far more
    often than 5%; the confidence sequence does not."""
    rng = np.random.default_rng(2024)
    sims, looks, step = 400, 50, 200
    xa = rng.normal(0, 1, (sims, looks * step)).cumsum(axis=1)[:, step - 1 :: step]
    xb = rng.normal(0, 1, (sims, looks * step)).cumsum(axis=1)[:, step - 1 :: step]
    n = step * np.arange(1, looks + 1)
    diff, se = (xb - xa) / n, np.sqrt(2.0 / n)
    naive = (np.abs(diff) > 1.959964 * se).any(axis=1).mean()
    hw = np.array([st.sequential_halfwidth(s, 2 * k) for s, k in zip(se, n, strict=True)])
    always = (np.abs(diff) > hw).any(axis=1).mean()
    assert naive > 0.15
    assert always <= 0.05


def test_failed_metric_returns_an_error_code_not_an_exception():
    zero = st.SampleMean(100, 0.0, 0.0)
    assert st.welch(zero, st.SampleMean(100, 5, 5)).error == "ZERO_CONTROL_MEAN"
    assert st.welch(st.SampleMean(100, 100, 100), st.SampleMean(100, 100, 100)).error == "ZERO_VARIANCE"
    assert st.welch(st.SampleMean(1, 1, 1), st.SampleMean(100, 5, 5)).error == "NO_UNITS"
    with pytest.raises(InputError):
        st.welch(zero, zero, alpha=1.5)


def test_one_group_intervals_match_statsmodels():
    p = st.Proportion(10_000, 38)
    assert st.proportion_interval(p) == pytest.approx(proportion_confint(38, 10_000, method="wilson"), abs=1e-15)
    assert st.proportion_interval(p, method="wald") == pytest.approx(proportion_confint(38, 10_000, method="normal"), abs=1e-15)
    x = np.random.default_rng(1).gamma(2, 3, 500)
    assert st.mean_interval(mean_stat(x)) == pytest.approx(DescrStatsW(x).tconfint_mean(), abs=1e-9)
