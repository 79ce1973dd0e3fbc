"""Must-show on the Taobao 84k slice, as of 2017-12-03 end of day, default rules, on DuckDB and Spark:
AIPL counts, flow 2017-11-28 → 2017-12-03 and the funnel, each equal to hand-written SQL."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from qianmian.dates import Period
from qianmian.metrics.aipl import aipl_report
from qianmian.metrics.flow import flow_report
from qianmian.metrics.funnel import funnel_report

from .helpers import run_sql

NINE_DAYS = Period(dt.date(2017, 11, 25), dt.date(2017, 12, 3))


def stages_sql(end: str, start_30: str, start_365: str) -> str:
    """AIPL stages with the default rules, written by hand (windows end at `end`, exclusive)."""
    return f"""
    SELECT user_id,
      CASE WHEN buy_days >= 2 OR review_share > 0 THEN 'L'
           WHEN buy_days = 1 THEN 'P'
           WHEN interest > 0 THEN 'I'
           WHEN aware > 0 THEN 'A' END AS stage
    FROM (
      SELECT user_id,
        SUM(CASE WHEN behavior IN ('expose', 'view') AND ts >= TIMESTAMP '{start_30}' THEN 1 ELSE 0 END) AS aware,
        SUM(CASE WHEN behavior IN ('click', 'fav', 'cart', 'search') AND ts >= TIMESTAMP '{start_30}' THEN 1 ELSE 0 END) AS interest,
        COUNT(DISTINCT CASE WHEN behavior = 'buy' THEN CAST(ts AS DATE) END) AS buy_days,
        SUM(CASE WHEN behavior IN ('review', 'share') THEN 1 ELSE 0 END) AS review_share
      FROM events
      WHERE user_id IS NOT NULL AND ts >= TIMESTAMP '{start_365}' AND ts < TIMESTAMP '{end}'
      GROUP BY user_id
    ) per_user"""


AS_OF_1203 = stages_sql("2017-12-04 00:00:00", "2017-11-04 00:00:00", "2016-12-04 00:00:00")
AS_OF_1128 = stages_sql("2017-11-29 00:00:00", "2017-10-30 00:00:00", "2016-11-29 00:00:00")


def test_aipl_counts_equal_sql(taobao):
    report = aipl_report(taobao, as_of=dt.date(2017, 12, 3))
    rows = run_sql(taobao, f"SELECT stage, COUNT(*) FROM ({AS_OF_1203}) s WHERE stage IS NOT NULL GROUP BY stage")
    assert report.counts == {stage: int(n) for stage, n in rows}
    assert set(report.counts) == {"A", "I", "P", "L"}
    assert report.total == 815  # every user of the slice holds a stage
    assert sum(report.shares.values()) == pytest.approx(1.0)


def test_flow_equals_sql(taobao):
    report = flow_report(taobao, start=dt.date(2017, 11, 28), end=dt.date(2017, 12, 3))
    rows = run_sql(taobao, f"""
        SELECT COALESCE(a.stage, 'none') AS f, COALESCE(b.stage, 'none') AS t, COUNT(*) AS n
        FROM (SELECT * FROM ({AS_OF_1128}) x WHERE stage IS NOT NULL) a
        FULL OUTER JOIN (SELECT * FROM ({AS_OF_1203}) y WHERE stage IS NOT NULL) b ON a.user_id = b.user_id
        GROUP BY COALESCE(a.stage, 'none'), COALESCE(b.stage, 'none')""")
    expected = {(f, t): int(n) for f, t, n in rows}
    got = {(f, t): n for f, row in report.counts.items() for t, n in row.items() if n}
    assert got == expected
    assert report.up > 0 and report.down == 0  # AIPL windows are longer than the slice: nobody falls back
    for f, row in report.counts.items():
        if sum(row.values()):
            assert sum(report.rates[f].values()) == pytest.approx(1.0)


def test_funnel_equals_sql(taobao):
    report = funnel_report(taobao, period=NINE_DAYS)
    rows = run_sql(taobao, """
        SELECT SUM(v), SUM(v * cf), SUM(v * cf * b), COUNT(*), SUM(b)
        FROM (
          SELECT user_id,
            MAX(CASE WHEN behavior = 'view' THEN 1 ELSE 0 END) AS v,
            MAX(CASE WHEN behavior IN ('cart', 'fav') THEN 1 ELSE 0 END) AS cf,
            MAX(CASE WHEN behavior = 'buy' THEN 1 ELSE 0 END) AS b
          FROM events
          WHERE user_id IS NOT NULL AND ts >= TIMESTAMP '2017-11-25 00:00:00' AND ts < TIMESTAMP '2017-12-04 00:00:00'
          GROUP BY user_id
        ) u""")
    viewed, carted, bought, visitors, buyers = (int(x) for x in rows[0])
    (step,) = report.funnel
    assert step["users"] == [viewed, carted, bought]
    assert step["step_rate"][1:] == [pytest.approx(carted / viewed), pytest.approx(bought / carted)]
    (r,) = report.rates
    assert (r["visitors"], r["buyers"]) == (visitors, buyers)
    assert r["visitor_conversion"] == pytest.approx(buyers / visitors)


def test_funnel_by_day_equals_sql(taobao):
    report = funnel_report(taobao, period=NINE_DAYS, by="day", with_rates=False)
    rows = run_sql(taobao, """
        SELECT CAST(d AS STRING), SUM(v), SUM(v * cf), SUM(v * cf * b)
        FROM (
          SELECT user_id, CAST(ts AS DATE) AS d,
            MAX(CASE WHEN behavior = 'view' THEN 1 ELSE 0 END) AS v,
            MAX(CASE WHEN behavior IN ('cart', 'fav') THEN 1 ELSE 0 END) AS cf,
            MAX(CASE WHEN behavior = 'buy' THEN 1 ELSE 0 END) AS b
          FROM events
          WHERE user_id IS NOT NULL AND ts >= TIMESTAMP '2017-11-25 00:00:00' AND ts < TIMESTAMP '2017-12-04 00:00:00'
          GROUP BY user_id, CAST(ts AS DATE)
        ) u GROUP BY d""")
    expected = {d: [int(a), int(b), int(c)] for d, a, b, c in rows}
    assert {row["group"]: row["users"] for row in report.funnel} == expected
    assert len(expected) == 9


def test_aipl_counts_equal_raw_file_in_pandas(taobao, shared_data):
    """A third, fully independent path: the raw CSV read with pandas, Beijing days, the dataset's range."""
    if taobao.engine != "duckdb":
        pytest.skip("the pandas reference does not depend on the engine")
    raw = pd.read_csv(shared_data / "taobao_userbehavior" / "ub_head_by_user_84k.csv", header=None,
                      names=["user", "item", "cat", "behavior", "ts"])
    raw["ts"] = pd.to_datetime(raw.ts, unit="s") + pd.Timedelta(hours=8)
    raw = raw[(raw.ts >= "2017-11-25") & (raw.ts < "2017-12-04")]
    buy_days = raw[raw.behavior == "buy"].groupby("user").ts.agg(lambda s: s.dt.date.nunique())
    interest = raw[raw.behavior.isin(["cart", "fav"])].groupby("user").size()
    viewed = raw[raw.behavior == "pv"].groupby("user").size()
    stage = pd.Series(None, index=pd.Index(raw.user.unique()), dtype=object)
    stage[stage.index.isin(viewed.index)] = "A"
    stage[stage.index.isin(interest.index)] = "I"
    stage[stage.index.isin(buy_days[buy_days == 1].index)] = "P"
    stage[stage.index.isin(buy_days[buy_days >= 2].index)] = "L"
    report = aipl_report(taobao, as_of="2017-12-03")
    assert report.counts == stage.value_counts().to_dict()
