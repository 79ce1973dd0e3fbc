"""Real-data stores shared by the audience tests (built once per session, on DuckDB)."""

from __future__ import annotations

import pytest

from qianmian.store import Store, connect

RETAIL = "online_retail_ii/online_retail_ii_2009_2010.csv.gz"
TAOBAO = "taobao_userbehavior/ub_head_by_user_84k.csv"


def _ingested(tmp_path_factory, shared_data, path: str, layout: str) -> Store:
    from qianmian.ingest import ingest_file

    store = connect(f"duckdb:///{tmp_path_factory.mktemp(layout) / 'store.duckdb'}")
    ingest_file(store, shared_data / path, layout=layout)
    return store


@pytest.fixture(scope="session")
def retail(tmp_path_factory, shared_data) -> Store:
    """Online Retail II (2009-12 … 2010-12) ingested with the built-in layout."""
    return _ingested(tmp_path_factory, shared_data, RETAIL, "online-retail")


@pytest.fixture(scope="session")
def taobao(tmp_path_factory, shared_data) -> Store:
    """The Taobao UserBehavior slice (815 users, 2017-11-25 … 12-03)."""
    return _ingested(tmp_path_factory, shared_data, TAOBAO, "taobao")


EVENT_COLUMNS = ("event_id", "user_id", "item_id", "category_id", "behavior", "ts", "order_id", "quantity", "amount")


def _copy_into(target: Store, source: Store) -> Store:
    # without the bulky `properties` JSON and as one chunk: Spark's Arrow conversion is much faster so
    events = source.table("events").select(*EVENT_COLUMNS)
    target.append("events", source.to_pyarrow(events).combine_chunks(), dedupe=False)
    target.append("users", source.to_pyarrow(source.table("users")).combine_chunks(), dedupe=False)
    return target


@pytest.fixture
def copy_into():
    """`copy_into(target, source)`: copy events and users from a DuckDB store into `target` (either engine)."""
    return _copy_into
