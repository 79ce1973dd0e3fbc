"""A real Spark standalone cluster on this machine, started from the installed pyspark.

`up(ClusterSpec(dir))` starts a master, N workers and a Spark Connect server (a long-running Spark
application with a Hive catalog and a warehouse under `dir`), waits until the server runs a job on
the workers, and records the process ids in `dir/cluster.json`; `down(dir)` stops them by those
ids. Every Qianmian process then uses the store ``sc://127.0.0.1:<connect_port>``.

>>> info = up(ClusterSpec(Path("var/cluster"), workers=1))   # doctest: +SKIP
>>> info.store                                                # doctest: +SKIP
'sc://127.0.0.1:15002'
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qianmian.errors import InputError, StoreError
from qianmian.store.spark import STAGING_CONF, java_options, require_java

CONNECT_SERVER = "org.apache.spark.sql.connect.service.SparkConnectServer"
STATE = "cluster.json"


@dataclass(frozen=True)
class ClusterSpec:
    """What to start. Ports 0 mean "pick a free one". Memory sizes are JVM sizes ("512m", "2g")."""

    dir: Path
    workers: int = 1
    host: str = "127.0.0.1"
    master_port: int = 7077
    connect_port: int = 15002
    worker_cores: int = 0  # 0: the machine's cores shared out among the workers
    worker_memory: str = "1g"
    executor_memory: str = "768m"
    driver_memory: str = "1g"
    daemon_memory: str = "256m"
    shuffle_partitions: int = 4
    log_level: str = "INFO"
    conf: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClusterInfo:
    """A started cluster, as recorded in `dir/cluster.json`."""

    store: str
    master: str
    dir: str
    warehouse: str
    metastore: str
    pids: dict[str, int]
    logs: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def up(spec: ClusterSpec, *, timeout: float = 240.0) -> ClusterInfo:
    """Start the cluster described by `spec` and wait until its Connect server runs a job."""
    require_java()
    if spec.workers < 1:
        raise InputError("workers", "at least 1", spec.workers)
    folder = spec.dir.resolve()
    running = _alive(_read_state(folder))
    if running:
        raise StoreError(f"cluster dir {str(folder)!r}: a cluster is already running there (pids {sorted(running.values())}); "
                         f"stop it with `qianmian cluster down --dir {folder}`")
    for sub in ("logs", "work", "staging", "warehouse"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    master_port, connect_port = _port(spec.host, spec.master_port, "master port"), _port(spec.host, spec.connect_port, "connect port")
    info = ClusterInfo(store=f"sc://{spec.host}:{connect_port}", master=f"spark://{spec.host}:{master_port}", dir=str(folder),
                       warehouse=str(folder / "warehouse"), metastore=str(folder / "metastore_db"), pids={}, logs=str(folder / "logs"))
    pids: dict[str, int] = {}
    try:
        pids["master"] = _start(folder, "master", _master_cmd(spec, master_port), spec)
        _wait_for(lambda: _answers(spec.host, master_port), timeout, "the master", folder / "logs" / "master.log")
        for i in range(spec.workers):
            name = f"worker-{i + 1}"
            pids[name] = _start(folder, name, _worker_cmd(spec, folder, name, info.master), spec)
            _wait_for(lambda n=name: "Successfully registered with master" in _read(folder / "logs" / f"{n}.log"),
                      timeout, name, folder / "logs" / f"{name}.log")
        pids["connect"] = _start(folder, "connect", _connect_cmd(spec, folder, info.master, connect_port), spec, daemon=False)
        info = ClusterInfo(**{**asdict(info), "pids": pids})
        _write_state(folder, info)
        _wait_for(lambda: _runs_a_job(info.store), timeout, "the Spark Connect server", folder / "logs" / "connect.log")
    except BaseException:
        _stop(pids)
        (folder / STATE).unlink(missing_ok=True)
        raise
    return info


def down(folder: Path, *, timeout: float = 30.0) -> list[int]:
    """Stop the cluster recorded in `folder` (its Connect server first); returns the stopped pids."""
    state = _read_state(folder.resolve())
    if state is None:
        raise StoreError(f"cluster dir {str(folder)!r}: no cluster was started there (no {STATE})")
    stopped = _stop(state.pids, timeout=timeout)
    (folder.resolve() / STATE).unlink(missing_ok=True)
    return stopped


def status(folder: Path) -> dict[str, Any]:
    """The recorded cluster and whether each of its processes is alive and the server answers."""
    state = _read_state(folder.resolve())
    if state is None:
        return {"dir": str(folder.resolve()), "running": False, "processes": {}}
    alive = _alive(state)
    host, port = state.store[len("sc://"):].rsplit(":", 1)
    return {**state.to_dict(), "running": len(alive) == len(state.pids) and _answers(host, int(port)),
            "processes": {name: name in alive for name in state.pids}}


# -- commands --------------------------------------------------------------------------------
def _bin(name: str) -> str:
    return str(spark_home() / "bin" / name)


def _master_cmd(spec: ClusterSpec, port: int) -> list[str]:
    return [_bin("spark-class"), "org.apache.spark.deploy.master.Master", "--host", spec.host, "--port", str(port), "--webui-port", "0"]


def _worker_cmd(spec: ClusterSpec, folder: Path, name: str, master: str) -> list[str]:
    cores = spec.worker_cores or max(1, (os.cpu_count() or 1) // spec.workers)
    return [_bin("spark-class"), "org.apache.spark.deploy.worker.Worker", "--host", spec.host, "--cores", str(cores),
            "--memory", spec.worker_memory, "--webui-port", "0", "--work-dir", str(folder / "work" / name), master]


def _connect_cmd(spec: ClusterSpec, folder: Path, master: str, port: int) -> list[str]:
    conf = {
        "spark.connect.grpc.binding.port": str(port),
        "spark.connect.grpc.binding.address": spec.host,
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(folder / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={folder / 'metastore_db'};create=true",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(spec.shuffle_partitions),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # each client is its own session, and a session caches a table's file list: without this a
        # long-lived client (an API replica) would not see rows another client appended since
        "spark.sql.filesourceTableRelationCacheSize": "0",
        "spark.executor.extraJavaOptions": java_options("WARN"),
        STAGING_CONF: str(folder / "staging"),
        **spec.conf,
    }
    cmd = [_bin("spark-submit"), "--class", CONNECT_SERVER, "--name", "qianmian-connect", "--master", master,
           "--driver-memory", spec.driver_memory, "--executor-memory", spec.executor_memory,
           "--driver-java-options", java_options(spec.log_level, f"-Dderby.system.home={folder}")]
    for key, value in conf.items():
        cmd += ["--conf", f"{key}={value}"]
    return cmd


def _start(folder: Path, name: str, cmd: list[str], spec: ClusterSpec, *, daemon: bool = True) -> int:
    env = {**os.environ, "SPARK_HOME": str(spark_home()), "SPARK_LOCAL_IP": spec.host, "SPARK_LOG_DIR": str(folder / "logs"),
           "SPARK_CONF_DIR": str(folder / "conf")}
    if daemon:
        env["SPARK_DAEMON_MEMORY"] = spec.daemon_memory
        env["SPARK_DAEMON_JAVA_OPTS"] = java_options(spec.log_level)
    else:
        env.pop("SPARK_DAEMON_MEMORY", None)  # spark-submit would size the server's heap by it
    (folder / "conf").mkdir(exist_ok=True)
    with open(folder / "logs" / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=folder, start_new_session=True)  # its own process group: `down` stops executors too
    return proc.pid


# -- waiting and stopping ----------------------------------------------------------------------
def _port(host: str, port: int, what: str) -> int:
    if port == 0:
        with socket.socket() as s:
            s.bind((host, 0))
            return int(s.getsockname()[1])
    if _answers(host, port):
        raise StoreError(f"{what} {port}: already in use on {host} (another cluster?); choose another with "
                         f"--{what.replace(' ', '-')} or 0 for any free port")
    return port


def _answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1.0):
        return True
    return False


def _runs_a_job(url: str) -> bool:
    """True once the Connect server answers and its workers run a job (a sum over 1..100)."""
    try:
        from pyspark.sql.connect.session import SparkSession

        s = SparkSession.builder.remote(url).getOrCreate()
        try:
            return s.range(1, 101).selectExpr("sum(id) AS s").collect()[0]["s"] == 5050
        finally:
            s.stop()
    except Exception:
        return False


def _wait_for(ready: Any, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(1.0)
    tail = "\n".join(_read(log).splitlines()[-15:])
    raise StoreError(f"cluster: {what} did not come up within {timeout:.0f} s; the end of {log}:\n{tail}")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _is_spark(pid: int) -> bool:
    """The pid runs a Spark JVM (a recorded pid may have been reused by an unrelated process)."""
    try:
        return b"org.apache.spark" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _stop(pids: dict[str, int], *, timeout: float = 30.0) -> list[int]:
    order = [n for n in pids if n == "connect"] + [n for n in pids if n.startswith("worker")] + [n for n in pids if n == "master"]
    stopped = []
    for name in order:
        pid = pids[name]
        if not _is_spark(pid):
            continue
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _group_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _group_alive(pid):
            _signal_group(pid, signal.SIGKILL)
        stopped.append(pid)
    return stopped


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _group_alive(pgid: int) -> bool:
    """Any process left in the group `pgid` (the daemon, or an executor a worker started)."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (proc / "stat").read_text()
                fields = stat[stat.rindex(")") + 2:].split()
                if int(fields[2]) == pgid and fields[0] != "Z":
                    return True
    return False


def _alive(state: ClusterInfo | None) -> dict[str, int]:
    return {n: p for n, p in (state.pids if state else {}).items() if _is_spark(p)}


def _read_state(folder: Path) -> ClusterInfo | None:
    text = _read(folder / STATE)
    return ClusterInfo(**json.loads(text)) if text else None


def _write_state(folder: Path, info: ClusterInfo) -> None:
    tmp = folder / (STATE + ".tmp")
    tmp.write_text(json.dumps(info.to_dict(), indent=2), encoding="utf-8")
    tmp.replace(folder / STATE)
