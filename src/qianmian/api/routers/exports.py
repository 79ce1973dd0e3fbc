"""Exports over HTTP: `GET /v1/exports/{kind}` answers with the file (CSV, Parquet or JSON Lines).

The rows are written to a temporary file while the store lock is held (the engine writes in
batches, fast), then sent without the lock and deleted once sent. Consumer lists leave the system,
so an export needs the `admin` scope; opted-out shoppers are never in one (`qianmian.exports`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from qianmian.api.auth import require
from qianmian.api.deps import services
from qianmian.api.routers._params import DATE_PATTERN, optional_day, run
from qianmian.api.services import Services
from qianmian.exports import KINDS, MEDIA_TYPES, Request, export

router = APIRouter(prefix="/v1/exports", tags=["exports"], dependencies=[require("admin")])
Kinds = Literal["audience", "features", "aipl", "rfm", "crowds", "clv", "quarantine"]
assert set(Kinds.__args__) == set(KINDS)  # type: ignore[attr-defined]


@router.get("/{kind}", summary="Download a consumer list or table: " + "; ".join(f"{k}: {v.summary}" for k, v in KINDS.items()),
            response_class=FileResponse)
def download(
    kind: Kinds,
    name: str | None = Query(None, min_length=1, max_length=64, description="The audience's name (kind audience)"),
    as_of: str | None = Query(None, pattern=DATE_PATTERN, description="Day (YYYY-MM-DD); default: the last event's day "
                              "(audience: its latest materialization)"),
    format: Literal["csv", "parquet", "jsonl"] = Query("csv", description="File format"),
    k: int | None = Query(None, ge=2, le=50, description="Number of strategy crowds (kind crowds; default: chosen by silhouette)"),
    svc: Services = Depends(services),
) -> FileResponse:
    req = Request(kind, as_of=optional_day(as_of, "as_of"), name=name, k=k)
    fd, tmp = tempfile.mkstemp(prefix="qianmian-export-", suffix="." + format)
    os.close(fd)
    try:
        result = run(svc, export, svc.store, req, tmp, fmt=format)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    label = "-".join(p for p in (kind, name, as_of) if p)
    return FileResponse(tmp, media_type=MEDIA_TYPES[format], filename=f"{label}.{format}",
                        headers={"X-Rows": str(result.rows)}, background=BackgroundTask(Path(tmp).unlink, missing_ok=True))
