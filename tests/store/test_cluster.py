"""Many processes, one store: a real local Spark cluster (`qianmian cluster up`) used by separate
`qianmian` processes over Spark Connect, and a `spark:local` store that persists between processes."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import QIANMIAN, _reset_spark, qianmian

DEMO = Path(__file__).resolve().parents[2] / "src" / "qianmian" / "demo" / "taobao_ub_84k.csv.gz"


def _json(result: subprocess.CompletedProcess) -> object:
    """The command's stdout is exactly one JSON document: nothing of Spark's printed into it."""
    return json.loads(result.stdout)


def _no_spark_logs(result: subprocess.CompletedProcess) -> None:
    """Nothing of Spark's or the JVM's on stderr: no log lines, no stage bars, no JVM warnings
    (the JVM's `WARNING: Using incubator modules: jdk.incubator.vector` included)."""
    noisy = [line for line in result.stderr.splitlines()
             if " INFO " in line or " WARN " in line or "Stage " in line or line.startswith("WARNING:")]
    assert noisy == []


@pytest.fixture
def cluster_store(sc_store):
    _reset_spark(sc_store)
    return sc_store


def test_ingest_in_one_process_read_in_others_equal_to_duckdb(spark_cluster, cluster_store, tmp_path):
    url = spark_cluster["store"]
    ingested = qianmian("ingest", str(DEMO), "--format", "taobao", "--store", url, "--json")
    assert _json(ingested)["loaded"] == 84_440
    stats = qianmian("stats", "--store", url, "--json")
    _no_spark_logs(stats)
    assert _json(stats)["tables"]["events"] == 84_440
    assert cluster_store.count("events") == 84_440  # and this (third) process sees it too

    duck = f"duckdb:///{tmp_path / 'd.duckdb'}"
    qianmian("ingest", str(DEMO), "--format", "taobao", "--store", duck, "--json")
    on_cluster = _json(qianmian("report", "aipl", "--as-of", "2017-12-03", "--store", url, "--json"))
    on_duckdb = _json(qianmian("report", "aipl", "--as-of", "2017-12-03", "--store", duck, "--json"))
    assert on_cluster["counts"] == on_duckdb["counts"] and on_cluster["total"] == 815

    for where in (url, duck):  # an audience created, materialized and exported, each by its own process
        qianmian("audience", "create", "buyers", "--rule", "count(buy, 30d) >= 1", "--store", where)
        qianmian("audience", "materialize", "--as-of", "2017-12-03", "--store", where)
        qianmian("export", "audience", "buyers", "--out", str(tmp_path / f"{where[:2]}.csv"), "--store", where, "--json")
    members = sorted((tmp_path / "sc.csv").read_text().splitlines())
    assert len(members) > 100 and members == sorted((tmp_path / "du.csv").read_text().splitlines())


def test_cluster_up_prints_nothing_of_spark_or_the_jvm(spark_cluster):
    noisy = [line for line in spark_cluster["up_stderr"].splitlines() if "WARN" in line or "incubator" in line or " INFO " in line]
    assert noisy == []


def test_cluster_status_names_each_process(spark_cluster):
    status = _json(qianmian("cluster", "status", "--dir", spark_cluster["dir"], "--json"))
    assert status["running"] is True and status["store"] == spark_cluster["store"]
    assert set(status["processes"]) == {"master", "worker-1", "connect"} and all(status["processes"].values())


def test_a_second_cluster_in_the_same_dir_is_refused(spark_cluster):
    result = subprocess.run([QIANMIAN, "cluster", "up", "--dir", spark_cluster["dir"], "--connect-port", "0", "--master-port", "0"],
                            check=False, capture_output=True, text=True)
    assert result.returncode == 2 and "already running" in " ".join(result.stderr.split())


def test_an_unreachable_connect_server_is_a_clear_error():
    result = subprocess.run([QIANMIAN, "stats", "--store", "sc://127.0.0.1:1", "--json"], check=False, capture_output=True, text=True)
    assert result.returncode == 2 and "no Spark Connect server answers" in " ".join(result.stderr.split()) and result.stdout == ""


def test_cluster_up_without_java_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent)  # the venv's bin: python and qianmian, no java
    result = subprocess.run([QIANMIAN, "cluster", "up", "--dir", str(tmp_path)], check=False, capture_output=True, text=True, env=env)
    assert result.returncode == 2 and "Java 17" in " ".join(result.stderr.split())


def test_a_held_local_spark_folder_is_a_clear_error(tmp_path):
    folder = tmp_path / "spark"
    folder.mkdir()
    with open(folder / ".lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("4242")
        held.flush()
        result = subprocess.run([QIANMIAN, "stats", "--store", "spark:local[1]", "--json"], check=False, capture_output=True, text=True,
                                env={**os.environ, "QIANMIAN_SPARK_WAREHOUSE": str(folder)})
    assert result.returncode == 2 and "in use by another process (pid 4242)" in " ".join(result.stderr.split())


@pytest.mark.spark
@pytest.mark.slow
def test_local_spark_store_persists_between_processes(tmp_path):
    env = {"QIANMIAN_DATA_DIR": str(tmp_path), "QIANMIAN_SPARK_DRIVER_MEMORY": "1g"}
    csv = tmp_path / "e.csv"
    csv.write_text("user_id,item_id,category_id,behavior,ts\n1,10,100,pv,1511544070\n2,11,100,buy,1511544071\n")
    loaded = qianmian("ingest", str(csv), "--format", "taobao", "--store", "spark:local[1]", "--json", env=env)
    assert _json(loaded)["loaded"] == 2
    stats = qianmian("stats", "--store", "spark:local[1]", "--json", env=env)
    _no_spark_logs(stats)
    assert _json(stats)["tables"]["events"] == 2
    assert (tmp_path / "spark" / "metastore_db").is_dir()


def test_the_jvms_incubator_warning_never_reaches_our_stderr(capfd):
    """A local Spark's JVM stderr is passed on through `_pass_stderr`: its own warning is dropped,
    Spark's log lines (errors at the default level) still reach stderr, in order."""
    import io

    from qianmian.store.spark import _pass_stderr

    jvm = io.BytesIO(b"WARNING: Using incubator modules: jdk.incubator.vector\n"
                     b"26/12/06 03:00:00 ERROR Executor: task failed\nlast line without newline")
    _pass_stderr(jvm)
    assert capfd.readouterr().err == "26/12/06 03:00:00 ERROR Executor: task failed\nlast line without newline"
