"""Non-product items on Online Retail II: postage, fees, adjustments, bad debt … are items of kind
"non-product": they count in GMV as the layout documents and in no product category or metric."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from qianmian.errors import ConfigError
from qianmian.ingest import ingest_file
from qianmian.ingest.mapping import load_mapping, parse_mapping
from qianmian.store import connect
from qianmian.store.schema import NON_PRODUCT

RETAIL = "online_retail_ii/online_retail_ii_2009_2010.csv.gz"
NOT_GOODS = {"FEE", "DEBT", "POSTAGE", "CARRIAGE", "CHARGE", "CHARGES", "VOUCHER", "DISCOUNT", "MANUAL", "SAMPLE", NON_PRODUCT}


@pytest.fixture(scope="module")
def retail(shared_data, tmp_path_factory):
    store = connect(f"duckdb:///{tmp_path_factory.mktemp('kinds') / 'store.duckdb'}")
    ingest_file(store, shared_data / RETAIL, layout="online-retail")
    yield store
    store.close()


def _reference(path, rule) -> tuple[int, float]:
    """From the raw file, independently: distinct non-product lines and their signed amount (negative
    prices are quarantined by the layout)."""
    ids = ", ".join(f"'{i}'" for i in rule.item_ids)
    prefixes = " OR ".join(f"upper(StockCode) LIKE '{p}%'" for p in rule.prefixes)
    sql = f"""
        WITH lines AS (SELECT DISTINCT * FROM read_csv(?, header=true, all_varchar=true))
        SELECT count(*), sum(abs(Quantity::DOUBLE * Price::DOUBLE)
                             * CASE WHEN Invoice LIKE 'C%' THEN -1 ELSE 1 END)
        FROM lines WHERE Price::DOUBLE >= 0 AND (upper(trim(StockCode)) IN ({ids}) OR {prefixes})"""
    n, gmv = duckdb.connect().execute(sql, [str(path)]).fetchone()
    return int(n), float(gmv)


def test_non_products_are_marked_and_count_in_gmv(retail, shared_data):
    rule = load_mapping("online-retail").non_products
    assert rule is not None and {"POST", "DOT", "M", "BANK CHARGES", "AMAZONFEE", "B"} <= set(rule.item_ids)
    n, gmv = _reference(shared_data / RETAIL, rule)
    ev = retail.table("events")
    marked = ev.filter(ev.category_id == NON_PRODUCT)
    signed = (marked.amount * (marked.behavior == "buy").ifelse(1.0, -1.0)).sum()
    got = retail.execute(marked.aggregate(n=marked.count(), gmv=signed)).iloc[0]
    assert int(got.n) == n and n > 2900
    assert float(got.gmv) == pytest.approx(gmv, abs=0.01)  # counted in GMV, signed as the invoices say


def test_product_categories_leave_non_products_out(retail):
    from qianmian.audiences.populations import population
    from qianmian.audiences.templates import category_popularity
    from qianmian.features import consumer_features
    from qianmian.metrics.association import association_report
    from qianmian.metrics.tgi import tgi_report

    as_of = dt.date(2010, 12, 9)
    ev = retail.table("events")
    before = set(retail.execute(ev.select("category_id").distinct()).category_id.dropna())
    assert NON_PRODUCT in before
    popular = set(category_popularity(retail, as_of=as_of, days=365))
    assert popular and not popular & NOT_GOODS
    tops = set(retail.execute(consumer_features(retail, as_of=as_of)).top_category.dropna())
    assert tops and not tops & NOT_GOODS
    everyone = population(retail, "all", as_of=as_of)
    tgi = tgi_report(retail, target=everyone, reference=everyone, by="category_id", limit=10_000)
    assert tgi.rows and not {r["value"] for r in tgi.rows} & NOT_GOODS
    rules = association_report(retail, level="category", min_support=0.02, min_confidence=0.1, limit=10_000)
    named = {c for r in rules.top_rules for c in (*r["antecedents"], *r["consequents"])}
    assert named and not named & NOT_GOODS


def test_bad_non_products_table_names_the_key():
    base = {"fields": {"behavior": {"constant": "buy"}, "ts": "t"}}
    with pytest.raises(ConfigError, match=r"\[non_products\]\.item_id: expected a list"):
        parse_mapping({**base, "non_products": {"item_id": "POST"}})
    with pytest.raises(ConfigError, match=r"\[non_products\]: expected a table"):
        parse_mapping({**base, "non_products": {"codes": ["POST"]}})
