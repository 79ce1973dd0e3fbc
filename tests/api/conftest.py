"""An app over a fresh DuckDB store in a temp dir, with a fixed business clock."""

from __future__ import annotations

import datetime as dt
import warnings

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*")

from fastapi.testclient import TestClient  # noqa: E402

from qianmian.api import create_app  # noqa: E402
from qianmian.config import Settings  # noqa: E402

NOW = dt.datetime(2017, 12, 4, 10, 0, 0)


def make_settings(tmp_path, **overrides) -> Settings:
    base = {"store": f"duckdb:///{tmp_path / 'store.duckdb'}", "data_dir": tmp_path / "data", "writer_interval_seconds": 0.02}
    return Settings(**{**base, **overrides})


@pytest.fixture
def make_client(tmp_path):
    """`make_client(**settings)` → a started TestClient; closed at the end of the test."""
    opened = []

    def make(**overrides) -> TestClient:
        app = create_app(make_settings(tmp_path, **overrides), clock=lambda: NOW)
        client = TestClient(app)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in reversed(opened):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()
