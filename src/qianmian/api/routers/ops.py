"""Health (the process answers), readiness (it can serve), and a data summary."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from qianmian import __version__
from qianmian.api.auth import require
from qianmian.api.deps import services
from qianmian.api.services import Services
from qianmian.store.summary import summary

router = APIRouter(tags=["ops"])


@router.get("/health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/ready", summary="Readiness: the log is replayed and the store answers")
def ready(svc: Services = Depends(services)) -> JSONResponse:
    checks: dict[str, Any] = {"wal": svc.log.status()}
    try:
        svc.locked(svc.store.count, "events")
        checks["store"] = "ok"
    except Exception as exc:  # readiness reports any store failure instead of raising
        checks["store"] = f"error: {type(exc).__name__}"
    ok = checks["store"] == "ok" and svc.log.started
    return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)


@router.get("/v1/summary", tags=["data"], summary="Rows per table, users, items, time span", dependencies=[require("read")])
def data_summary(svc: Services = Depends(services)) -> dict[str, Any]:
    return svc.locked(summary, svc.store, now=svc.clock())  # nothing dated after now moves the default date
