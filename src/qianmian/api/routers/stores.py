"""Offline stores near a point."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from qianmian.api.auth import require
from qianmian.api.deps import services
from qianmian.api.services import Services
from qianmian.storefront.nearby import nearest_store_rows

router = APIRouter(tags=["stores"], dependencies=[require("read")])


@router.get("/v1/stores/nearest", summary="The nearest offline stores (haversine distance)")
def nearest(
    lat: float = Query(..., ge=-90, le=90),
    lon: float = Query(..., ge=-180, le=180),
    k: int = Query(3, ge=1, le=100),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    rows = svc.locked(lambda: nearest_store_rows(svc.store, lat=lat, lon=lon, k=k))
    return {"lat": lat, "lon": lon, "stores": rows}
