"""The store: the only place in Qianmian that runs queries.

`connect(url)` picks the engine by URL scheme and returns a `Store` over an Ibis backend:

- ``duckdb:///path/file.duckdb`` (default; ``duckdb://`` or ``duckdb:///:memory:`` for in-memory)
- ``spark:local[2]`` (local mode) or ``spark://HOST:PORT`` (a cluster), or an existing SparkSession

Domain code builds Ibis expressions from `store.table(name)` and hands them back to `store.execute`.
"""

from qianmian.store.base import Store
from qianmian.store.connection import connect

__all__ = ["Store", "connect"]
