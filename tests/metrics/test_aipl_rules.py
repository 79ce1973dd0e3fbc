"""AIPL rules, windows, scope and flow on a tiny hand-made store, on DuckDB and Spark."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qianmian.errors import InputError
from qianmian.metrics.aipl import AIPLRules, StageRule, aipl_report, aipl_stages
from qianmian.metrics.flow import flow_report

from .helpers import events_frame

COLUMNS = ("user_id", "behavior", "ts", "brand_id", "amount")
ROWS = [
    ("u1", "view", "2024-03-20 10:00", "b1", None),  # A
    ("u2", "view", "2024-03-20 10:00", "b1", None),
    ("u2", "cart", "2024-03-25 10:00", "b2", None),  # I (b2 only)
    ("u3", "buy", "2024-01-10 10:00", "b1", 50.0),  # P
    ("u4", "buy", "2024-01-10 10:00", "b1", 50.0),
    ("u4", "buy", "2024-02-10 10:00", "b1", 150.0),  # L: two days
    ("u5", "buy", "2024-03-01 10:00", "b1", 20.0),
    ("u5", "review", "2024-03-02 10:00", "b1", None),  # L: review
    ("u6", "view", "2024-02-01 10:00", "b1", None),  # A window starts 2024-03-01: absent
    ("u7", "buy", "2023-04-01 10:00", "b1", 10.0),  # P window starts 2023-04-02: absent
    ("u8", "cart", "2024-03-31 23:59", "b1", None),  # I, last minute of as_of
    ("u9", "cart", "2024-04-01 00:00", "b1", None),  # after as_of: absent
    ("u10", "buy", "2024-03-05 09:00", "b1", 30.0),
    ("u10", "buy", "2024-03-05 18:00", "b1", 30.0),  # P: two buys, one day
    (None, "view", "2024-03-20 10:00", "b1", None),  # anonymous: absent
]
AS_OF = dt.date(2024, 3, 31)


@pytest.fixture(scope="module")
def _filled(module_store):
    module_store.append("events", events_frame(ROWS, COLUMNS))
    return module_store


@pytest.fixture
def tiny(_filled):
    return _filled


def _stages(store, **kw) -> dict[str, str]:
    frame = store.execute(aipl_stages(store.table("events"), as_of=AS_OF, **kw))
    return dict(zip(frame.user_id, frame.stage))


def test_default_rules_windows_and_highest_stage(tiny):
    assert _stages(tiny) == {"u1": "A", "u2": "I", "u3": "P", "u4": "L", "u5": "L", "u8": "I", "u10": "P"}
    report = aipl_report(tiny, as_of=AS_OF)
    assert report.counts == {"A": 1, "I": 2, "P": 2, "L": 2} and report.total == 7


def test_brand_scope_and_custom_rules(tiny):
    assert _stages(tiny, brand="b1")["u2"] == "A"  # the cart was of brand b2
    big_buyers = AIPLRules(purchase=(StageRule(("buy",), 365, min_amount=100.0),), loyalty=(StageRule(("review",), 365),))
    got = _stages(tiny, rules=big_buyers)
    assert got["u4"] == "P" and got["u5"] == "L" and "u3" not in got and "u10" not in got
    short = AIPLRules(awareness=(StageRule(("view",), 5),))
    assert "u1" not in _stages(tiny, rules=short)  # the view was 11 days before as_of


def test_datetime_as_of_is_an_exclusive_instant(tiny):
    frame = tiny.execute(aipl_stages(tiny.table("events"), as_of=dt.datetime(2024, 3, 31, 12, 0)))
    assert "u8" not in set(frame.user_id)


def test_flow_counts_moves_and_churn(tiny):
    report = flow_report(tiny, start=dt.date(2024, 3, 3), end=AS_OF)
    # on 2024-03-03: u3 P, u4 L, u5 L, u7 P (u6's view is 31 days old); by 03-31 u7's buy
    # left the 365-day window, and u1 (A), u2 (I), u8 (I), u10 (P) arrived
    assert report.counts["P"]["none"] == 1 and report.counts["P"]["P"] == 1 and report.counts["L"]["L"] == 2
    assert report.counts["none"] == {"none": 0, "A": 1, "I": 2, "P": 1, "L": 0}
    assert report.new == 4 and report.churned == 1 and report.up == 0 and report.stayed == 3
    assert report.rates["P"]["none"] == pytest.approx(0.5)


@pytest.mark.parametrize("kwargs", [
    {"behaviors": ("teleport",), "window_days": 30},
    {"behaviors": ("view",), "window_days": 0},
    {"behaviors": ("buy",), "window_days": 30, "min_days": 0},
    {"behaviors": ("buy",), "window_days": 30, "min_amount": -1.0},
])
def test_stage_rules_are_checked(kwargs):
    with pytest.raises(InputError):
        StageRule(**kwargs)


behaviors = st.sampled_from(["view", "cart", "buy", "review", "return"])
events = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), behaviors, st.integers(0, 60 * 24 * 40)), max_size=25)


@settings(max_examples=15, deadline=None)
@given(rows=events, gap=st.integers(1, 35))
def test_one_pass_flow_equals_two_separate_snapshots(rows, gap):
    from qianmian.metrics.flow import aipl_transitions
    from qianmian.store import connect

    store = connect("duckdb://")
    t0 = dt.datetime(2024, 1, 1)
    frame = events_frame([(u, b, t0 + dt.timedelta(minutes=m)) for u, b, m in rows]) if rows else None
    if frame is not None:
        store.append("events", frame)
    rules = AIPLRules(awareness=(StageRule(("view",), 7),), interest=(StageRule(("cart",), 3),),
                      purchase=(StageRule(("buy",), 20),), loyalty=(StageRule(("buy",), 20, min_days=2),))
    start, end = dt.date(2024, 1, 10), dt.date(2024, 1, 10) + dt.timedelta(days=gap)
    ev = store.table("events")
    got = store.execute(aipl_transitions(ev, start=start, end=end, rules=rules))
    a = store.execute(aipl_stages(ev, as_of=start, rules=rules)).set_index("user_id").stage
    b = store.execute(aipl_stages(ev, as_of=end, rules=rules)).set_index("user_id").stage
    both = pd.concat([a.rename("from_stage"), b.rename("to_stage")], axis=1).fillna("none")
    assert dict(zip(got.user_id, zip(got.from_stage, got.to_stage))) == dict(zip(both.index, zip(both.from_stage, both.to_stage)))
