"""Algorithms against brute-force references: top-k, EASE, RP3beta, decay, metrics, diversity."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from qianmian.recommend.base import hit_matrix, keep_top_per_row, per_user_recall, topk
from qianmian.recommend.evaluate.metrics import evaluate_topk
from qianmian.recommend.ids import IdMap
from qianmian.recommend.interactions import Interactions
from qianmian.recommend.models import EASERecommender, RP3betaRecommender
from qianmian.recommend.models.blend import learn_weights
from qianmian.recommend.rules import diversify

finite = st.floats(-1e3, 1e3, allow_nan=False, width=32)


@given(arrays(np.float32, st.tuples(st.integers(1, 5), st.integers(1, 30)), elements=finite), st.integers(1, 40))
def test_topk_matches_a_full_sort(scores, k):
    top = topk(scores, k)
    for r in range(scores.shape[0]):
        expected = np.sort(scores[r])[::-1][:k]
        ids, vals = top.row(r)
        np.testing.assert_array_equal(vals, expected)
        np.testing.assert_array_equal(scores[r, ids], vals)
        assert len(set(ids.tolist())) == len(ids)
        ties = [i for i in range(len(vals) - 1) if vals[i] == vals[i + 1]]
        assert all(ids[i] < ids[i + 1] for i in ties)


def test_topk_never_returns_minus_infinity():
    s = np.array([[1.0, -np.inf, 0.5, -np.inf]], np.float32)
    ids, _ = topk(s, 4).row(0)
    assert list(ids) == [0, 2]


@given(arrays(np.float32, st.tuples(st.integers(1, 8), st.integers(1, 8)), elements=st.floats(0, 5, width=32)), st.integers(1, 4))
def test_keep_top_per_row_keeps_the_largest(dense, n):
    out = keep_top_per_row(sp.csr_matrix(dense), n).toarray()
    for r in range(dense.shape[0]):
        nz = dense[r][dense[r] > 0]
        assert (out[r] > 0).sum() == min(n, len(nz))
        if len(nz) > n:
            assert out[r][out[r] > 0].min() >= np.sort(nz)[-n]


def test_ease_equals_ridge_regression_of_each_item_on_the_others():
    rng = np.random.default_rng(3)
    x = (rng.random((40, 7)) < 0.3).astype(np.float32) * rng.integers(1, 4, (40, 7))
    lam = 2.5
    b = EASERecommender(l2=lam).fit(sp.csr_matrix(x)).B
    for j in range(7):
        others = [i for i in range(7) if i != j]
        xo = x[:, others].astype(np.float64)
        ref = np.linalg.solve(xo.T @ xo + lam * np.eye(6), xo.T @ x[:, j])
        np.testing.assert_allclose(b[others, j], ref, rtol=1e-4, atol=1e-5)
        assert b[j, j] == 0


def test_rp3beta_equals_the_dense_formula():
    rng = np.random.default_rng(5)
    x = (rng.random((30, 6)) < 0.4).astype(np.float64)
    x[0] = 1  # no empty column
    alpha, beta = 0.7, 0.4
    p_ui = (x / x.sum(1, keepdims=True).clip(1)) ** alpha
    p_iu = (x.T / x.T.sum(1, keepdims=True).clip(1)) ** alpha
    w = (p_iu @ p_ui) / (x > 0).sum(0) ** beta
    np.fill_diagonal(w, 0)
    got = RP3betaRecommender(alpha=alpha, beta=beta, neighbours=10).fit(sp.csr_matrix(x)).W.toarray()
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_decay_and_aggregates_follow_the_formula():
    log = Interactions(np.array([0, 0, 1]), np.array([1, 1, 0]), np.array([2.0, 4.0, 1.0]), np.array([0.0, 2.0, 1.0]), (2, 2))
    np.testing.assert_allclose(log.matrix().toarray(), [[0, 6], [1, 0]])
    np.testing.assert_allclose(log.matrix(half_life_days=1.0).toarray(), [[0, 2 + 4 / 4], [0.5, 0]])
    np.testing.assert_allclose(log.matrix(half_life_days=1.0, aggregate="max").toarray(), [[0, 2], [0.5, 0]])
    np.testing.assert_allclose(log.matrix(transform="log1p").toarray(), [[0, np.log1p(6)], [np.log1p(1), 0]])
    np.testing.assert_allclose(log.matrix(transform="binary").toarray(), [[0, 1], [1, 0]])


def test_metrics_on_a_worked_example():
    ids = np.array([[3, 1, 7], [5, 6, -1]])
    target = sp.csr_matrix(np.array([[0, 1, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0, 0]], np.float32))
    sizes = np.array([3, 1])  # user 0 has one more target item the model could never know
    from qianmian.recommend.base import TopK

    m = evaluate_topk(TopK(ids, np.zeros(ids.shape, np.float32)), target, sizes, n_train_items=10)
    assert m.recall == (2 / 3 + 0) / 2
    dcg = 1 / np.log2(3) + 1 / np.log2(4)
    idcg = 1 + 1 / np.log2(3) + 1 / np.log2(4)
    assert np.isclose(m.ndcg, (dcg / idcg + 0) / 2)
    assert m.hitrate == 0.5 and m.coverage == 5 / 10


@settings(max_examples=50)
@given(st.lists(st.integers(0, 4), min_size=0, max_size=25), st.integers(1, 3), st.integers(1, 30))
def test_diversify_matches_a_greedy_pass(cats, cap, k):
    categories = np.array(cats + [-1], np.int64)
    ids = np.arange(len(cats))
    got = diversify(ids, categories, cap, k)
    seen: dict[int, int] = {}
    ref = []
    for pos, c in enumerate(cats):
        if seen.get(c, 0) < cap:
            ref.append(pos)
            seen[c] = seen.get(c, 0) + 1
    assert list(got) == ref[:k]


def test_blend_weights_are_never_worse_than_the_best_single_model_on_the_split():
    rng = np.random.default_rng(0)
    target = sp.csr_matrix((rng.random((50, 40)) < 0.1).astype(np.float32))
    truth = target.toarray()
    good = truth + rng.normal(0, 0.8, truth.shape)
    other = truth + rng.normal(0, 1.2, truth.shape)
    sizes = np.diff(target.indptr)
    weights, blended = learn_weights([good, other], target, sizes, k=5)
    singles = [per_user_recall(hit_matrix(topk(s, 5).ids, target), sizes).mean() for s in (good, other)]
    assert blended >= max(singles) - 1e-9
    assert len(weights) == 2 and any(weights)


@given(st.lists(st.text(min_size=1, max_size=5), max_size=20))
def test_id_map_round_trip(values):
    m = IdMap.from_values(values)
    assert sorted(set(values)) == list(m.ids)
    idx = m.index(values)
    assert (idx >= 0).all() and list(m.external(idx)) == values
    assert m.get("\x00never") is None


def test_ease_on_the_most_popular_items_only():
    x = sp.random(200, 60, density=0.1, format="csr", random_state=1, dtype=np.float32)
    m = EASERecommender(l2=5.0, max_items=30).fit(x)
    users = np.diff(x.tocsc().indptr)
    assert len(m.items) == 30 and users[m.items].min() >= np.sort(users)[-30]
    ref = np.zeros((5, 60), np.float32)
    ref[:, m.items] = x[:5][:, m.items] @ m.B
    np.testing.assert_allclose(m.score(x[:5]), ref, atol=1e-5)
