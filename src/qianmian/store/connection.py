"""`connect`: open a store by URL and bring it up to date (schema migrations, then recovery of
unfinished batches). It sits above `base` (the `Store` class), `migrations` and `recovery`, so
none of them needs the others' import."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from qianmian.store.base import Store, open_store
from qianmian.store.migrations import migrate as run_migrations
from qianmian.store.recovery import recover
from qianmian.store.spark import SparkOptions


def connect(url: Any = "duckdb:///var/qianmian.duckdb", *, migrate: bool = True,
            spark_warehouse: str | Path | None = None, spark: SparkOptions | None = None) -> Store:
    """Open the store at `url` and bring its schema up to date.

    `spark` says how to start or join Spark (Spark URLs only); `spark_warehouse`, when given, is
    the folder of a `spark:local` store's catalog and warehouse (shorthand for `spark.folder`).

    >>> store = connect("duckdb://")          # in memory
    >>> store.count("events")
    0
    """
    opts = spark or SparkOptions()
    if spark_warehouse is not None:
        opts = dataclasses.replace(opts, folder=Path(spark_warehouse))
    store = open_store(url, opts)
    if migrate:
        run_migrations(store)
        recover(store)
    return store
