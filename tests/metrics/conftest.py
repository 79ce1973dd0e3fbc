"""Shared fixtures for the metrics tests: real-data stores per engine, stores shared by a module.

On Spark every store here is the session's one migrated test store (`spark_store` from
tests/conftest.py), emptied before it is filled, exactly as the `store` fixture does; nothing here
changes Spark's current database.
"""

from __future__ import annotations

import pytest

ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]


def _empty_spark_store(request):
    return request.getfixturevalue("empty_spark_store")()


def _store_on(engine: str, request, tmp_path_factory, name: str):
    from qianmian.store import connect

    if engine == "duckdb":
        return connect(f"duckdb:///{tmp_path_factory.mktemp(name) / 'store.duckdb'}")
    return _empty_spark_store(request)


@pytest.fixture(scope="module", params=ENGINES)
def taobao(request, shared_data, tmp_path_factory):
    """The Taobao 84k slice ingested once per engine (module scope; tests only read it)."""
    from qianmian.ingest import ingest_file

    store = _store_on(request.param, request, tmp_path_factory, "taobao")
    ingest_file(store, shared_data / "taobao_userbehavior" / "ub_head_by_user_84k.csv", layout="taobao")
    yield store
    store.close() if store.engine == "duckdb" else None


@pytest.fixture(scope="session")
def retail(shared_data, tmp_path_factory):
    """Online Retail II (2009-12 … 2010-12) ingested once into DuckDB."""
    from qianmian.ingest import ingest_file
    from qianmian.store import connect

    store = connect(f"duckdb:///{tmp_path_factory.mktemp('retail') / 'store.duckdb'}")
    ingest_file(store, shared_data / "online_retail_ii" / "online_retail_ii_2009_2010.csv.gz", layout="online-retail")
    yield store
    store.close()


@pytest.fixture(scope="module", params=ENGINES)
def module_store(request, tmp_path_factory):
    """An empty store per test module and engine, for modules whose tests only read the data
    their module fixture wrote (one Spark reset per module instead of one per test)."""
    store = _store_on(request.param, request, tmp_path_factory, request.module.__name__.rsplit(".", 1)[-1])
    yield store
    store.close() if store.engine == "duckdb" else None

