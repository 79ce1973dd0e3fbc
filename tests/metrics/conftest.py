"""Shared fixtures for the metrics tests: real-data stores per engine, raw SQL, tiny event frames."""

from __future__ import annotations

import pytest

ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]

_db = iter(range(1, 1 << 20))


def _store_on(engine: str, request, tmp_path_factory, name: str):
    from qianmian.store import connect

    if engine == "duckdb":
        return connect(f"duckdb:///{tmp_path_factory.mktemp(name) / 'store.duckdb'}"), None
    session = request.getfixturevalue("spark_session")
    db = f"qm_metrics_{name}_{next(_db)}"
    session.sql(f"CREATE DATABASE IF NOT EXISTS {db}")
    session.catalog.setCurrentDatabase(db)
    return connect(session), db


@pytest.fixture(scope="module", params=ENGINES)
def taobao_module(request, shared_data, tmp_path_factory):
    """The Taobao 84k slice ingested once per engine (module scope)."""
    from qianmian.ingest import ingest_file

    store, db = _store_on(request.param, request, tmp_path_factory, "taobao")
    ingest_file(store, shared_data / "taobao_userbehavior" / "ub_head_by_user_84k.csv", layout="taobao")
    yield store, db
    store.close() if db is None else None


@pytest.fixture
def taobao(taobao_module, request):
    """The module's Taobao store, with Spark's current database pointed at it for this test."""
    store, db = taobao_module
    if db is not None:
        request.getfixturevalue("spark_session").catalog.setCurrentDatabase(db)
    return store


@pytest.fixture(scope="session")
def retail(shared_data, tmp_path_factory):
    """Online Retail II (2009-12 … 2010-12) ingested once into DuckDB."""
    from qianmian.ingest import ingest_file
    from qianmian.store import connect

    store = connect(f"duckdb:///{tmp_path_factory.mktemp('retail') / 'store.duckdb'}")
    ingest_file(store, shared_data / "online_retail_ii" / "online_retail_ii_2009_2010.csv.gz", layout="online-retail")
    yield store
    store.close()


_spark_dbs: dict[int, str] = {}


@pytest.fixture(scope="module", params=ENGINES)
def module_store(request, tmp_path_factory):
    """An empty store per test module and engine, for modules whose data is read-only after setup
    (one Spark database per module instead of one per test). Use it through `current_store`."""
    store, db = _store_on(request.param, request, tmp_path_factory, request.module.__name__.rsplit(".", 1)[-1])
    if db is not None:
        _spark_dbs[id(store)] = db
    yield store
    _spark_dbs.pop(id(store), None)
    store.close() if db is None else None


@pytest.fixture
def current_store(module_store, request):
    """`module_store`, with Spark's current database pointed at it for this test."""
    db = _spark_dbs.get(id(module_store))
    if db is not None:
        request.getfixturevalue("spark_session").catalog.setCurrentDatabase(db)
    return module_store
