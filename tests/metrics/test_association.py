"""Association: golden Groceries numbers, equality with mlxtend, a brute-force property, engine baskets."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qianmian.dates import Period
from qianmian.errors import InputError
from qianmian.metrics.association import (
    Baskets,
    association_rules,
    basket_pairs,
    frequent_itemsets,
    session_basket_pairs,
)


@pytest.fixture(scope="module")
def groceries(shared_data) -> Baskets:
    lines = (shared_data / "groceries" / "groceries.csv").read_text().splitlines()
    pairs = [(i, item.strip()) for i, line in enumerate(lines) for item in line.split(",")]
    basket, item = zip(*pairs)
    return Baskets.from_pairs(np.array(basket), np.array(item, dtype=object))


def test_groceries_whole_milk_golden_support(groceries):
    frame = frequent_itemsets(groceries, min_support=0.01).to_frame()
    milk = frame.loc[frame.itemsets == frozenset({"whole milk"}), "support"]
    assert groceries.n_baskets == 9835
    assert milk.iloc[0] == pytest.approx(0.2555, abs=1e-4)


def test_groceries_itemsets_equal_mlxtend(groceries):
    mlx = pytest.importorskip("mlxtend.frequent_patterns")
    ours = frequent_itemsets(groceries, min_support=0.01).to_frame()
    onehot = pd.DataFrame(groceries.matrix.toarray(), columns=groceries.items)
    ref = mlx.apriori(onehot, min_support=0.01, use_colnames=True)
    assert len(ours) == len(ref) == 333
    assert dict(zip(ours.itemsets, ours.support)) == dict(zip(ref.itemsets, ref.support))


def test_groceries_rules_equal_mlxtend(groceries):
    mlx = pytest.importorskip("mlxtend.frequent_patterns")
    fi = frequent_itemsets(groceries, min_support=0.01)
    ours = association_rules(fi, metric="confidence", min_threshold=0.2)
    onehot = pd.DataFrame(groceries.matrix.toarray(), columns=groceries.items)
    ref = mlx.association_rules(mlx.fpgrowth(onehot, min_support=0.01, use_colnames=True),
                                metric="confidence", min_threshold=0.2)
    both = ref.merge(ours, on=["antecedents", "consequents"], suffixes=("_ref", ""))
    assert len(both) == len(ref) == len(ours) > 0
    for col in ["support", "confidence", "lift", "leverage", "conviction"]:
        np.testing.assert_allclose(both[col], both[f"{col}_ref"], rtol=1e-12)
    np.testing.assert_allclose(both["antecedent_support"], both["antecedent support"], rtol=1e-12)


def _brute_force(rows: list[set[int]], min_support: float) -> dict[frozenset, float]:
    items = sorted(set().union(*rows))
    out = {}
    for k in range(1, len(items) + 1):
        for combo in itertools.combinations(items, k):
            s = sum(set(combo) <= r for r in rows) / len(rows)
            if s >= min_support:
                out[frozenset(combo)] = s
    return out


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.sets(st.integers(0, 7), min_size=1, max_size=6), min_size=1, max_size=40),
    min_support=st.sampled_from([0.05, 0.1, 0.2, 0.3, 0.5]),
)
def test_itemsets_equal_brute_force(rows, min_support):
    basket = [i for i, r in enumerate(rows) for _ in r]
    item = [x for r in rows for x in sorted(r)]
    got = frequent_itemsets(Baskets.from_pairs(basket, item), min_support=min_support).to_frame()
    assert dict(zip(got.itemsets, got.support)) == _brute_force(rows, min_support)


def test_max_len_and_rule_identities():
    b = Baskets.from_pairs([1, 1, 1, 2, 2, 3, 3, 3, 4], ["a", "b", "c", "a", "b", "a", "b", "c", "c"])
    fi = frequent_itemsets(b, min_support=0.5, max_len=2)
    frame = fi.to_frame()
    assert frame.length.max() == 2
    assert dict(zip(frame.itemsets, frame["count"])) == {
        frozenset("a"): 3, frozenset("b"): 3, frozenset("c"): 3, frozenset("ab"): 3,
        frozenset("ac"): 2, frozenset("bc"): 2,
    }
    rules = association_rules(fi, metric="lift", min_threshold=0.0)
    ab = rules[(rules.antecedents == frozenset("a")) & (rules.consequents == frozenset("b"))].iloc[0]
    assert ab.confidence == 1.0 and ab.lift == pytest.approx(4 / 3) and np.isinf(ab.conviction)


@pytest.mark.parametrize("bad", [0, -0.1, 1.5, "0.1"])
def test_min_support_is_checked(bad):
    b = Baskets.from_pairs([1], ["a"])
    with pytest.raises(InputError, match="min_support"):
        frequent_itemsets(b, min_support=bad)


def _orders() -> pd.DataFrame:
    rows = [
        ("e1", "u1", "milk", "dairy", "buy", "2024-01-01 10:00", "o1"),
        ("e2", "u1", "bread", "bakery", "buy", "2024-01-01 10:00", "o1"),
        ("e3", "u2", "milk", "dairy", "buy", "2024-01-02 09:00", "o2"),
        ("e4", "u2", "cheese", "dairy", "buy", "2024-01-02 09:00", "o2"),
        ("e5", "u3", "bread", "bakery", "buy", "2024-01-03 09:00", None),
        ("e6", "u3", "milk", "dairy", "view", "2024-01-03 09:05", None),
        ("e7", "u3", "bread", "bakery", "view", "2024-01-03 09:20", None),
        ("e8", "u3", "cheese", "dairy", "view", "2024-01-03 11:00", None),
        ("e9", "u1", "milk", "dairy", "buy", "2024-02-01 10:00", "o9"),
    ]
    df = pd.DataFrame(rows, columns=["event_id", "user_id", "item_id", "category_id", "behavior", "ts", "order_id"])
    df["ts"] = pd.to_datetime(df.ts)
    return df


def test_baskets_are_built_in_the_engine(store):
    store.append("events", _orders())
    ev = store.table("events")
    jan = Period(dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    orders = store.execute(basket_pairs(ev, period=jan, level="category"))
    got = orders.groupby("basket")["item"].apply(frozenset).to_dict()
    assert got == {"o1": frozenset({"dairy", "bakery"}), "o2": frozenset({"dairy"}), "e5": frozenset({"bakery"})}
    sessions = store.execute(session_basket_pairs(ev, period=jan, behaviors=("view", "buy")))
    by_session = sorted(map(sorted, sessions.groupby("basket")["item"].apply(list)))
    # u3: buy 09:00, views 09:05, 09:20 (same session), then 11:00 after a 100-minute gap
    assert ["bread", "milk"] in by_session and ["cheese"] in by_session
