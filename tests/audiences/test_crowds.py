"""Strategy crowds: k=6 on Online Retail II, reproducible; TGI and silhouette against brute force."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qianmian.audiences.crowds import CrowdSpec, _silhouette, _tgi, _weighted_ward, crowds
from qianmian.errors import InputError

AS_OF = dt.date(2010, 12, 9)


def test_six_crowds_on_online_retail(retail) -> None:
    first = crowds(retail, as_of=AS_OF, k=6, random_state=7)
    second = crowds(retail, as_of=AS_OF, k=6, random_state=7)
    assert first.to_dict() == second.to_dict()  # same result twice
    assert first.k == 6 and len(first.crowds) == 6
    assert first.micro_groups >= 100
    assert sum(c.size for c in first.crowds) == first.consumers
    assert sum(c.groups for c in first.crowds) == first.micro_groups
    assert len({c.name for c in first.crowds}) == 6  # suggested names are distinct
    assert [c.size for c in first.crowds] == sorted((c.size for c in first.crowds), reverse=True)
    for crowd in first.crowds:
        assert crowd.top_categories, crowd
        top = [t["category"] for t in crowd.top_categories]
        assert set(top) <= set(first.categories)
        assert top[0].lower() in crowd.name  # the suggested name comes from the top-TGI categories
        assert crowd.top_categories[0]["tgi"] >= crowd.top_categories[-1]["tgi"]
        assert abs(sum(crowd.aipl.values()) - 1.0) < 1e-9  # every clustered consumer bought: P or L
        assert crowd.value_mean > 0


def test_k_chosen_by_quality(retail) -> None:
    result = crowds(retail, as_of=AS_OF, spec=CrowdSpec(k_range=(2, 5)))
    assert set(result.quality_by_k) == {2, 3, 4, 5}
    assert result.quality == max(result.quality_by_k.values()) and result.k in result.quality_by_k


def test_bad_arguments() -> None:
    with pytest.raises(InputError, match="k"):
        crowds(None, as_of=AS_OF, k=1)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="k_range"):
        crowds(None, as_of=AS_OF, spec=CrowdSpec(k_range=(5, 2)))  # type: ignore[arg-type]


def test_tgi_worked_example() -> None:
    counts = np.array([[8.0, 2.0], [2.0, 8.0]])
    totals = np.array([10.0, 10.0])
    # each group's mix is 80/20 against an overall 50/50: TGI 160 and 40
    assert np.allclose(_tgi(counts, totals), [[160.0, 40.0], [40.0, 160.0]])
    # 10 pseudo-choices at the overall mix pull both halfway to 100
    assert np.allclose(_tgi(counts, totals, prior=10.0), [[130.0, 70.0], [70.0, 130.0]])


def _brute_silhouette(x: np.ndarray, labels: np.ndarray, w: np.ndarray) -> float:
    scores = []
    for i in range(len(x)):
        d = np.linalg.norm(x - x[i], axis=1)
        own = labels == labels[i]
        others = own.copy()
        others[i] = False
        a = (d[others] * w[others]).sum() / (w[own].sum() - w[i]) if others.any() else 0.0
        b = min((d[labels == c] * w[labels == c]).sum() / w[labels == c].sum() for c in set(labels) - {labels[i]})
        scores.append((b - a) / max(a, b) if max(a, b) > 0 else 0.0)
    return float(np.average(scores, weights=w))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(6, 25), st.integers(2, 4))
def test_silhouette_and_weighted_ward_agree_with_brute_force(seed: int, n: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    w = rng.integers(1, 50, size=n).astype(float)
    labels = _weighted_ward(x, w)(k)
    assert len(set(labels)) <= k
    from scipy.spatial.distance import pdist, squareform

    assert abs(_silhouette(squareform(pdist(x)), labels, w) - _brute_silhouette(x, labels, w)) < 1e-9
