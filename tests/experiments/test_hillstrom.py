"""Hillstrom MineThatData e-mail test (64,000 customers): golden visit rates and lifts with
intervals equal to scipy / statsmodels computed independently from the raw rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from qianmian.experiments import stats as st
from qianmian.experiments.reports import analyze_file, result_rows

CONTROL = "No E-Mail"


@pytest.fixture(scope="module")
def raw(hillstrom) -> pd.DataFrame:
    return pd.read_csv(hillstrom)


@pytest.fixture(scope="module")
def rows(hillstrom):
    res = analyze_file(hillstrom, variant_col="segment", control=CONTROL, metrics=["visit", "conversion", "spend"])
    return {(r["metric"], r["variant"]): r for r in result_rows(res)}


def test_published_visit_rates(rows):
    assert round(rows[("visit", "Mens E-Mail")]["mean"] * 100, 2) == 18.28
    assert round(rows[("visit", "Womens E-Mail")]["mean"] * 100, 2) == 15.14
    assert round(rows[("visit", CONTROL)]["mean"] * 100, 2) == 10.62
    assert rows[("visit", "Mens E-Mail")]["n"] + rows[("visit", "Womens E-Mail")]["n"] + rows[("visit", CONTROL)]["n"] == 64_000


@pytest.mark.parametrize("metric", ["visit", "conversion", "spend"])
@pytest.mark.parametrize("variant", ["Mens E-Mail", "Womens E-Mail"])
def test_lifts_and_intervals_equal_scipy_and_statsmodels(rows, raw, metric, variant):
    t = raw.loc[raw.segment == variant, metric].to_numpy(float)
    c = raw.loc[raw.segment == CONTROL, metric].to_numpy(float)
    got = rows[(metric, variant)]
    welch = sps.ttest_ind(t, c, equal_var=False)
    lo, hi = CompareMeans(DescrStatsW(t), DescrStatsW(c)).tconfint_diff(usevar="unequal")
    assert abs(got["lift_abs"] - (t.mean() - c.mean())) < 1e-9
    assert abs(got["ci_abs_low"] - lo) < 1e-9 and abs(got["ci_abs_high"] - hi) < 1e-9
    assert got["p_value"] == pytest.approx(welch.pvalue, rel=1e-9, abs=1e-300)
    # relative lift: delta method on the raw arrays, t critical value on the Welch df
    rel = t.mean() / c.mean() - 1
    se = math.sqrt(t.var(ddof=1) / len(t) / c.mean() ** 2 + t.mean() ** 2 * c.var(ddof=1) / len(c) / c.mean() ** 4)
    crit = sps.t.ppf(0.975, welch.df)
    assert abs(got["lift_rel"] - rel) < 1e-9
    assert abs(got["ci_low"] - (rel - crit * se)) < 1e-9 and abs(got["ci_high"] - (rel + crit * se)) < 1e-9


def test_visit_lift_as_two_proportions_equals_statsmodels(raw):
    def counts(seg):
        v = raw.loc[raw.segment == seg, "visit"]
        return int(v.sum()), len(v)

    (xc, nc), (xt, nt) = counts(CONTROL), counts("Mens E-Mail")
    got = st.two_proportions(st.Proportion(nc, xc), st.Proportion(nt, xt))
    _, p = proportions_ztest([xt, xc], [nt, nc])
    lo, hi = confint_proportions_2indep(xt, nt, xc, nc, method="wald", compare="diff")
    assert got.p_value == pytest.approx(p, rel=1e-9, abs=1e-300)
    assert abs(got.ci_abs[0] - lo) < 1e-9 and abs(got.ci_abs[1] - hi) < 1e-9


def test_cuped_on_spend_with_past_spend_equals_ols(hillstrom, raw):
    res = analyze_file(hillstrom, variant_col="segment", control=CONTROL, metrics=["spend"], covariate="history")
    got = {r["variant"]: r for r in result_rows(res)}
    sub = raw[raw.segment.isin([CONTROL, "Mens E-Mail"])]
    X = sm.add_constant(np.column_stack([(sub.segment == "Mens E-Mail").astype(float), sub.history]))
    ols = sm.OLS(sub.spend.to_numpy(float), X).fit()
    assert got["Mens E-Mail"]["method"] == "cuped"
    assert abs(got["Mens E-Mail"]["lift_abs"] - ols.params[1]) < 1e-9


def test_srm_on_the_randomized_thirds(raw):
    counts = raw.segment.value_counts()
    assert not st.srm([int(counts[s]) for s in (CONTROL, "Mens E-Mail", "Womens E-Mail")], [1, 1, 1]).mismatch
