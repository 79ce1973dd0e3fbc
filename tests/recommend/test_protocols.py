"""The evaluation protocols on the real files: counts checked against hand-written SQL, and a
reduced quality check (the full comparison lives in benchmarks/recommend.py)."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from qianmian.recommend.evaluate.data import R1_FILE, R2_FILE, load_protocol, r2_events
from qianmian.recommend.evaluate.methods import (
    run_ours,
    run_own_history,
    run_popularity,
)
from qianmian.recommend.evaluate.metrics import evaluate_topk


@pytest.fixture(scope="module")
def r1(shared_data):
    return load_protocol("R1", shared_data)


@pytest.fixture(scope="module")
def r2(shared_data):
    return load_protocol("R2", shared_data)


def test_r2_has_815_shoppers_over_nine_days(shared_data):
    e = r2_events(shared_data / R2_FILE)
    assert e.user_id.nunique() == 815
    assert e.ts.min().date().isoformat() == "2017-11-25" and e.ts.max().date().isoformat() == "2017-12-03"


def test_r2_splits_match_hand_written_sql(r2, shared_data):
    sql = """
    with e as (select column0 as u, column2 as c, cast(to_timestamp(column4) at time zone 'Asia/Shanghai' as date) as d
               from read_csv(?, header = false) where column3 in ('pv', 'fav', 'cart', 'buy'))
    select count(distinct u) filter (where d = date '2017-12-03' and u in (select u from e where d between date '2017-11-25' and date '2017-12-02')),
           count(distinct (u, c)) filter (where d = date '2017-12-03' and u in (select u from e where d between date '2017-11-25' and date '2017-12-02')),
           count(distinct c) filter (where d between date '2017-11-25' and date '2017-12-02')
    from e
    """
    try:
        users, targets, cats = duckdb.connect().execute(sql, [str(shared_data / R2_FILE)]).fetchone()
    except duckdb.Error:
        pytest.skip("DuckDB without ICU time zones")
    t = r2.test
    assert (len(t.users), int(t.target_size.sum()), t.n_items) == (users, targets, cats)
    assert t.k == 10 and not t.exclude_seen
    seen = (t.train.matrix()[t.users] > 0).multiply(t.target)
    assert 0.4 < seen.sum() / t.target_size.sum() < 0.6  # "about half the target repeats"


def test_r1_test_users_match_hand_written_sql(r1, shared_data):
    sql = """
    with p as (select distinct "Customer ID" as u, upper(trim(StockCode)) as i, InvoiceDate as ts
               from read_csv(?, header = true, types = {'Customer ID': 'VARCHAR'})
               where Quantity > 0 and Invoice not like 'C%' and "Customer ID" is not null
                 and regexp_matches(upper(trim(StockCode)), '[0-9]')
                 and upper(trim(StockCode)) not in ('POST','D','M','DOT','BANK CHARGES','C2','PADS','AMAZONFEE','ADJUST','TEST001','TEST002')),
         tr as (select distinct u, i from p where ts < timestamp '2010-10-01'),
         te as (select distinct u, i from p where ts >= timestamp '2010-10-01')
    select count(distinct te.u), count(*) from te
    where te.u in (select u from tr) and not exists (select 1 from tr where tr.u = te.u and tr.i = te.i)
    """
    users, targets = duckdb.connect().execute(sql, [str(shared_data / R1_FILE)]).fetchone()
    assert (len(r1.test.users), int(r1.test.target_size.sum())) == (users, targets)
    assert r1.test.k == 20 and r1.test.exclude_seen
    assert len(r1.validation.users) < len(r1.test.users)


def test_reduced_quality_check_on_validation_splits(r1, r2):
    v1 = r1.validation
    ease = run_ours("ease")(v1, {"l2": 200.0, "half_life_days": 120.0, "aggregate": "max"})
    pop = run_popularity(v1, {"count": "users"})
    assert (
        evaluate_topk(ease.top, v1.target, v1.target_size, v1.n_items).recall
        > 2 * evaluate_topk(pop.top, v1.target, v1.target_size, v1.n_items).recall
    )
    v2 = r2.validation
    own = evaluate_topk(run_own_history(v2, {"half_life_days": 1.0}).top, v2.target, v2.target_size, v2.n_items).recall
    assert 0.35 < own < 0.5  # the shopper's own history is the strong peer of R2
    assert np.isfinite(own)


def test_r2_learned_ranker_orders_the_validation_day_better_than_the_own_history_peer(r2):
    """Learned on 12-01 … 11-27 only (never on the validation day it is scored on)."""
    from qianmian.recommend.evaluate.methods import run_ranker

    v2 = r2.validation
    run = run_ranker(v2, {"candidates": 30, "label_days": 5, "l2": 100.0})
    ranker = evaluate_topk(run.top, v2.target, v2.target_size, v2.n_items).recall
    best_peer = max(
        evaluate_topk(run_own_history(v2, {"half_life_days": h}).top, v2.target, v2.target_size, v2.n_items).recall
        for h in (None, 0.5, 1.0, 2.0, 4.0)
    )
    assert ranker > best_peer
