"""Training matrices come from one Ibis expression: the same numbers on DuckDB and Spark,
equal to a pandas reference; training and loading a bundle works on both engines."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from qianmian.dates import end_of
from qianmian.recommend.interactions import MatrixSpec
from qianmian.recommend.matrix import load_matrix

from . import synthetic

AS_OF = dt.date(2024, 3, 15)


def reference(events: pd.DataFrame, spec: MatrixSpec, level: str = "item") -> pd.Series:
    cutoff = pd.Timestamp(end_of(AS_OF))
    e = events[(events.ts < cutoff) & events.user_id.notna()].copy()
    e["w"] = e.behavior.map(spec.behavior_weights()).fillna(0.0)
    e = e[e.w > 0]
    age = (cutoff - e.ts).dt.total_seconds() / 86400
    e["v"] = e.w * (0.5 ** (age / spec.half_life_days) if spec.half_life_days else 1.0)
    col = "item_id" if level == "item" else "category_id"
    g = e.groupby(["user_id", col]).v
    out = g.max() if spec.aggregate == "max" else g.sum()
    return np.log1p(out) if spec.transform == "log1p" else out


SPECS = [
    (MatrixSpec(half_life_days=3.0), "item"),
    (MatrixSpec(view=0.5, buy=5.0, aggregate="max", half_life_days=10.0), "item"),
    (MatrixSpec(transform="log1p"), "category"),
]


@pytest.mark.cluster  # the training matrix aggregated on a cluster too
def test_matrix_matches_pandas_on_every_engine(store):
    events = synthetic.events(n_users=15, days=20, seed=2)
    store.append("events", events)
    store.append("users", pd.DataFrame({"user_id": ["u1", "u2"], "consent": [False, True]}))
    for spec, level in SPECS:
        m, strongest = load_matrix(store, as_of=AS_OF, spec=spec, level=level)
        ref = reference(events[events.user_id != "u1"], spec, level)  # u1 opted out: never profiled
        r = m.rows.index(ref.index.get_level_values(0).to_numpy())
        c = m.cols.index(ref.index.get_level_values(1).to_numpy())
        assert (r >= 0).all() and (c >= 0).all()
        np.testing.assert_allclose(np.asarray(m.values[r, c]).ravel(), ref.to_numpy(), rtol=1e-5)
        assert m.values.nnz == len(ref) and "u1" not in m.rows
        assert set(np.unique(strongest.data)) <= {1.0, 2.0, 3.0, 4.0}


def test_ids_categories_tags_and_consent_on_every_engine(store):
    from qianmian.consumers.consent import load_opted_out
    from qianmian.consumers.tags import load_tags
    from qianmian.recommend.ids import IdMap
    from qianmian.recommend.matrix import distinct_ids, item_categories

    store.append("events", synthetic.events(n_users=8, days=20, seed=4))
    store.append("items", synthetic.items().head(5))
    store.append("users", pd.DataFrame({"user_id": ["u3"], "consent": [False]}))
    store.append(
        "user_tags",
        pd.DataFrame(
            {
                "user_id": ["u1", "u1", "u2"],
                "tag": ["unscented", "unscented", "vegan"],
                "active": [True, False, None],
                "ts": pd.to_datetime(["2024-03-01", "2024-03-02", "2024-03-01"]),
            }
        ),
    )
    users, items, cats = distinct_ids(store, as_of=AS_OF)
    assert "u3" not in users and len(cats) == synthetic.N_CATEGORIES
    cat_of = item_categories(store, items, cats, cutoff=end_of(AS_OF))
    expected = cats.index([f"cat{i.split('-')[0][1:]}" for i in items.ids])
    np.testing.assert_array_equal(cat_of, expected)
    assert load_tags(store) == {}  # u1 removed unscented; u2's record has no `active`, which reads as a removal
    assert load_opted_out(store) == {"u3"}
    assert isinstance(users, IdMap)


def test_train_and_serve(tiny_store, tmp_path):
    from qianmian.recommend import RecommendService, train

    path = train(tiny_store, as_of=AS_OF, models_dir=tmp_path, holdout_days=5)
    assert path.name == "v0001"
    again = train(tiny_store, as_of=AS_OF, models_dir=tmp_path, holdout_days=None)
    assert again.name == "v0002"
    svc = RecommendService.load(tmp_path, store=tiny_store, version="v0001")
    assert svc.consumers.tags_of("u1") == ("budget", "unscented")
    recs = svc.recommend("u1", "home", 5)
    assert len(recs) == 5 and all(r.reason for r in recs)
    assert svc.bundle.cutoff == "2024-03-16T00:00:00"
    assert RecommendService.load(tmp_path).bundle.version == "v0002"


def test_ranker_learned_in_the_store_equals_the_ranker_learned_from_the_event_log(store, tmp_path):
    """`train` carves labelled days with Ibis on each engine; the evaluation harness carves them
    from an in-memory log (`Interactions.holdout`). Both must learn the same coefficients."""
    import json

    from qianmian.recommend import ModelSpec, train
    from qianmian.recommend.evaluate.methods import labelled_days
    from qianmian.recommend.ids import IdMap
    from qianmian.recommend.interactions import Interactions
    from qianmian.recommend.models import HistoryRecommender, PopularRecommender
    from qianmian.recommend.models.ranker import RankerRecommender

    events = synthetic.events(n_users=30, days=10, seed=3)
    store.append("events", events)
    specs = [{"half_life_days": 1.0}, {"half_life_days": 0.5, "aggregate": "max"}]
    parts = [ModelSpec("h1", "history", {}, MatrixSpec(half_life_days=1.0), level="category")]
    parts += [ModelSpec("rec", "history", {}, MatrixSpec(half_life_days=0.5, aggregate="max"), level="category")]
    parts += [ModelSpec("pop", "popular", {"count": "weight"}, MatrixSpec(), level="category")]
    options = {"candidates": synthetic.N_CATEGORIES, "l2": 1.0}  # every positive column: no ties to break
    ranker = ModelSpec("layers", "ranker", {"label_days": 3, **options}, parts=("h1", "rec", "pop"))
    as_of = dt.datetime(2024, 3, 9)
    path = train(store, as_of=as_of, models_dir=tmp_path, models=[*parts, ranker], holdout_days=None)
    learned = next(m for m in json.loads((path / "manifest.json").read_text())["models"] if m["name"] == "layers")

    e = events[events.ts < as_of]
    users, cats = IdMap.from_values(e.user_id), IdMap.from_values(e.category_id)
    weights = e.behavior.map(MatrixSpec().behavior_weights()).to_numpy(float)
    ages = ((pd.Timestamp(as_of) - e.ts).dt.total_seconds() / 86400).to_numpy()
    log = Interactions(users.index(e.user_id.to_numpy()), cats.index(e.category_id.to_numpy()), weights, ages, (len(users), len(cats)))
    ref = RankerRecommender(components=[HistoryRecommender(), HistoryRecommender(), PopularRecommender(count="weight")], **options)
    ref.learn(labelled_days(ref, log, [*specs, {}], 3))
    assert ref.coef[0] != 0 and not np.allclose(ref.coef, np.eye(len(ref.coef))[0])  # learned, not the default
    np.testing.assert_allclose(learned["params"]["coef"], ref.coef, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(learned["params"]["intercept"], ref.intercept, rtol=1e-3, atol=1e-4)
