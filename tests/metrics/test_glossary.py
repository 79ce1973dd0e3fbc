"""One definition per number: the funnel, the experiments, the docs and the API read one glossary,
and browse conversion is bounded by its definition on real data."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from qianmian.dates import Period
from qianmian.experiments.metrics import BUILTIN
from qianmian.metrics import funnel as funnel_module
from qianmian.metrics.funnel import funnel_report
from qianmian.metrics.glossary import TERMS, markdown_table, term

from .helpers import run_sql

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_funnel_rate_and_experiment_metric_is_a_term_with_its_label():
    for name in (*funnel_module.RATES, *funnel_module.COUNTS):
        assert name in TERMS, name
    for name, metric in BUILTIN.items():
        assert metric.label == term(name).label
    assert all(t.formula and t.sentence and t.unit in ("count", "share", "money", "index", "number") for t in TERMS.values())


def test_docs_carry_the_glossary_table():
    assert markdown_table() in (DOCS / "metrics.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def mixed(shared_data, tmp_path_factory):
    """Real Taobao views (last 10,000 lines) and real Online Retail II buys (first 20,000 lines) in
    one store: many buyers never viewed, the case where buyers ÷ viewers went past 1."""
    from qianmian.ingest import ingest_file
    from qianmian.store import connect

    folder = tmp_path_factory.mktemp("mixed")
    head = folder / "retail_head.csv"
    with gzip.open(shared_data / "online_retail_ii" / "online_retail_ii_2009_2010.csv.gz", "rt", encoding="utf-8") as src:
        head.write_text("".join(line for _, line in zip(range(20_001), src)), encoding="utf-8")
    store = connect(f"duckdb:///{folder / 'store.duckdb'}")
    ingest_file(store, shared_data / "taobao_userbehavior" / "ub_tail_10k.csv", layout="taobao")
    ingest_file(store, head, layout="online-retail")
    yield store
    store.close()


def test_browse_conversion_is_at_most_one_on_real_data(mixed):
    everything = Period.parse("2009-01-01..2018-12-31", "period")
    (r,) = funnel_report(mixed, period=everything).rates
    (viewers, viewer_buyers, buyers), = run_sql(mixed, """
        SELECT SUM(v), SUM(v * b), SUM(b) FROM (
          SELECT user_id, MAX(CASE WHEN behavior = 'view' THEN 1 ELSE 0 END) AS v,
                 MAX(CASE WHEN behavior = 'buy' THEN 1 ELSE 0 END) AS b
          FROM events WHERE user_id IS NOT NULL GROUP BY user_id) u""")
    assert buyers / viewers > 1  # the old formula (buyers ÷ viewers) would print more than 100%
    assert r["browse_conversion"] == pytest.approx(viewer_buyers / viewers)
    assert 0 <= r["browse_conversion"] <= 1


def test_browse_conversion_on_taobao_equals_sql(taobao):
    (r,) = funnel_report(taobao, period=Period.parse("2017-11-25..2017-12-03", "period")).rates
    (viewers, viewer_buyers), = run_sql(taobao, """
        SELECT SUM(v), SUM(v * b) FROM (
          SELECT user_id, MAX(CASE WHEN behavior = 'view' THEN 1 ELSE 0 END) AS v,
                 MAX(CASE WHEN behavior = 'buy' THEN 1 ELSE 0 END) AS b
          FROM events WHERE user_id IS NOT NULL AND ts >= TIMESTAMP '2017-11-25 00:00:00'
            AND ts < TIMESTAMP '2017-12-04 00:00:00' GROUP BY user_id) u""")
    assert r["browse_conversion"] == pytest.approx(int(viewer_buyers) / int(viewers))
    assert r["browse_conversion"] <= 1
