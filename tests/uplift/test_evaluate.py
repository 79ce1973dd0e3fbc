"""Qini curve, coefficient, uplift at k and the bootstrap against brute-force references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qianmian.errors import InputError
from qianmian.uplift.evaluate import (
    bootstrap_qini,
    qini_coefficient,
    qini_curve,
    uplift_at,
)


def _brute_qini(score, y, t) -> float:
    """Average the Qini area over many random tie-breaks, one consumer at a time (a slow reference)."""
    n = len(y)
    rng = np.random.default_rng(1)
    areas = []
    for _ in range(1 if len(np.unique(score)) == n else 400):
        order = np.lexsort((rng.random(n), -score))
        g, yt, yc, nt, nc = [0.0], 0.0, 0.0, 0, 0
        for i in order:
            if t[i]:
                yt, nt = yt + y[i], nt + 1
            else:
                yc, nc = yc + y[i], nc + 1
            g.append((yt - (yc * nt / nc if nc else 0.0)) / n)
        x = np.arange(n + 1) / n
        areas.append(np.trapezoid(g, x) - g[-1] / 2)
    return float(np.mean(areas))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1), st.integers(0, 1)), min_size=2, max_size=12))
def test_qini_with_distinct_scores_equals_the_one_by_one_reference(rows):
    y = np.array([r[1] for r in rows], float)
    t = np.array([r[2] for r in rows], float)
    score = np.arange(len(rows), 0, -1, dtype=float) + np.array([r[0] for r in rows]) * 0.01
    assert qini_coefficient(score, y, t) == pytest.approx(_brute_qini(score, y, t), abs=1e-12)


def test_ties_count_as_a_random_order_within_the_block():
    rng = np.random.default_rng(0)
    n = 3000
    score = rng.integers(0, 4, n).astype(float)
    t = rng.integers(0, 2, n).astype(float)
    y = (rng.random(n) < 0.1 + 0.2 * t * (score == 3)).astype(float)
    broken = []
    for _ in range(200):  # the average over random tie-breaks, each with distinct scores
        order = np.lexsort((rng.random(n), -score))
        distinct = np.empty(n)
        distinct[order] = np.arange(n, 0, -1)
        broken.append(qini_coefficient(distinct, y, t))
    # the straight line across a block is that average up to the N_t/N_c ratio's curvature: small at this size
    assert qini_coefficient(score, y, t) == pytest.approx(np.mean(broken), abs=2e-4)
    assert abs(np.mean(broken)) > 5e-3


def test_perfect_ranking_beats_random_and_reversed_ranking_loses():
    # responders only among the treated with high x: ranking by x finds them first
    rng = np.random.default_rng(3)
    x = rng.random(4000)
    t = rng.integers(0, 2, 4000).astype(float)
    y = (rng.random(4000) < 0.1 + 0.3 * t * (x > 0.7)).astype(float)
    assert qini_coefficient(x, y, t) > 0.01
    assert qini_coefficient(-x, y, t) < -0.01
    assert abs(qini_coefficient(np.zeros(4000), y, t)) < 1e-12  # one tie block is the random line
    share, gain = qini_curve(x, y, t)
    assert share[0] == 0 and share[-1] == 1 and gain[0] == 0
    assert uplift_at(x, y, t, 0.3) == pytest.approx(y[(x > 0.7) & (t == 1)].mean() - y[(x > 0.7) & (t == 0)].mean(), abs=0.03)


def test_bootstrap_is_seeded_paired_and_brackets_the_estimate():
    rng = np.random.default_rng(4)
    x = rng.random(3000)
    t = rng.integers(0, 2, 3000).astype(float)
    y = (rng.random(3000) < 0.1 + 0.3 * t * (x > 0.7)).astype(float)
    scores = {"model": x, "noise": rng.random(3000)}
    a = bootstrap_qini(scores, y, t, baseline="noise", n_boot=100, random_state=7)
    b = bootstrap_qini(scores, y, t, baseline="noise", n_boot=100, random_state=7)
    assert a == b
    for iv in a.values():
        assert iv.low <= iv.estimate <= iv.high
    assert a["model"].low > 0 and a["model - noise"].low > 0
    assert a["model - noise"].estimate == pytest.approx(a["model"].estimate - a["noise"].estimate)


def test_bad_inputs_name_the_field():
    with pytest.raises(InputError, match="treatment"):
        qini_coefficient(np.ones(3), np.ones(3), np.array([0, 2, 1]))
    with pytest.raises(InputError, match="k: expected a fraction"):
        uplift_at(np.ones(3), np.ones(3), np.array([0, 1, 1]), 1.5)
    with pytest.raises(InputError, match="n_boot"):
        bootstrap_qini({"a": np.ones(3)}, np.ones(3), np.array([0, 1, 1]), n_boot=5)
