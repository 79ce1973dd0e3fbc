"""Saved uplift models over HTTP: what each was fitted on, its Qini on the test split beside random
and RFM targeting (with bootstrap intervals), uplift at k and the Qini curves to draw.

Models are fitted with `qianmian uplift fit` (seconds to minutes of CPU: not a request's work);
their top-k% audiences are ordinary audiences (`uplift_rank("MODEL") <= K`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path

from qianmian.api.auth import require
from qianmian.api.deps import services
from qianmian.api.routers._params import plain, run
from qianmian.api.services import Services

router = APIRouter(tags=["uplift"])
P = "/v1/uplift/models"


@router.get(P, summary="Saved uplift models with their test-split evaluation", dependencies=[require("read")])
def list_all(svc: Services = Depends(services)) -> list[dict[str, Any]]:
    from qianmian.uplift.scores import list_models

    return plain(run(svc, list_models, svc.store))


@router.get(P + "/{name}", summary="One saved uplift model: Qini with intervals, uplift at k, Qini curves",
            dependencies=[require("read")])
def one(name: str = Path(min_length=1, max_length=64, description="Model name"), svc: Services = Depends(services)) -> dict[str, Any]:
    from qianmian.uplift.scores import get_model

    return plain(run(svc, get_model, svc.store, name))
