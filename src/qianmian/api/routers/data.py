"""What is in the store for the console's Data page: ingestion history and the quarantine.

The store summary (rows per table, users, items, time span) is `GET /v1/summary` (ops router).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from qianmian.api.auth import require
from qianmian.api.deps import services
from qianmian.api.routers._params import plain, run
from qianmian.api.services import Services
from qianmian.ingest.history import ingest_history, quarantine_page

router = APIRouter(prefix="/v1/data", tags=["data"], dependencies=[require("read")])


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
