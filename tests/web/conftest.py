"""The console's fixtures: the bundled demo slice in a DuckDB file (prepared once per session, with the
console examples), an app over it with a fixed business clock, and a live server for the browser."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

NOW = dt.datetime(2017, 12, 4, 10, 0)
AS_OF = "2017-12-03"
SINCE = "2017-11-26"


@pytest.fixture(scope="session")
def pristine_demo(tmp_path_factory) -> Path:
    """A DuckDB file holding the demo's steps (`qianmian.demo.STEPS`) but model training: the
    storefront falls back to popularity rails, and the suite saves a minute of CPU."""
    from qianmian import demo
    from qianmian.store import connect

    folder = tmp_path_factory.mktemp("console")
    path = folder / "demo.duckdb"
    store = connect(f"duckdb:///{path}")
    for _name, step in demo.STEPS:
        if step is not demo.models:
            step(store, folder / "data")
    store.close()
    return path


@pytest.fixture(scope="module")
def demo_file(pristine_demo, tmp_path_factory) -> Path:
    """A copy of the prepared demo store for one test module (modules change what they read)."""
    import shutil

    copy = tmp_path_factory.mktemp("module") / "demo.duckdb"
    shutil.copyfile(pristine_demo, copy)
    return copy


def cli_json(demo_file: Path, *args: str) -> object:
    """What `qianmian <args> --store <demo file> --json` prints, parsed."""
    import json

    from typer.testing import CliRunner

    from qianmian.cli import app as cli

    result = CliRunner().invoke(cli, [*args, "--store", f"duckdb:///{demo_file}", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def make_app(path: Path, data_dir: Path, **settings):
    """The app as `qianmian demo` serves it (its 2:8 storefront experiment and experiences file)."""
    from qianmian import demo
    from qianmian.api import create_app
    from qianmian.config import Settings
    from qianmian.store import connect

    url = f"duckdb:///{path}"
    settings = {"storefront_experiment": demo.EXPERIMENT, "experiences_file": demo.experiences_path(), **settings}
    s = Settings(store=url, data_dir=data_dir, writer_interval_seconds=0.02, **settings)
    return create_app(s, store=connect(url), clock=lambda: NOW)


@pytest.fixture(scope="module")
def client(demo_file, tmp_path_factory):
    from fastapi.testclient import TestClient

    with TestClient(make_app(demo_file, tmp_path_factory.mktemp("data"))) as c:
        yield c


class LiveServer:
    """uvicorn serving `app` on a free loopback port, in a background thread."""

    def __init__(self, app) -> None:
        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, name="console-test-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the console test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def live(demo_file, tmp_path_factory) -> Iterator[LiveServer]:
    with LiveServer(make_app(demo_file, tmp_path_factory.mktemp("data"))) as server:
        yield server
