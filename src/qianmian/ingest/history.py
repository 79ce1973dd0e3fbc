"""What ingestion did, as the console's Data page and `qianmian quarantine` read it: the history of
file loads and the rows refused (the quarantine), with the reasons grouped by the rule broken."""

from __future__ import annotations

from typing import Any

import ibis
import pandas as pd

from qianmian.store import Store
from qianmian.store.rows import records


def ingest_history(store: Store, *, limit: int) -> list[dict[str, Any]]:
    """The latest `limit` file loads, newest first."""
    t = store.table("ingests")
    return records(store.execute(t.order_by([ibis.desc(t.started_at), t.ingest_id]).limit(limit)))


def quarantine_page(store: Store, *, ingest_id: str | None, field: str | None, offset: int, limit: int) -> dict[str, Any]:
    """Quarantined rows (optionally of one load and one field), the reasons grouped by the rule broken
    (the received value cut off), and one page of rows."""
    q = store.table("quarantine")
    if ingest_id is not None:
        q = q.filter(q.ingest_id == ingest_id)
    if field is not None:
        q = q.filter(q.field == field)
    kind = q.reason.re_replace(r", received .*$", "")  # the rule broken, without the value that broke it
    kinds = q.mutate(reason=kind)
    reasons = kinds.group_by(["field", "reason"]).aggregate(rows=kinds.count())
    reasons = reasons.order_by([ibis.desc(reasons.rows), reasons.field, reasons.reason]).limit(50)
    order = [q.ingest_id, q.source, q.row_number]
    numbered = q.mutate(_n=ibis.row_number().over(order_by=order))  # LIMIT … OFFSET breaks the Spark backend's result schema
    page = numbered.filter(numbered._n >= offset, numbered._n < offset + limit).order_by("_n").drop("_n")
    return {
        "total": int(store.execute(q.count())),
        "offset": offset,
        "reasons": records(store.execute(reasons)),
        "rows": records(store.execute(page)),
    }


def quarantined_rows(store: Store, *, limit: int) -> pd.DataFrame:
    """The first `limit` quarantined rows, by source and record number."""
    q = store.table("quarantine")
    return store.execute(q.order_by([q.source, q.row_number]).limit(limit))
