"""Open Bandit (ZOZOTOWN): click-through per policy and campaign, and the off-policy estimate of
the Thompson-sampling policy from the uniform-random log beside its on-policy value."""

from __future__ import annotations

import math

import ibis
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from qianmian.experiments import stats as st
from qianmian.experiments.offpolicy import offpolicy_estimate, on_policy_value, policy_from_log
from qianmian.store import connect

CAMPAIGNS = ["all", "men", "women"]


@pytest.fixture(scope="module")
def duck():
    s = connect("duckdb://", migrate=False)
    yield s
    s.close()


def _path(shared_data, policy, campaign):
    p = shared_data / "open_bandit" / policy / campaign / f"{campaign}.csv"
    if not p.is_file():
        pytest.skip(f"{p} missing")
    return p


@pytest.mark.parametrize("campaign", CAMPAIGNS)
def test_click_through_per_policy_with_intervals(shared_data, duck, campaign):
    values = {}
    for policy in ("random", "bts"):
        path = _path(shared_data, policy, campaign)
        got = on_policy_value(duck, duck.con.read_csv(str(path)))
        raw = pd.read_csv(path, usecols=["click"]).click.to_numpy()
        assert got.n == len(raw) == 10_000
        assert abs(got.value - raw.mean()) < 1e-12
        assert got.ci == pytest.approx(proportion_confint(raw.sum(), len(raw), method="wilson"), abs=1e-12)
        values[policy] = (int(raw.sum()), len(raw))
    (xr, nr), (xb, nb) = values["random"], values["bts"]
    cmp = st.two_proportions(st.Proportion(nr, xr), st.Proportion(nb, xb))
    assert abs(cmp.p_value - proportions_ztest([xb, xr], [nb, nr])[1]) < 1e-12


def _reference_ips(rnd: pd.DataFrame, bts: pd.DataFrame) -> tuple[float, float]:
    """IPS and SNIPS written directly in pandas, independent of the store path."""
    freq = bts.groupby(["position", "item_id"]).size() / bts.groupby("position").size()
    pi = freq.reindex(pd.MultiIndex.from_frame(rnd[["position", "item_id"]])).fillna(0.0).to_numpy()
    w = pi / rnd.propensity_score.to_numpy()
    r = rnd.click.to_numpy(float)
    return float((w * r).mean()), float((w * r).sum() / w.sum())


@pytest.mark.parametrize("campaign", CAMPAIGNS)
def test_offpolicy_estimate_of_thompson_from_the_random_log(shared_data, duck, campaign):
    rnd_path, bts_path = _path(shared_data, "random", campaign), _path(shared_data, "bts", campaign)
    rnd, bts = duck.con.read_csv(str(rnd_path)), duck.con.read_csv(str(bts_path))
    est = offpolicy_estimate(duck, rnd, policy_from_log(bts))
    on = on_policy_value(duck, bts)
    cols = ["item_id", "position", "click", "propensity_score"]
    ips, snips = _reference_ips(pd.read_csv(rnd_path, usecols=cols), pd.read_csv(bts_path, usecols=cols))
    assert abs(est.ips.value - ips) < 1e-12 and abs(est.snips.value - snips) < 1e-12
    # the estimate from the random log's traffic covers the Thompson policy's measured CTR
    assert est.ips.ci[0] <= on.value <= est.ips.ci[1]
    assert est.snips.ci[0] <= on.value <= est.snips.ci[1]
    assert 0.9 < est.mean_weight < 1.1  # the random log covers the Thompson policy's actions


def test_ips_is_unbiased_on_a_simulated_log(duck):
    """Uniform logging over 5 items; the target policy always shows item 4 (click rate 0.3)."""
    rng = np.random.default_rng(5)
    n, rates = 200_000, np.array([0.05, 0.1, 0.15, 0.2, 0.3])
    a = rng.integers(0, 5, n)
    log = ibis.memtable(pd.DataFrame({"position": 1, "item_id": a, "click": (rng.random(n) < rates[a]).astype(int), "propensity_score": 0.2}))
    policy = ibis.memtable(pd.DataFrame({"position": [1], "item_id": [4], "probability": [1.0]}))
    est = offpolicy_estimate(duck, log, policy)
    assert est.ips.ci[0] < 0.3 < est.ips.ci[1]
    assert est.snips.value == pytest.approx(0.3, abs=0.01)


def test_offpolicy_sums_on_every_engine(store):
    log = pd.DataFrame({"position": [1, 1, 2, 2], "item_id": ["a", "b", "a", "b"], "click": [1, 0, 0, 1], "propensity_score": [0.5, 0.5, 0.25, 0.75]})
    policy = pd.DataFrame({"position": [1, 2], "item_id": ["a", "b"], "probability": [1.0, 1.0]})
    est = offpolicy_estimate(store, ibis.memtable(log), ibis.memtable(policy))
    w = np.array([2.0, 0.0, 0.0, 1 / 0.75])
    r = log.click.to_numpy(float)
    assert est.ips.value == pytest.approx((w * r).mean(), abs=1e-12)
    assert est.snips.value == pytest.approx((w * r).sum() / w.sum(), abs=1e-12)
    assert est.effective_sample_size == pytest.approx(w.sum() ** 2 / (w * w).sum(), abs=1e-12)
    assert math.isfinite(est.snips.se)
