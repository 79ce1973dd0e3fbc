"""Fixtures for the recommendation tests: a small synthetic store and a bundle trained on it."""

from __future__ import annotations

import datetime as dt

import pytest

from . import synthetic

AS_OF = dt.date(2024, 3, 20)


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory):
    """A DuckDB store with the synthetic events, catalog, a self-tag and an opted-out shopper."""
    import pandas as pd

    from qianmian.store import connect

    store = connect(f"duckdb:///{tmp_path_factory.mktemp('rec') / 'store.duckdb'}")
    store.append("events", synthetic.events())
    store.append("items", synthetic.items())
    store.append("users", pd.DataFrame({"user_id": ["u0", "u1", "u7"], "consent": [True, True, False]}))
    store.append(
        "user_tags",
        pd.DataFrame(
            {
                "user_id": ["u1", "u1", "u4", "u4"],
                "tag": ["unscented", "budget", "unscented", "unscented"],
                "active": [True, True, True, False],
                "source": ["self"] * 4,
                "ts": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-03-01", "2024-03-05"]),
            }
        ),
    )
    return store


@pytest.fixture(scope="session")
def models_dir(tiny_store, tmp_path_factory):
    from qianmian.recommend import train

    out = tmp_path_factory.mktemp("models")
    train(tiny_store, as_of=AS_OF, models_dir=out)
    return out
