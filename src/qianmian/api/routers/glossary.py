"""`GET /v1/glossary`: every number's name, label, formula, sentence and unit (`qianmian.metrics.glossary`).

The console reads it for its tooltips, so a rate on screen and its formula come from one place.
"""

from __future__ import annotations

from fastapi import APIRouter

from qianmian.api.auth import require
from qianmian.metrics import glossary

router = APIRouter(tags=["reports"])


@router.get("/v1/glossary", summary="What every rate and count means: name, label, formula, sentence, unit",
            dependencies=[require("read")])
def terms() -> list[dict[str, object]]:
    return glossary.as_list()
