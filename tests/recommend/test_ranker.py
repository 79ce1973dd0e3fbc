"""The learned ranker: labelled days carved from a log, candidates, the logistic fit against a
reference implementation, a known answer (it learns which part predicts the target), persistence."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from qianmian.errors import InputError
from qianmian.recommend.base import topk
from qianmian.recommend.evaluate.metrics import bootstrap_se, evaluate_topk
from qianmian.recommend.interactions import Interactions
from qianmian.recommend.models import HistoryRecommender
from qianmian.recommend.models.ranker import RankerRecommender, candidate_mask, fit_logistic, pair_features
from qianmian.recommend.persist import load, save


def test_holdout_carves_the_day_before_the_cutoff_and_recounts_ages():
    ages = np.array([0.5, 1.0, 1.2, 2.0, 3.5])  # 1.0 = exactly the start of yesterday: in the window
    log = Interactions(np.zeros(5, np.int64), np.arange(5), np.ones(5), ages, (1, 5))
    before, window = log.holdout(1.0)
    assert list(window.item) == [0, 1] and np.allclose(window.age_days, [-0.5, 0.0])
    assert list(before.item) == [2, 3, 4] and np.allclose(before.age_days, [0.2, 1.0, 2.5])
    before2, window2 = log.holdout(2.0)
    assert list(window2.item) == [2, 3] and list(before2.item) == [4]
    with pytest.raises(InputError, match="days"):
        log.holdout(0.0)


def test_candidates_are_the_union_of_each_parts_top_positive_columns():
    a = np.array([[5.0, 0.0, 1.0, 0.0, 0.0]], np.float32)
    b = np.array([[0.0, 0.0, 0.0, 2.0, 3.0]], np.float32)
    np.testing.assert_array_equal(candidate_mask([a, b], 1), [[True, False, False, False, True]])
    np.testing.assert_array_equal(candidate_mask([a, b], 3), [[True, False, True, True, True]])  # zeros never


def test_pair_features_follow_the_formula():
    s = np.array([[4.0, 0.0, 1.0]], np.float32)
    got = pair_features([s], np.array([0, 0, 0]), np.array([0, 1, 2]))
    np.testing.assert_allclose(got, [[np.log1p(4), 1, 1], [0, 0, 0], [np.log1p(1), 0.25, 1]], rtol=1e-6)


def test_logistic_fit_matches_scikit_learn():
    linear = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = rng.random(400) < 1 / (1 + np.exp(-(x @ [1.5, -1.0, 0.0] - 0.5)))
    w = rng.uniform(0.2, 1.0, 400)
    coef, intercept = fit_logistic(x, y, w, l2=2.0)
    ref = linear.LogisticRegression(C=0.5, tol=1e-10, max_iter=10_000).fit(x, y, sample_weight=w / w.mean())
    np.testing.assert_allclose(coef, ref.coef_[0], atol=1e-4)
    assert abs(intercept - ref.intercept_[0]) < 1e-4


def _days(rng: np.random.Generator, n_users: int = 300, n_items: int = 40):
    """Part 0 is noise, part 1 knows the target (with noise): rows as history matrices."""
    target = (rng.random((n_users, n_items)) < 0.08).astype(np.float32)
    noise = rng.random((n_users, n_items)) * (rng.random((n_users, n_items)) < 0.5)
    signal = (target * 2 + rng.random((n_users, n_items))) * (rng.random((n_users, n_items)) < 0.7)
    return [sp.csr_matrix(noise.astype(np.float32)), sp.csr_matrix(signal.astype(np.float32))], sp.csr_matrix(target)


def _recall(model: RankerRecommender, rows: list[sp.csr_matrix], target: sp.csr_matrix) -> float:
    top = topk(model.score_each(rows), 5)
    return evaluate_topk(top, target, np.diff(target.indptr), target.shape[1]).recall


def test_the_ranker_learns_which_part_predicts_the_target(tmp_path):
    rng = np.random.default_rng(1)
    ranker = RankerRecommender(components=[HistoryRecommender(), HistoryRecommender()], candidates=10, l2=1.0, k=5)
    train_days = [_days(rng) for _ in range(3)]
    ranker.fit_each(train_days[0][0])
    rows, target = _days(rng)
    before = _recall(ranker, rows, target)  # unlearned: ranks by part 0, the noise
    ranker.learn((ranker.part_scores(r), t) for r, t in train_days)
    after = _recall(ranker, rows, target)
    assert after > 0.6 > 0.2 > before
    assert abs(ranker.coef[3]) > abs(ranker.coef[0])  # log-score of part 1 outweighs part 0's
    save(ranker, tmp_path / "ranker")
    again = load(tmp_path / "ranker")
    np.testing.assert_allclose(again.score_each(rows), ranker.score_each(rows), rtol=1e-5, atol=1e-6)


def test_non_candidates_score_below_every_candidate():
    ranker = RankerRecommender(components=[HistoryRecommender()], candidates=2)
    rows = sp.csr_matrix(np.array([[3.0, 0.0, 1.0, 2.0, 0.0]], np.float32))
    s = ranker.fit(rows).score(rows)[0]
    assert list(np.argsort(-s, kind="stable")[:2]) == [0, 3]
    assert s[[1, 2, 4]].max() < s[[0, 3]].min() and np.isfinite(s).all()


def test_bad_coefficients_name_the_parameter():
    with pytest.raises(InputError, match="coef"):
        RankerRecommender(components=[HistoryRecommender()], coef=[1.0])
    with pytest.raises(InputError, match="candidates"):
        RankerRecommender(components=[HistoryRecommender()], candidates=0)


def test_bootstrap_standard_error_is_close_to_the_formula():
    x = np.random.default_rng(2).random(2000)
    assert bootstrap_se(x) == pytest.approx(x.std(ddof=1) / np.sqrt(len(x)), rel=0.1)
    assert bootstrap_se(x, x) == pytest.approx(0.0, abs=1e-12)  # a ratio of identical columns


def test_the_served_layers_ranker_is_the_one_protocol_r2_measures():
    from qianmian.recommend import DEFAULT_MODELS
    from qianmian.recommend.evaluate.methods import RANKER_PARTS, SPEC_KEYS, our_methods, spec_of

    specs = {m.name: m for m in DEFAULT_MODELS}
    layers = specs["layers"]
    served = [(specs[p].kind, dict(specs[p].params), specs[p].matrix) for p in layers.parts]
    measured = [(kind, {k: v for k, v in c.items() if k not in SPEC_KEYS}, spec_of(c)) for kind, c in RANKER_PARTS]
    assert layers.kind == "ranker" and served == measured
    assert all(specs[p].level == "category" for p in layers.parts)
    grid = next(m for m in our_methods("R2") if m.name == "ranker").configs
    assert dict(layers.params) in [dict(c) for c in grid]  # one of the configs the validation day chooses from
    assert layers.parts[0] == "layer_history"  # the layers scene's repeat/new reasons read part 0
