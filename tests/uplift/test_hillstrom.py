"""Hillstrom's e-mail test: the uplift model's Qini on the test split beside random and RFM
targeting, with bootstrap intervals (docs/uplift.md reports these numbers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qianmian.uplift.fit import MODEL, RANDOM, RFM, FitOptions, fit_file
from qianmian.uplift.learners import LearnerSpec

from .conftest import CONTROL, hillstrom_columns


def test_womens_email_visit_model_beats_random_and_rfm_targeting(womens_visit, hillstrom):
    r = womens_visit.result
    assert r.n_train + r.n_test == 42_693 and r.left_out == 21_307  # Womens (21,387) + control (21,306); Mens left out
    assert r.n_test == pytest.approx(0.3 * 42_693, abs=1)
    raw = pd.read_csv(hillstrom)
    full_ate = raw.visit[raw.segment == "Womens E-Mail"].mean() - raw.visit[raw.segment == CONTROL].mean()
    assert round(full_ate * 100, 2) == 4.52  # the published 15.14% − 10.62%
    assert r.ate == pytest.approx(full_ate, abs=0.01)  # the test split's own estimate
    model, rfm, diff = r.qini[MODEL], r.qini[RFM], r.qini[f"{MODEL} - {RFM}"]
    assert model.low > 0  # better than random targeting (Qini 0)
    assert diff.low > 0  # and better than RFM targeting, on the same resamples
    assert rfm.low < 0 < rfm.high and r.qini[RANDOM].low < 0 < r.qini[RANDOM].high
    top30 = next(row for row in r.uplift_at_k if row["k"] == 0.3)
    assert top30[MODEL] > 1.5 * r.ate  # e-mailing the model's top 30% moves visits more than the average
    assert "better than random" in r.verdict[0] and "beats RFM" in r.verdict[1]


def test_every_consumer_is_scored_by_the_tested_model(womens_visit):
    assert len(womens_visit.ids) == 64_000 and len(set(womens_visit.ids)) == 64_000
    assert np.isfinite(womens_visit.uplift).all() and womens_visit.uplift.std() > 0


@pytest.mark.parametrize("outcome", ["visit", "conversion"])
def test_both_email_arms_pooled_against_control_are_reported_with_intervals(hillstrom, outcome):
    fitted = fit_file(str(hillstrom), options=FitOptions(n_boot=100, learner=LearnerSpec(kind="t")),
                      **hillstrom_columns(outcome, None))
    r = fitted.result
    assert r.arms == {"treated": ["Mens E-Mail", "Womens E-Mail"], "control": CONTROL}
    assert r.n_train + r.n_test == 64_000 and r.left_out == 0
    for name in (MODEL, RFM, RANDOM, f"{MODEL} - {RFM}"):
        iv = r.qini[name]
        assert iv.low <= iv.estimate <= iv.high and iv.level == 0.95
    if outcome == "visit":  # visits: a real gain over random; conversions (~1%) are too rare to rank
        assert r.qini[MODEL].low > 0
    else:
        assert r.qini[MODEL].low < 0 < r.qini[MODEL].high
