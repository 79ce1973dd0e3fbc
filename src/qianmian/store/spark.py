"""Spark sessions for the three Spark store URLs, and what keeps them quiet and persistent.

- ``spark:local[N]``: Spark inside this process, with a Hive catalog (embedded Derby) and a warehouse
  in a fixed folder (`SparkOptions.folder`), so the next process on the same folder sees the same
  tables. Embedded Derby admits one process at a time: a second one gets a `StoreError` that says
  which process holds the folder (use a cluster and ``sc://`` for many processes).
- ``spark://HOST:PORT``: this process is the driver of a new application on a standalone cluster.
- ``sc://HOST:PORT``: this process is a Spark Connect client of a long-running Spark application
  (`qianmian cluster up` starts one) that holds the catalog; any number of processes share it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from qianmian.errors import StoreError

LogLevel = Literal["OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG"]
LOG4J2 = Path(__file__).with_name("log4j2.properties")
STAGING_CONF = "spark.qianmian.staging"
"""A Connect server's setting naming a folder both it and its clients can read and write (a local
cluster's `DIR/staging`, or a shared mount): clients hand batches over as Parquet files there."""

JVM_NOISE = (b"WARNING: Using incubator modules",)
"""Lines the JVM writes to stderr on its own that never reach Qianmian's output."""

_locks: dict[Path, IO[str]] = {}


@dataclass(frozen=True)
class SparkOptions:
    """How Qianmian starts or joins Spark (the `spark_*` settings).

    `folder` holds a local store's catalog and warehouse (`spark:local` only; a temporary folder
    when None, and then nothing persists). `conf` is passed through as `spark.*` settings, last.
    """

    folder: Path | None = None
    driver_memory: str = "2g"
    shuffle_partitions: int = 4
    log_level: LogLevel = "ERROR"
    conf: dict[str, str] = field(default_factory=dict)
    hive: bool = True


def java_available() -> bool:
    return bool(os.environ.get("JAVA_HOME")) or shutil.which("java") is not None


def require_java() -> None:
    if not java_available():
        raise StoreError("Spark needs Java 17: no `java` on PATH and JAVA_HOME is not set "
                         "(install it, e.g. `apt-get install openjdk-17-jre-headless`)")


def java_options(log_level: str, *extra: str) -> str:
    """JVM flags that route Spark's own logging through our log4j2 file (to stderr, at `log_level`)."""
    return " ".join([f"-Dlog4j2.configurationFile=file:{LOG4J2}", f"-Dqianmian.spark.log.level={log_level}", *extra])


def session(url: str, options: SparkOptions | None = None) -> Any:
    """A SparkSession for `spark:local[N]`, `spark://HOST:PORT` or `sc://HOST:PORT`."""
    opts = options or SparkOptions()
    if url.startswith("sc://"):
        s = _connect_session(url)
        for key, value in opts.conf.items():  # the server owns the rest; a session may change SQL settings
            if key.startswith("spark.sql."):
                s.conf.set(key, value)
        return s
    require_java()
    from pyspark.sql import SparkSession

    rest = url[len("spark:"):]
    local = rest.startswith("local")
    folder = _local_folder(opts, url) if local else Path(tempfile.mkdtemp(prefix="qianmian-spark-"))
    master = rest if local else "spark:" + rest
    conf = {"spark.master": master, "spark.app.name": "qianmian", **_conf(opts, folder, hive=local and opts.hive)}
    _launch_quiet_gateway(conf)
    builder = SparkSession.builder.master(master).appName("qianmian")
    for key, value in conf.items():
        builder = builder.config(key, value)
    s = builder.getOrCreate()
    s.sparkContext.setLogLevel(opts.log_level)
    return s


