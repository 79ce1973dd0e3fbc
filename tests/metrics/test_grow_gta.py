"""GROW (LMDI) and GTA: worked examples, a property, engine statistics, and Online Retail II must-show."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qianmian.dates import Period
from qianmian.errors import InputError
from qianmian.metrics.aipl import aipl_report
from qianmian.metrics.grow import grow_inputs, grow_report, lmdi, logmean
from qianmian.metrics.gta import GTA_STAGES, StageRate, gta_report, plan

from .helpers import events_frame, run_sql

H1 = Period(dt.date(2010, 1, 1), dt.date(2010, 6, 30))
H2 = Period(dt.date(2010, 7, 1), dt.date(2010, 12, 31))
Q4 = Period(dt.date(2010, 10, 1), dt.date(2010, 12, 31))


def _stats(rows: dict[str, tuple]) -> pd.DataFrame:
    cols = ["gmv_0", "buyers_0", "orders_0", "gmv_1", "buyers_1", "orders_1"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=cols)


def test_lmdi_worked_example():
    parts = lmdi(_stats({
        "X": (1000, 10, 20, 1800, 12, 30),  # buyers ×1.2, orders per buyer 2 → 2.5, order value 50 → 60
        "Y": (0, 0, 0, 500, 5, 5),  # new category: Widen
        "Z": (200, 5, 5, 0, 0, 0),  # lost every buyer: Gain
    }))
    w = 800 / math.log(1.8)
    assert parts.loc["X", "gain"] == pytest.approx(w * math.log(1.2))
    assert parts.loc["X", "retain"] == pytest.approx(w * math.log(1.25))
    assert parts.loc["X", "boost"] == pytest.approx(w * math.log(1.2))
    assert parts.loc["Y"].to_dict() == {"gain": 0, "retain": 0, "boost": 0, "widen": 500, "change": 500}
    assert parts.loc["Z", "gain"] == -200 and parts.loc["Z", "widen"] == 0
    assert parts[["gain", "retain", "boost", "widen"]].sum(axis=1).to_numpy() == pytest.approx(parts.change.to_numpy())


def test_logmean_limits():
    assert logmean(np.array([5.0]), np.array([5.0]))[0] == 5.0
    assert logmean(np.array([2.0]), np.array([1.0]))[0] == pytest.approx(1 / math.log(2))


positive = st.floats(0.01, 1e6, allow_nan=False)
counts = st.integers(0, 1000)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e4, 1e6), counts, counts, st.floats(-1e4, 1e6), counts, counts), min_size=1, max_size=8))
def test_lmdi_parts_always_sum_to_the_change(rows):
    parts = lmdi(_stats({f"g{i}": r for i, r in enumerate(rows)}))
    total = parts[["gain", "retain", "boost", "widen"]].sum(axis=1)
    assert np.allclose(total, parts.change, rtol=1e-9, atol=1e-6)
    assert np.isfinite(parts.to_numpy()).all()


def test_grow_inputs_in_the_engine(store):
    rows = [
        ("u1", "buy", "2024-01-05", "c1", "o1", 100.0), ("u1", "buy", "2024-01-05", "c1", "o1", 20.0),
        ("u2", "buy", "2024-01-06", "c1", "o2", 50.0), (None, "buy", "2024-01-07", "c1", "o3", 30.0),
        ("u2", "return", "2024-01-08", "c1", "o4", 10.0),
        ("u1", "buy", "2024-02-05", "c1", "o5", 200.0), ("u3", "buy", "2024-02-06", "c2", "o6", 40.0),
    ]
    store.append("events", events_frame(rows, ("user_id", "behavior", "ts", "category_id", "order_id", "amount")))
    jan, feb = Period(dt.date(2024, 1, 1), dt.date(2024, 1, 31)), Period(dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    got = store.execute(grow_inputs(store.table("events"), base=jan, current=feb)).set_index(["group", "period"])
    # January c1: GMV 100 + 20 + 50 + 30 - 10; buyers u1, u2 and one anonymous order; orders o1, o2, o3
    assert got.loc[("c1", "base")].to_dict() == {"gmv": 190.0, "buyers": 3, "orders": 3}
    assert got.loc[("c1", "current")].to_dict() == {"gmv": 200.0, "buyers": 1, "orders": 1}
    report = grow_report(store, base=jan, current=feb)
    assert report.widen == 40.0 and report.change == pytest.approx(50.0)
    assert report.gain + report.retain + report.boost + report.widen == pytest.approx(report.change)


def _gmv_sql(store, period: Period) -> float:
    (row,) = run_sql(store, f"""
        SELECT SUM(CASE WHEN behavior = 'buy' THEN amount WHEN behavior = 'return' THEN -amount ELSE 0 END)
        FROM events WHERE ts >= TIMESTAMP '{period.lo}' AND ts < TIMESTAMP '{period.hi}'""")
    return float(row[0])


def test_online_retail_grow_h2_vs_h1(retail):
    r = grow_report(retail, base=H1, current=H2)
    assert abs(r.gain + r.retain + r.boost + r.widen - r.change) < 0.01
    assert r.gmv_base == pytest.approx(_gmv_sql(retail, H1), abs=0.01)
    assert r.gmv_current == pytest.approx(_gmv_sql(retail, H2), abs=0.01)
    assert r.change == pytest.approx(r.gmv_current - r.gmv_base, abs=0.01)
    groups = pd.DataFrame(r.groups)
    assert (groups[["gain", "retain", "boost", "widen"]].sum(axis=1) - groups.change).abs().max() < 1e-6
    assert r.gain > 0  # the second half of 2010 (the Christmas season) brought many more buyers


def test_gta_plan_worked_example():
    rates = {s: StageRate(None, None, 0.0) for s in GTA_STAGES}
    rates |= {"P": StageRate(0.5, 100.0, 0.6), "L": StageRate(0.8, 200.0, 0.4)}
    rows = {r.stage: r for r in plan(10_000.0, rates, {"A": 0, "I": 0, "P": 100, "L": 30})}
    assert (rows["P"].needed_gmv, rows["P"].needed_buyers, rows["P"].needed, rows["P"].gap) == (6000, 60, 120, 20)
    assert (rows["L"].needed_gmv, rows["L"].needed_buyers, rows["L"].needed, rows["L"].gap) == (4000, 20, 25, -5)
    assert rows["A"].needed == 0 and rows["new"].current is None


def test_online_retail_gta_goal_120_percent_of_q4(retail):
    r = gta_report(retail, reference=Q4, as_of=dt.date(2010, 12, 9), goal_ratio=1.2)
    assert r.reference_gmv == pytest.approx(_gmv_sql(retail, Q4), abs=0.01)
    assert r.goal == pytest.approx(1.2 * r.reference_gmv)
    rows = {x.stage: x for x in r.rows}
    assert set(rows) == set(GTA_STAGES)
    assert sum(x.needed_gmv for x in r.rows) == pytest.approx(r.goal)
    assert sum(x.share for x in r.rows) == pytest.approx(1.0)
    current = aipl_report(retail, as_of=dt.date(2010, 12, 9)).counts
    for s in ("P", "L"):  # the stages this purchase-only data has
        x = rows[s]
        assert x.current == current[s] and x.gap == pytest.approx(x.needed - x.current)
        assert x.needed == pytest.approx(r.goal * x.share / x.value_per_buyer / x.conversion)
        assert 0 < x.conversion <= 1
    assert rows["A"].needed == 0 and rows["I"].needed == 0  # no views in this data set
    assert rows["new"].needed == pytest.approx(rows["new"].needed_buyers)


def test_online_retail_gta_pools_are_stages_the_day_before(retail):
    from qianmian.metrics.gta import gta_reference

    frame = retail.execute(gta_reference(retail.table("events"), reference=Q4)).set_index("stage")
    before = aipl_report(retail, as_of=dt.date(2010, 9, 30)).counts
    assert int(frame.loc["P", "pool"]) == before["P"] and int(frame.loc["L", "pool"]) == before["L"]
    assert float(frame.gmv.sum()) == pytest.approx(_gmv_sql(retail, Q4), abs=0.01)


def test_gta_goal_arguments_are_checked(retail):
    with pytest.raises(InputError, match="goal"):
        gta_report(retail, reference=Q4, as_of="2010-12-09", goal=1.0, goal_ratio=1.2)
