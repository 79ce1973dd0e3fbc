"""`qianmian serve` (the API and console) and `qianmian demo` (load the bundled data, then serve)."""

from __future__ import annotations

import typer

from qianmian.cli.common import StoreOption, console, errors_to_exit, settings


def _run(store_url: str | None, host: str | None, port: int | None, store=None, **more) -> None:
    import uvicorn

    from qianmian.api import create_app

    s = settings()
    overrides = {k: v for k, v in {"store": store_url, "host": host, "port": port, **more}.items() if v is not None}
    s = s.model_copy(update=overrides)
    app = create_app(s, store=store)
    console.print(f"Qianmian serving {s.store} on [bold]http://{s.host}:{s.port}[/bold] (API docs at /docs)")
    uvicorn.run(app, host=s.host, port=s.port, log_level="warning")


def serve(
    store: str | None = StoreOption,
    host: str | None = typer.Option(None, "--host", help="Interface to listen on (default 127.0.0.1)"),
    port: int | None = typer.Option(None, "--port", help="Port (default 8000)"),
) -> None:
    """Serve the HTTP API and the web console."""
    with errors_to_exit():
        _run(store, host, port)


def demo(
    store: str = typer.Option("duckdb:///var/demo.duckdb", "--store", help="Store URL for the demo"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    no_serve: bool = typer.Option(False, "--no-serve", help="Prepare the store and exit"),
) -> None:
    """Load the bundled real Taobao slice, build audiences, train models, start the 2:8 storefront
    experiment, then serve the API and console."""
    from qianmian.demo import EXPERIMENT, experiences_path, prepare
    from qianmian.store import connect

    with errors_to_exit():
        s = connect(store)
        data_dir = settings().data_dir
        with console.status("preparing the demo") as status:
            for name, result in prepare(s, data_dir, on_step=lambda n: status.update(f"demo: {n} …")):
                console.print(f"[green]✓[/green] {name}: {result.to_dict() if hasattr(result, 'to_dict') else result}")
        if not no_serve:
            _run(store, host, port, store=s, storefront_experiment=EXPERIMENT, experiences_file=experiences_path())


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(demo)
