"""The consumer feature table: hand-checked values on both engines, and pandas on Online Retail II."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from qianmian.consumers.tags import set_tags
from qianmian.consumers.weights import BEHAVIOR_WEIGHTS
from qianmian.errors import InputError
from qianmian.features import FeatureSpec, category_features, consumer_features

AS_OF = dt.date(2024, 3, 31)
END = dt.datetime(2024, 4, 1)


def _at(days_ago: float) -> dt.datetime:
    return END - dt.timedelta(days=days_ago) + dt.timedelta(hours=1)


EVENTS = [
    ("u1", "view", "c1", 1, None, None),
    ("u1", "view", "c1", 10, None, None),
    ("u1", "view", "c2", 10, None, None),
    ("u1", "buy", "c1", 5, 100.0, "o1"),
    ("u1", "buy", "c2", 5, 50.0, "o1"),
    ("u1", "member_join", None, 200, None, None),
    ("u2", "buy", "c3", 100, 30.0, "o2"),
    ("u2", "return", "c3", 95, 10.0, "o2"),
    ("u2", "fav", "c3", 2, None, None),
    ("u3", "view", "c2", 400, None, None),
    ("u4", "view", "c1", -2, None, None),  # after as_of
    ("u6", "buy", "c1", 3, 70.0, "o6"),  # opted out
]
USERS = pd.DataFrame(
    {
        "user_id": ["u1", "u5", "u6"],
        "gender": ["female", None, "male"],
        "country": ["United Kingdom", "France", "Spain"],
        "traits": ['{"age_band": "25-34"}', None, None],
        "member_since": [None, dt.datetime(2023, 1, 1), None],
        "consent": [True, None, False],
    }
)


@pytest.fixture
def loaded(store):
    rows = [
        {"event_id": f"e{i}", "user_id": u, "behavior": b, "category_id": c, "ts": _at(d), "amount": a, "order_id": o}
        for i, (u, b, c, d, a, o) in enumerate(EVENTS)
    ]
    store.append("events", pd.DataFrame(rows))
    store.append("users", USERS)
    set_tags(store, "u1", ["vegan", "budget"], source="self", ts=dt.datetime(2024, 1, 1))
    return store


def test_hand_checked_values(loaded) -> None:
    features = loaded.execute(consumer_features(loaded, as_of=AS_OF)).set_index("user_id").sort_index()
    # u4 only acts after as_of, u6 opted out: neither is profiled
    assert list(features.index) == ["u1", "u2", "u3", "u5"]
    u1, u2, u3, u5 = (features.loc[u] for u in ["u1", "u2", "u3", "u5"])
    assert (u1.view_1d, u1.view_7d, u1.view_30d, u1.buy_7d, u1.buy_365d) == (1, 1, 3, 2, 2)
    assert (u1.frequency, u1.monetary, u1.recency_days, u1.tenure_days) == (1, 150.0, 4, 4)
    assert (u1.customer, u1.lifecycle, u1.aipl, bool(u1.member)) == ("new", "active", "P", True)
    assert (u1.top_category, u1.top_category_2, u1.tags) == ("c1", "c2", "budget,vegan")
    assert (u1.gender, u1.country, u1.traits) == ("female", "United Kingdom", '{"age_band": "25-34"}')
    assert (u2.fav_7d, u2.buy_365d, u2.frequency, u2.monetary, u2.recency_days) == (1, 1, 1, 20.0, 99)
    assert (u2.customer, u2.lifecycle, u2.aipl, u2.top_category) == ("returning", "churning", "P", "c3")
    assert (u3.view_365d, u3.frequency, u3.monetary) == (0, 0, 0.0)
    assert pd.isna(u3.lifecycle) and pd.isna(u3.aipl) and pd.isna(u3.top_category) and not bool(u3.member)
    assert bool(u5.member) and pd.isna(u5.first_seen) and u5.country == "France"


def test_parts_limit_the_columns(loaded) -> None:
    lean = consumer_features(loaded, as_of=AS_OF, parts=("lifecycle",))
    assert "lifecycle" in lean.columns and "aipl" not in lean.columns and "view_30d" not in lean.columns
    frame = loaded.execute(lean).set_index("user_id").sort_index()
    assert frame.loc["u2", "lifecycle"] == "churning" and frame.loc["u3", "frequency"] == 0
    with pytest.raises(InputError, match="parts"):
        consumer_features(loaded, as_of=AS_OF, parts=("everything",))  # type: ignore[arg-type]


def test_category_counts_are_a_long_table(loaded) -> None:
    store = loaded
    long = store.execute(category_features(store, as_of=AS_OF, spec=FeatureSpec(windows=(7, 30))))
    cells = {(r.user_id, r.category_id): (r.view_30d, r.buy_7d) for r in long.itertuples()}
    assert cells[("u1", "c1")] == (2, 1) and cells[("u1", "c2")] == (1, 1)
    assert ("u3", "c2") not in cells  # 400 days ago is outside the 30-day window


def test_bad_spec_is_an_input_error() -> None:
    with pytest.raises(InputError, match="behaviors"):
        FeatureSpec(behaviors=("pv",))
    with pytest.raises(InputError, match="windows"):
        FeatureSpec(windows=(0,))


def test_online_retail_matches_pandas(retail) -> None:
    as_of = dt.date(2010, 12, 9)
    end = pd.Timestamp("2010-12-10")
    got = retail.execute(consumer_features(retail, as_of=as_of)).set_index("user_id").sort_index()
    ev = retail.execute(retail.table("events").select("user_id", "behavior", "ts", "amount", "category_id"))
    ev = ev[ev.user_id.notna() & (ev.ts < end)]
    buys = ev[ev.behavior == "buy"]
    buy_30d = buys[buys.ts >= end - pd.Timedelta(days=30)].groupby("user_id").size()
    sign = ev.behavior.map({"buy": 1.0, "return": -1.0})
    spend = (ev.amount.fillna(0) * sign).groupby(ev.user_id).sum()
    spend = spend[spend.index.isin(buys.user_id)]  # monetary is defined for buyers; return-only ids get 0
    recent = ev[(ev.ts >= end - pd.Timedelta(days=365)) & (ev.category_id != "non-product")]  # the interest window, goods only
    weight = recent.assign(w=recent.behavior.map(BEHAVIOR_WEIGHTS).fillna(0.0)).groupby(["user_id", "category_id"]).w.sum()
    top = (weight[weight > 0].reset_index()  # returns weigh nothing: a return-only shopper has no top category
           .sort_values(["user_id", "w", "category_id"], ascending=[True, False, True]).drop_duplicates("user_id"))
    assert len(got) == 4383
    assert (got.buy_30d == buy_30d.reindex(got.index).fillna(0).astype(int)).all()
    assert got.monetary.sub(spend.reindex(got.index).fillna(0.0)).abs().max() < 1e-6
    assert (got.top_category.reindex(top.user_id) == top.set_index("user_id").category_id).all()
    assert got.top_category.notna().sum() == len(top)
