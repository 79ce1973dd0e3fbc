"""`qianmian cluster up|down|status`: a real Spark standalone cluster on this machine.

`up` starts, from the installed pyspark, a master, N workers and a Spark Connect server whose Hive
catalog and warehouse live under --dir, waits until the server runs a job, and prints the store URL
every Qianmian process then uses (`--store sc://127.0.0.1:15002`). `down` stops them by the process
ids recorded in DIR/cluster.json. docs/scale.md explains the same for a cluster of many machines.
"""

from __future__ import annotations

from pathlib import Path

import typer

from qianmian.cli.common import (
    JsonOption,
    console,
    errors_to_exit,
    print_json,
    settings,
)

cluster_app = typer.Typer(help="A Spark cluster on this machine that many Qianmian processes share (sc:// store).",
                          no_args_is_help=True)
DirOption = typer.Option(None, "--dir", help="Folder of the cluster's catalog, warehouse, logs and pids (default <data_dir>/cluster)")


def _dir(folder: Path | None) -> Path:
    return folder or settings().data_dir / "cluster"


@cluster_app.command("up")
def up(
    folder: Path | None = DirOption,
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes (the machine's cores are shared out among them)"),
    master_port: int = typer.Option(7077, "--master-port", min=0, max=65535, help="The master's port (0: any free port)"),
    connect_port: int = typer.Option(15002, "--connect-port", min=0, max=65535, help="The Spark Connect port (0: any free port)"),
    worker_memory: str = typer.Option("1g", "--worker-memory", help="Memory each worker offers its executors"),
    executor_memory: str = typer.Option("768m", "--executor-memory", help="Heap of each executor"),
    driver_memory: str = typer.Option("1g", "--driver-memory", help="Heap of the Connect server (the driver: catalog, results it collects)"),
    timeout: float = typer.Option(240.0, "--timeout", help="Seconds to wait for the cluster to run its first job"),
    as_json: bool = JsonOption,
) -> None:
    """Start a master, the workers and a Spark Connect server; print the sc:// store URL."""
    from qianmian.store.cluster import ClusterSpec
    from qianmian.store.cluster import up as start

    s = settings()
    spec = ClusterSpec(_dir(folder), workers=workers, master_port=master_port, connect_port=connect_port,
                       worker_memory=worker_memory, executor_memory=executor_memory, driver_memory=driver_memory,
                       shuffle_partitions=s.spark_shuffle_partitions, conf=dict(s.spark_conf))
    with errors_to_exit():
        if as_json:
            info = start(spec, timeout=timeout)
        else:
            with console.status(f"starting a Spark master, {workers} worker(s) and a Spark Connect server …"):
                info = start(spec, timeout=timeout)
    if as_json:
        print_json(info.to_dict())
        return
    console.print(f"[green]✓[/green] cluster up: master {info.master}, warehouse {info.warehouse}")
    console.print(f"store URL (use with --store or QIANMIAN_STORE): [bold]{info.store}[/bold]")
    console.print(f"stop it with: qianmian cluster down --dir {info.dir}")


@cluster_app.command("down")
def down(folder: Path | None = DirOption, as_json: bool = JsonOption) -> None:
    """Stop the cluster started in --dir (by its recorded process ids)."""
    from qianmian.store.cluster import down as stop

    with errors_to_exit():
        pids = stop(_dir(folder))
    if as_json:
        print_json({"stopped": pids})
        return
    console.print(f"cluster down: stopped {len(pids)} process(es) {pids}")


@cluster_app.command("status")
def status(folder: Path | None = DirOption, as_json: bool = JsonOption) -> None:
    """Whether the cluster in --dir runs: each process, and whether the Connect server answers."""
    from qianmian.store.cluster import status as read

    with errors_to_exit():
        info = read(_dir(folder))
    if as_json:
        print_json(info)
        return
    if not info["processes"]:
        console.print(f"no cluster recorded in {info['dir']}")
        return
    state = "[green]running[/green]" if info["running"] else "[red]not running[/red]"
    console.print(f"cluster in {info['dir']}: {state}; store {info['store']}, master {info['master']}")
    for name, alive in info["processes"].items():
        console.print(f"  {name} (pid {info['pids'][name]}): {'alive' if alive else 'gone'}")


def register(app: typer.Typer) -> None:
    app.add_typer(cluster_app, name="cluster")
