"""Lifecycle, RFM and FAST on a hand-checked store (DuckDB and Spark), and Online Retail II vs pandas."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from qianmian.errors import InputError
from qianmian.metrics.fast import FASTRules, fast_report
from qianmian.metrics.lifecycle import LifecycleRules, lifecycle_report, lifecycle_states
from qianmian.metrics.rfm import rfm_scores

from .helpers import events_frame

COLUMNS = ("user_id", "behavior", "ts", "order_id", "amount")
ROWS = [
    ("u1", "buy", "2024-06-25 10:00", "o1", 100.0), ("u1", "buy", "2024-01-10 10:00", "o2", 50.0),
    ("u2", "buy", "2024-06-20 10:00", "o3", 80.0),
    ("u3", "buy", "2024-04-15 10:00", "o4", 200.0), ("u3", "return", "2024-04-20 10:00", "c4", 50.0),
    ("u4", "buy", "2024-02-01 10:00", "o5", 30.0),
    ("u5", "buy", "2023-06-01 10:00", "o6", 20.0),
    ("u6", "view", "2024-06-29 10:00", None, None),  # never bought: not a customer
    ("u7", "buy", "2024-07-02 10:00", "o7", 10.0),  # after as_of
]
AS_OF = dt.date(2024, 6, 30)


@pytest.fixture(scope="module")
def _filled(module_store):
    module_store.append("events", events_frame(ROWS, COLUMNS))
    module_store.append("users", pd.DataFrame({"user_id": ["u1", "u3", "u9"], "member_since": pd.to_datetime(
        ["2024-01-01", "2024-03-01", "2024-07-15"])}))
    return module_store


@pytest.fixture
def shop(_filled):
    return _filled


def test_lifecycle_states_by_hand(shop):
    got = shop.execute(lifecycle_states(shop.table("events"), as_of=AS_OF)).set_index("user_id").sort_index()
    assert got.customer.to_dict() == {"u1": "returning", "u2": "new", "u3": "returning", "u4": "returning", "u5": "returning"}
    assert got.state.to_dict() == {"u1": "active", "u2": "active", "u3": "silent", "u4": "churning", "u5": "lost"}
    assert got.recency_days.to_dict() == {"u1": 5, "u2": 10, "u3": 76, "u4": 150, "u5": 395}
    assert got.frequency.to_dict() == {"u1": 2, "u2": 1, "u3": 1, "u4": 1, "u5": 1}
    assert got.monetary.to_dict() == {"u1": 150.0, "u2": 80.0, "u3": 150.0, "u4": 30.0, "u5": 20.0}
    report = lifecycle_report(shop, as_of=AS_OF)
    assert report.states == {"active": 2, "silent": 1, "churning": 1, "lost": 1}
    assert report.customers == {"new": 1, "returning": 4}


def test_rfm_scores_and_eight_cells_by_hand(shop):
    states = lifecycle_states(shop.table("events"), as_of=AS_OF)
    got = shop.execute(rfm_scores(states, bins=5, cells="eight")).set_index("user_id").sort_index()
    # recency 5, 10, 76, 150, 395 → R 5, 4, 3, 2, 1; frequency 2, 1, 1, 1, 1 → F 5, 1, 1, 1, 1;
    # monetary 150, 80, 150, 30, 20 → M 4, 3, 4, 2, 1 (ties share the lower rank)
    assert got.r.to_dict() == {"u1": 5, "u2": 4, "u3": 3, "u4": 2, "u5": 1}
    assert got.f.to_dict() == {"u1": 5, "u2": 1, "u3": 1, "u4": 1, "u5": 1}
    assert got.m.to_dict() == {"u1": 4, "u2": 3, "u3": 4, "u4": 2, "u5": 1}
    # means: R 3, F 1.8, M 2.8 → high when above
    assert got.cell.to_dict() == {
        "u1": "important_value", "u2": "important_development", "u3": "important_winback",
        "u4": "general_winback", "u5": "general_winback",
    }


def test_rfm_grid_cells(shop):
    states = lifecycle_states(shop.table("events"), as_of=AS_OF)
    got = shop.execute(rfm_scores(states, cells="grid")).set_index("user_id").cell.to_dict()
    assert got == {"u1": "champions", "u2": "promising", "u3": "about_to_sleep", "u4": "hibernating", "u5": "hibernating"}


def test_fast_by_hand(shop):
    r = fast_report(shop, as_of=AS_OF, since=dt.date(2024, 3, 31), rules=FASTRules(active_days=30))
    # 2024-03-31: u1 P, u4 P, u5 P → 2024-06-30: u1 L, u2 P, u3 P, u4 P, u6 A (viewed); u5's buy left the window
    assert (r.F, r.rose, r.could_rise) == (5, 1, 3) and pytest.approx(1 / 3) == r.A
    assert (r.S, r.s_rule, r.active_members, r.T) == (2, "members", 1, 0.5)  # u9 joined after as_of
    hv = fast_report(shop, as_of=AS_OF, since=dt.date(2024, 3, 31), rules=FASTRules(members="high_value", high_value_min_gmv=100))
    assert (hv.S, hv.s_rule) == (2, "high_value")  # u1 and u3 spent 150 in the last 365 days


def test_rules_are_checked():
    with pytest.raises(InputError):
        LifecycleRules(active_days=90, silent_days=30)
    with pytest.raises(InputError):
        FASTRules(members="vip")  # type: ignore[arg-type]


def test_online_retail_lifecycle_equals_pandas(retail, shared_data):
    raw = pd.read_csv(shared_data / "online_retail_ii" / "online_retail_ii_2009_2010.csv.gz",
                      dtype={"Invoice": str, "StockCode": str, "Customer ID": str})
    raw = raw[raw["Customer ID"].notna() & ~raw.Invoice.str.startswith("C")]
    raw["day"] = pd.to_datetime(raw.InvoiceDate).dt.normalize()
    last = raw.groupby("Customer ID").day.max()
    recency = (pd.Timestamp("2010-12-09") - last).dt.days
    expected = pd.cut(recency, [-1, 29, 89, 179, 10**6], labels=["active", "silent", "churning", "lost"])
    got = lifecycle_report(retail, as_of="2010-12-09")
    assert got.states == expected.value_counts().astype(int).to_dict()
    assert got.total == raw["Customer ID"].str.removesuffix(".0").nunique()
