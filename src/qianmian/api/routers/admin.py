"""Operations that need the admin scope: rebuild caches now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from qianmian.api.auth import require
from qianmian.api.deps import services
from qianmian.api.services import Services

router = APIRouter(prefix="/v1/admin", tags=["ops"], dependencies=[require("admin")])


@router.post("/refresh", summary="Apply pending events, then reload experiences, audiences, profiles, popularity and keys")
def refresh(svc: Services = Depends(services)) -> dict[str, Any]:
    svc.refresh()
    return {"refreshed": True, "problems": dict(svc.storefront.problems), "wal": svc.log.status()}
