"""The CDNOW sample in a DuckDB store, ingested with the `cdnow` layout (once per session)."""

from __future__ import annotations

import pytest

from qianmian.store import Store, connect

SAMPLE = "cdnow/CDNOW_sample.txt"


@pytest.fixture(scope="session")
def cdnow_sample(tmp_path_factory, shared_data) -> Store:
    from qianmian.ingest import ingest_file

    store = connect(f"duckdb:///{tmp_path_factory.mktemp('cdnow') / 'store.duckdb'}")
    ingest_file(store, shared_data / SAMPLE, layout="cdnow")
    return store
