"""The item-item models' co-occurrence product formed in row blocks equals the whole product."""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from qianmian.errors import InputError
from qianmian.recommend import base
from qianmian.recommend.models import CovisitRecommender, RP3betaRecommender, covisit, rp3beta

BLOCK = 2_000


@pytest.fixture(scope="module")
def taobao() -> sp.csr_matrix:
    """Shopper × item view/cart/buy counts of the bundled Taobao slice (84,440 events)."""
    with resources.as_file(resources.files("qianmian.demo") / "taobao_ub_84k.csv.gz") as path:
        df = pd.read_csv(path, header=None, names=["user", "item", "category", "kind", "ts"])
    users, items = pd.factorize(df["user"])[0], pd.factorize(df["item"])[0]
    x = sp.csr_matrix((np.ones(len(df), np.float32), (users, items)))
    x.sum_duplicates()
    return x


def _fit(model, module, x: sp.csr_matrix, block_rows: int, monkeypatch) -> sp.csr_matrix:
    with monkeypatch.context() as m:
        m.setattr(module, "top_product_per_row", functools.partial(base.top_product_per_row, block_rows=block_rows))
        w = sp.csr_matrix(model.fit(x).W)
    w.sort_indices()
    return w


@pytest.mark.parametrize(
    ("make", "module"),
    [
        (lambda: CovisitRecommender(normalize="cosine", neighbours=10), covisit),
        (lambda: CovisitRecommender(normalize="conditional", neighbours=10), covisit),
        (lambda: CovisitRecommender(normalize="count", neighbours=3, min_count=2), covisit),
        (lambda: RP3betaRecommender(alpha=0.8, beta=0.4, neighbours=10), rp3beta),
    ],
    ids=["covisit-cosine", "covisit-conditional", "covisit-count", "rp3beta"],
)
def test_blocked_product_gives_the_same_neighbours_scores_and_ties(taobao, make, module, monkeypatch):
    assert taobao.shape[1] > 10 * BLOCK  # many blocks are formed
    whole = _fit(make(), module, taobao, taobao.shape[1], monkeypatch)
    blocked = _fit(make(), module, taobao, BLOCK, monkeypatch)
    assert whole.nnz > 5_000  # real neighbours, not an empty model
    counts = np.diff(whole.indptr)
    assert counts.max() == make().neighbours and (counts == counts.max()).sum() > 100  # rows were pruned
    np.testing.assert_array_equal(blocked.indptr, whole.indptr)
    np.testing.assert_array_equal(blocked.indices, whole.indices)  # the same neighbours, ties included
    np.testing.assert_array_equal(blocked.data, whole.data)  # bit for bit
    assert blocked.dtype == whole.dtype == np.float32


def test_blocked_product_equals_pruning_the_dense_product():
    rng = np.random.default_rng(3)
    x = sp.csr_matrix(rng.poisson(0.3, (40, 25)).astype(np.float32))
    got = base.top_product_per_row(sp.csr_matrix(x.T), x, 4, block_rows=3).toarray()
    dense = (x.T @ x).toarray()
    np.fill_diagonal(dense, 0)
    for i in range(dense.shape[0]):
        kept = np.flatnonzero(got[i])
        assert len(kept) == min(4, np.count_nonzero(dense[i]))
        np.testing.assert_array_equal(got[i, kept], dense[i, kept])
        if len(kept):  # nothing left out is larger than the smallest kept
            assert np.delete(dense[i], kept).max(initial=0) <= got[i, kept].min()


def test_block_rows_must_be_positive():
    x = sp.csr_matrix(np.eye(3, dtype=np.float32))
    with pytest.raises(InputError, match="block_rows"):
        base.top_product_per_row(x, x, 2, block_rows=0)
