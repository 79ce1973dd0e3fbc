"""One contract every recommender passes (after implicit's shared test mixin).

Tiny matrix with a known answer: two groups of items, {0, 1, 2} and {3, 4, 5}; shoppers buy inside
one group. A shopper who has only item 0 must get items 1 and 2 first; item 3's neighbours are 4, 5.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pytest
import scipy.sparse as sp

import qianmian.recommend.models as registry
from qianmian.errors import InputError
from qianmian.recommend.base import Recommender
from qianmian.recommend.models import MODELS, EASERecommender, HistoryRecommender, build
from qianmian.recommend.persist import load, save

KINDS = sorted(MODELS)
"""Every registered kind: a model added to `MODELS` is contract-tested without listing it here."""
NOT_BY_NEIGHBOURS = {"popular", "history"}
"""Kinds that rank by popularity or the shopper's own history, by design: no known neighbours."""


def make(kind: str) -> Recommender:
    return build(kind, MODELS[kind].example_params)


def test_every_recommender_of_the_models_package_is_registered():
    found = set()
    for info in pkgutil.iter_modules(registry.__path__):
        module = importlib.import_module(f"{registry.__name__}.{info.name}")
        found |= {
            cls for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, Recommender) and not inspect.isabstract(cls) and cls.__module__ == module.__name__
        }
    assert found == set(MODELS.values())
    assert all(MODELS[cls.kind] is cls for cls in found)


def groups_matrix() -> sp.csr_matrix:
    """20 shoppers: 10 buy within {0,1,2}, 10 within {3,4,5}; item 5 is a little less popular."""
    rows = []
    for u in range(10):
        rows.append([1, 1, 1 if u % 2 else 0, 0, 0, 0])
    for u in range(10):
        rows.append([0, 0, 0, 1, 1, 1 if u % 3 else 0])
    return sp.csr_matrix(np.array(rows, dtype=np.float32))


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


def fitted(kind: str) -> Recommender:
    return make(kind).fit(groups_matrix())


def test_scores_have_one_row_per_user_and_one_column_per_item(kind):
    m = fitted(kind)
    x = groups_matrix()
    assert m.n_items == 6
    assert np.asarray(m.score(x[:3], np.arange(3))).shape == (3, 6)
    top = m.recommend(x[:4], userids=np.arange(4), k=3)
    assert top.ids.shape == (4, 3) and top.scores.shape == (4, 3)
    assert np.all(np.diff(top.scores, axis=1)[np.isfinite(top.scores[:, 1:])] <= 1e-6)


def test_seen_items_are_excluded_unless_asked(kind):
    m = fitted(kind)
    x = groups_matrix()
    top = m.recommend(x[:5], userids=np.arange(5), k=6, exclude_seen=True)
    for r in range(5):
        ids, _ = top.row(r)
        assert not set(ids) & set(x[r].indices)
    kept = m.recommend(x[:1], userids=np.arange(1), k=6, exclude_seen=False)
    assert len(kept.row(0)[0]) == 6


def test_blocked_items_are_never_recommended(kind):
    m = fitted(kind)
    blocked = np.array([False, True, False, False, True, False])
    top = m.recommend(groups_matrix()[:6], userids=np.arange(6), k=6, blocked=blocked, exclude_seen=False)
    assert not np.isin(top.ids, [1, 4]).any()
    sim = m.similar_items(0, k=5, blocked=blocked)
    assert not np.isin(sim.ids, [0, 1, 4]).any()


def test_fitting_twice_gives_the_same_scores(kind):
    x = groups_matrix()
    a, b = make(kind).fit(x), make(kind).fit(x)
    np.testing.assert_allclose(a.score(x, np.arange(20)), b.score(x, np.arange(20)), rtol=1e-5, atol=1e-6)


def test_save_and_load_round_trip(kind, tmp_path):
    m = fitted(kind)
    x = groups_matrix()
    path = save(m, tmp_path / kind)
    assert path.suffix == ".npz" and (tmp_path / f"{kind}.json").is_file()
    again = load(tmp_path / kind)
    assert type(again) is type(m) and again.params() == m.params()
    np.testing.assert_allclose(again.score(x[:5], np.arange(5)), m.score(x[:5], np.arange(5)), rtol=1e-5, atol=1e-6)
    with np.load(path, allow_pickle=False) as z:  # loadable without pickle
        assert len(z.files) > 0


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in NOT_BY_NEIGHBOURS])
def test_known_answer_on_two_groups(kind):
    m = fitted(kind)
    only_item_0 = sp.csr_matrix(np.array([[1, 0, 0, 0, 0, 0]], dtype=np.float32))
    ids, _ = m.recommend(only_item_0, k=2).row(0)
    assert set(ids) == {1, 2}
    neighbours, _ = m.similar_items(3, k=2).row(0)
    assert set(neighbours) == {4, 5}


def test_popular_ranks_by_shoppers():
    m = fitted("popular")
    ids, _ = m.recommend(sp.csr_matrix((1, 6), dtype=np.float32), k=6).row(0)
    assert list(ids[:2]) in ([0, 1], [3, 4], [0, 3], [1, 3], [0, 4], [1, 4])
    assert ids[-1] == 2  # the least popular item comes last (5 shoppers)


def test_history_ranks_own_items_by_weight():
    m = HistoryRecommender().fit(groups_matrix())
    row = sp.csr_matrix(np.array([[0.5, 0, 3.0, 0, 1.0, 0]], dtype=np.float32))
    ids, _ = m.recommend(row, k=3, exclude_seen=False).row(0)
    assert list(ids) == [2, 4, 0]


def test_errors_name_the_parameter():
    with pytest.raises(InputError, match="l2"):
        EASERecommender(l2=0)
    with pytest.raises(InputError, match="user_items"):
        fitted("ease").score(sp.csr_matrix((1, 4), dtype=np.float32))
    with pytest.raises(InputError, match="k"):
        fitted("ease").recommend(groups_matrix()[:1], k=0)
    with pytest.raises(InputError, match="model"):
        EASERecommender().recommend(groups_matrix()[:1])