def _launch_quiet_gateway(conf: dict[str, str]) -> None:
    """Start this process's JVM (once) with its stderr passed on through a filter.

    Spark's launcher always adds `--add-modules=jdk.incubator.vector`, and the JVM answers it with
    `WARNING: Using incubator modules: jdk.incubator.vector` on stderr, before any logging setting
    applies. No JVM option silences that line, so the JVM's stderr goes through a pipe, and a thread
    copies every other line to this process's stderr (Spark's own logs at `spark_log_level`).
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    with SparkContext._lock:
        if SparkContext._gateway is not None:  # a JVM already runs in this process
            return
        gateway = launch_gateway(SparkConf(loadDefaults=False).setAll(conf.items()), popen_kwargs={"stderr": subprocess.PIPE})
        threading.Thread(target=_pass_stderr, args=(gateway.proc.stderr,), name="spark-stderr", daemon=True).start()
    SparkContext._ensure_initialized(gateway=gateway)


def _pass_stderr(stream: IO[bytes]) -> None:
    """Copy the JVM's stderr to ours, line by line, less the JVM's incubator-modules warning."""
    for line in iter(stream.readline, b""):
        if not line.startswith(JVM_NOISE):
            with contextlib.suppress(OSError):
                os.write(2, line)


def _conf(opts: SparkOptions, folder: Path, *, hive: bool) -> dict[str, str]:
    conf = {
        "spark.sql.warehouse.dir": str(folder / "warehouse"),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(opts.shuffle_partitions),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": opts.driver_memory,
        "spark.driver.extraJavaOptions": java_options(opts.log_level, f"-Dderby.system.home={folder}"),
    }
    if hive:
        conf["spark.sql.catalogImplementation"] = "hive"
        conf["spark.hadoop.javax.jdo.option.ConnectionURL"] = f"jdbc:derby:;databaseName={folder / 'metastore_db'};create=true"
    return {**conf, **opts.conf}


def _local_folder(opts: SparkOptions, url: str) -> Path:
    """The local store's folder, locked for this process (embedded Derby admits one)."""
    if opts.folder is None:
        return Path(tempfile.mkdtemp(prefix="qianmian-spark-"))
    folder = opts.folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    if folder in _locks:
        return folder
    handle = open(folder / ".lock", "a+", encoding="utf-8")  # noqa: SIM115 - held until the process ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise StoreError(
            f"store url {url!r}: the Spark folder {str(folder)!r} is in use by another process (pid {holder}); "
            "a local Spark store (embedded Derby catalog) admits one process at a time. For many processes, "
            "start a cluster with `qianmian cluster up` and use the sc:// URL it prints"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    _locks[folder] = handle
    return folder


def _connect_session(url: str) -> Any:
    try:  # the Connect builder itself: pyspark's generic one refuses while a local session runs in this process
        from pyspark.sql.connect.session import SparkSession as RemoteSession
    except ImportError as exc:
        raise StoreError(f"store url {url!r}: Spark Connect needs the client extras: pip install 'qianmian[spark]' ({exc})") from exc

    host, _, port = url[len("sc://"):].split("/", 1)[0].partition(":")
    try:  # the client would retry a closed port for minutes before failing
        socket.create_connection((host, int(port)), timeout=5.0).close()
    except (OSError, ValueError) as exc:
        raise StoreError(f"store url {url!r}: no Spark Connect server answers there "
                         f"(start one with `qianmian cluster up`): {exc}") from exc
    try:
        s = RemoteSession.builder.remote(url).getOrCreate()
        s.sql("SELECT 1").collect()  # the client connects lazily: fail here, with the URL, if nobody answers
    except Exception as exc:
        raise StoreError(f"store url {url!r}: no Spark Connect server answers there "
                         f"(start one with `qianmian cluster up`): {str(exc).splitlines()[0][:300]}") from exc
    warnings.filterwarnings("ignore", message="'verifySchema' is ignored", category=UserWarning)
    return s


def staging_folder(session: Any) -> Path | None:
    """The Connect server's shared staging folder, when this process can write to it."""
    with contextlib.suppress(Exception):
        value = session.conf.get(STAGING_CONF, None)
        if value and os.access(value, os.W_OK):
            return Path(value)
    return None
