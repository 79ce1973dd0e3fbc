"""Fixtures every test package shares: the real data folder and a store on each engine.

- `shared_data`: ../shared/data (or $QIANMIAN_SHARED_DATA); tests that need it skip when absent.
- `engine`: "duckdb" and "spark"; tests using `store` run once per engine. Spark tests skip only
  where Java is missing, and all run on one xdist worker so only one JVM starts.
- A third engine, "sc", is a Spark Connect client of a real local cluster (`spark_cluster`: one
  `qianmian cluster up` per session: a master, one worker, a Connect server). Only tests marked
  `@pytest.mark.cluster` (or in a module marked so) run on it, as the cluster is the slowest engine;
  they and the cross-process tests all run on one xdist worker (group "sc"), so one cluster starts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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


ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark), pytest.param("sc", marks=pytest.mark.sc)]
QIANMIAN = str(Path(sys.executable).with_name("qianmian"))


def qianmian(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the `qianmian` command in a new process (check=True; stdout and stderr captured)."""
    return subprocess.run([QIANMIAN, *args], capture_output=True, text=True, check=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory):
    """A real standalone cluster started by `qianmian cluster up` (stopped by `cluster down`)."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark cluster: Java is not installed on this machine")
    folder = tmp_path_factory.mktemp("cluster")
    up = qianmian("cluster", "up", "--dir", str(folder), "--workers", "1", "--master-port", "0", "--connect-port", "0",
                  "--worker-memory", "1g", "--executor-memory", "640m", "--driver-memory", "1g", "--json")
    try:
        yield {**json.loads(up.stdout), "up_stderr": up.stderr}  # stdout is one JSON document, nothing else
    finally:
        qianmian("cluster", "down", "--dir", str(folder))


@pytest.fixture(scope="session")
def sc_store(spark_cluster):
    """The cluster's store, seen through one Spark Connect session; `store` empties it per test."""
    from qianmian.store import connect

    return connect(spark_cluster["store"])


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


@pytest.fixture(scope="session")
def empty_spark_store(spark_store):
    """A function that empties the session's Spark test store and returns it (the one reset rule
    every test package uses: the store keeps its schema version and its id)."""

    def empty():
        _reset_spark(spark_store)
        return spark_store

    return empty


def _reset_spark(s) -> None:
    from qianmian.store import schema

    kept = {"schema_version", schema.IDENTITY}  # the store stays the same store
    core = set(schema.TABLES) | kept
    for name in s.list_tables():
        if name in core and name not in kept:
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
    s = request.getfixturevalue("sc_store" if engine == "sc" else "spark_store")
    _reset_spark(s)
    yield s


def _on_cluster(item) -> bool:
    params = getattr(getattr(item, "callspec", None), "params", {})
    return "sc" in params.values() or "spark_cluster" in getattr(item, "fixturenames", ())


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups into the node ids
def pytest_collection_modifyitems(config, items):
    """Keep the sc engine to tests marked `cluster`; one xdist worker per JVM family."""
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "sc" in params.values() and item.get_closest_marker("cluster") is None:
            dropped.append(item)
            continue
        if _on_cluster(item):
            item.add_marker(pytest.mark.xdist_group("sc"))
        elif "spark" in item.keywords:
            item.add_marker(pytest.mark.xdist_group("spark"))
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def wide_console():
    """The CLI's Rich consoles at 220 columns for this test. Rich fixes a console's width when it is
    created if COLUMNS is set then (pytest-xdist sets COLUMNS=80 in its workers), so a COLUMNS given
    to CliRunner later would not reach the tables."""
    from qianmian.cli.common import console, err_console

    before = console._width, err_console._width
    console.width = err_console.width = 220
    yield
    console._width, err_console._width = before


@pytest.fixture(scope="session")
def hillstrom(shared_data) -> Path:
    """Hillstrom's e-mail test (64,000 customers), read by the experiment and the uplift tests."""
    path = shared_data / "hillstrom" / "hillstrom.csv"
    if not path.is_file():
        pytest.skip(f"{path} missing")
    return path
