"""Fixtures every test package shares: the real data folder and a store on each engine.

- `shared_data`: ../shared/data (or $QIANMIAN_SHARED_DATA); tests that need it skip when absent.
- `engine`: "duckdb" and "spark"; tests using `store` run once per engine. Spark tests skip only
  where Java is missing, and all run on one xdist worker so only one JVM starts.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_data() -> Path:
    return Path(os.environ.get("QIANMIAN_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = _shared_data()
    if not path.is_dir():
        pytest.skip(f"real data not found at {path} (set QIANMIAN_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory):
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark backend: Java is not installed on this machine")
    from qianmian.store.base import spark_session as make

    session = make("spark:local[2]", tmp_path_factory.mktemp("spark-warehouse"))
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def spark_store(spark_session):
    """One migrated Spark store per session; `store` empties it before each test (cheaper than a
    new database per test, which costs a dozen CREATE TABLE jobs)."""
    from qianmian.store import connect

    spark_session.sql("CREATE DATABASE IF NOT EXISTS qm_test")
    spark_session.catalog.setCurrentDatabase("qm_test")
    return connect(spark_session)


def _reset_spark(s) -> None:
    from qianmian.store import schema

    core = set(schema.TABLES) | {"schema_version"}
    for name in s.list_tables():
        if name in core and name != "schema_version":
            s.con.raw_sql(f"TRUNCATE TABLE `{name}`")
        elif name not in core:
            s.con.drop_table(name, force=True)


@pytest.fixture
def store(engine, request, tmp_path):
    """An empty, migrated store on `engine`."""
    from qianmian.store import connect

    if engine == "duckdb":
        s = connect(f"duckdb:///{tmp_path / 'store.duckdb'}")
        yield s
        s.close()
        return
    s = request.getfixturevalue("spark_store")
    _reset_spark(s)
    yield s


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "spark" in item.keywords:
            item.add_marker(pytest.mark.xdist_group("spark"))
