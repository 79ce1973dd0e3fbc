"""What is in the store for the console's Data page: ingestion history and the quarantine.

The store summary (rows per table, users, items, time span) is `GET /v1/summary` (ops router).
"""

from __future__ import annotations

from typing import Any

import ibis
from fastapi import APIRouter, Depends, Query

from qianmian.api.auth import require
from qianmian.api.deps import services
from qianmian.api.routers._params import plain, run
from qianmian.api.services import Services
from qianmian.store import Store
from qianmian.store.rows import records

router = APIRouter(prefix="/v1/data", tags=["data"], dependencies=[require("read")])


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


@router.get("/ingests", summary="Ingestion history: each file load with rows read, loaded, duplicates, quarantined")
def ingests(limit: int = Query(100, ge=1, le=1000), svc: Services = Depends(services)) -> list[dict[str, Any]]:
    return plain(run(svc, ingest_history, svc.store, limit=limit))


@router.get("/quarantine", summary="Rows refused at ingestion, with the field and the reason")
def quarantine(
    ingest_id: str | None = Query(None, min_length=1, max_length=200, description="Only rows of this load"),
    field: str | None = Query(None, min_length=1, max_length=200, description="Only rows refused for this field"),
    offset: int = Query(0, ge=0, le=10_000_000), limit: int = Query(50, ge=1, le=500),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    return plain(run(svc, quarantine_page, svc.store, ingest_id=ingest_id, field=field, offset=offset, limit=limit))
