"""Online Retail II ingested once per session on DuckDB, for the feature-table tests."""

from __future__ import annotations

import pytest

from qianmian.store import Store, connect


@pytest.fixture(scope="session")
def retail(tmp_path_factory, shared_data) -> Store:
    from qianmian.ingest import ingest_file

    store = connect(f"duckdb:///{tmp_path_factory.mktemp('retail') / 'store.duckdb'}")
    ingest_file(store, shared_data / "online_retail_ii/online_retail_ii_2009_2010.csv.gz", layout="online-retail")
    return store
