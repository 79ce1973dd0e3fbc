"""Recovery of batches that never finished.

Every file ingest writes its rows and then, last in the same transaction, its row in `ingests`:
that row is the batch's commit record. DuckDB can replay a torn write-ahead log non-atomically after
a SIGKILL during commit (optimistically written row groups come back without the rest of the
transaction; duckdb/duckdb PR #25931), so on open we remove the rows of any batch whose commit
record is missing. Only batches written by file ingestion (`source` starting with ``ing-``) are
touched.
"""

from __future__ import annotations

from qianmian.store.base import Store

BATCH_PREFIX = "ing-"
_TAGGED = {"events": "source", "quarantine": "ingest_id"}


def orphan_batches(store: Store) -> list[str]:
    """Ingest ids that wrote rows but have no commit record in `ingests`."""
    committed = store.table("ingests").ingest_id
    found: set[str] = set()
    for table, column in _TAGGED.items():
        t = store.table(table)
        ids = t.filter(t[column].startswith(BATCH_PREFIX)).select(batch=t[column]).distinct()
        ids = ids.filter(~ids.batch.isin(committed))
        found |= set(store.execute(ids).batch)
    return sorted(found)


def recover(store: Store) -> dict[str, int]:
    """Delete the rows of unfinished batches; returns rows removed per table (empty when clean)."""
    orphans = orphan_batches(store)
    if not orphans:
        return {}
    with store.transaction():
        return {table: store.delete_where(table, column, orphans) for table, column in _TAGGED.items()}
