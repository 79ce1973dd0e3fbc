"""BG/NBD and Gamma-Gamma: the published CDNOW fits, identities between the formulas, and recovery
of known parameters from data simulated by the model itself."""

from __future__ import annotations

import numpy as np
import pytest

from qianmian.clv import models as M
from qianmian.clv.scores import collect_summary, fit_summary
from qianmian.errors import InputError

# Fader, Hardie & Lee (2005): CDNOW sample, 2,357 customers, calibration to 1997-09-30, weeks.
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "v": 15.45}


def test_cdnow_sample_reproduces_the_published_fits(cdnow_sample) -> None:
    summary = collect_summary(cdnow_sample, calibration_end="1997-09-30")
    assert len(summary) == 2357 and int((summary.frequency > 0).sum()) == 946
    model = fit_summary(summary, calibration_end="1997-09-30")
    for name, value in PUBLISHED_BGNBD.items():
        assert getattr(model.bgnbd, name) == pytest.approx(value, rel=0.01), name
    assert model.gamma_gamma is not None
    for name, value in PUBLISHED_GG.items():
        assert getattr(model.gamma_gamma, name) == pytest.approx(value, rel=0.02), name
    assert model.bgnbd.loglik == pytest.approx(-9582.4, abs=0.5)  # FHL 2005 report LL = -9582.4


def test_conditional_expectation_of_a_newcomer_is_the_unconditional_one() -> None:
    m = M.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)
    t = np.array([1.0, 10.0, 39.0, 78.0])
    zeros = np.zeros(4)
    got = M.expected_purchases(m, t, zeros, zeros, zeros)
    np.testing.assert_allclose(got, M.expected_purchases_new(m, t), rtol=1e-10)
    assert np.all(np.diff(got) > 0)


def test_p_alive_is_one_without_repeat_and_falls_with_silence() -> None:
    m = M.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)
    assert M.p_alive(m, np.array([0.0]), np.array([0.0]), np.array([30.0]))[0] == 1.0
    quiet = M.p_alive(m, np.full(3, 4.0), np.full(3, 10.0), np.array([10.0, 20.0, 40.0]))
    assert np.all(np.diff(quiet) < 0) and quiet[0] > 0.8 and quiet[-1] < 0.1  # 1 / (1 + a / (b + x - 1)) = 0.87 right after a purchase
    assert M.expected_purchases(m, 0.0, np.array([2.0]), np.array([5.0]), np.array([9.0]))[0] == 0.0


def test_expected_spend_shrinks_the_observed_mean_towards_the_population_mean() -> None:
    g = M.GammaGamma(p=6.25, q=3.74, v=15.45)
    m = np.array([10.0, 10.0, 100.0])
    x = np.array([1.0, 20.0, 20.0])
    got = M.expected_spend(g, x, m)
    weight = g.p * x / (g.p * x + g.q - 1)  # FHL 2005: a weighted mean of the population and observed means
    np.testing.assert_allclose(got, (1 - weight) * g.population_mean + weight * m)
    assert M.expected_spend(g, np.array([0.0]), np.array([0.0]))[0] == pytest.approx(g.population_mean)


def test_clv_without_discount_is_spend_times_expected_purchases() -> None:
    bg, gg = M.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426), M.GammaGamma(p=6.25, q=3.74, v=15.45)
    x, t_x, T, m = np.array([0.0, 3.0]), np.array([0.0, 20.0]), np.array([30.0, 30.0]), np.array([0.0, 25.0])
    plain = M.clv(bg, gg, x, t_x, T, m, horizon=52, step=4, discount_per_unit=0.0)
    expected = M.expected_spend(gg, x, m) * M.expected_purchases(bg, 52, x, t_x, T)
    np.testing.assert_allclose(plain, expected, rtol=1e-10)
    discounted = M.clv(bg, gg, x, t_x, T, m, horizon=52, step=4, discount_per_unit=0.002)
    assert np.all(discounted < plain) and np.all(discounted > plain / 1.002 ** 52)


def _simulate(rng: np.random.Generator, n: int, r: float, alpha: float, a: float, b: float, T: float):
    """Draw (x, t_x, T) from the BG/NBD story itself: exponential gaps, a coin after each purchase."""
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    x, t_x = np.zeros(n), np.zeros(n)
    t, alive = np.zeros(n), np.ones(n, bool)
    while alive.any():
        t = t + rng.exponential(1 / np.maximum(lam, 1e-12))
        bought = alive & (t <= T)
        x[bought] += 1
        t_x[bought] = t[bought]
        alive = bought & (rng.random(n) >= p)
    return x, t_x, np.full(n, T)


def test_fit_recovers_the_parameters_it_was_simulated_with() -> None:
    truth = {"r": 0.8, "alpha": 6.0, "a": 0.6, "b": 3.0}
    x, t_x, T = _simulate(np.random.default_rng(7), 10_000, T=52.0, **truth)
    fit = M.fit_bgnbd(x, t_x, T)
    for name, value in truth.items():
        assert getattr(fit, name) == pytest.approx(value, rel=0.15), name


def test_bad_input_names_the_field() -> None:
    with pytest.raises(InputError, match="recency"):
        M.fit_bgnbd(np.array([1.0, 2.0]), np.array([5.0, 9.0]), np.array([4.0, 9.0]))
    with pytest.raises(InputError, match="frequency"):
        M.fit_bgnbd(np.array([-1.0]), np.array([0.0]), np.array([1.0]))
    with pytest.raises(M.FitError, match="repeat purchases"):
        M.fit_bgnbd(np.zeros(10), np.zeros(10), np.ones(10))


def test_analytic_gradients_match_finite_differences() -> None:
    from scipy import optimize

    rng = np.random.default_rng(3)
    x, t_x, T = _simulate(rng, 500, r=0.8, alpha=6.0, a=0.6, b=3.0, T=52.0)
    w = rng.integers(1, 4, len(x)).astype(float)
    at = np.log([0.7, 5.0, 0.5, 2.5])
    numeric = optimize.approx_fprime(at, lambda lp: float(w @ M.bgnbd_loglik(np.exp(lp), x, t_x, T)), 1e-7)
    np.testing.assert_allclose(M.bgnbd_gradient(np.exp(at), x, t_x, T, w), numeric, rtol=1e-4)
    keep = x > 0
    m = rng.gamma(5.0, 6.0, int(keep.sum()))
    at = np.log([6.0, 3.5, 15.0])
    numeric = optimize.approx_fprime(at, lambda lp: float(w[keep] @ M.gamma_gamma_loglik(np.exp(lp), x[keep], m)), 1e-7)
    np.testing.assert_allclose(M.gamma_gamma_gradient(np.exp(at), x[keep], m, w[keep]), numeric, rtol=1e-4)
