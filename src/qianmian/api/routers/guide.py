"""`GET /guide/{page}`: a page of the user guide (docs/{page}.md) as text, for the console's "what this
means" links (the CLV card links to /guide/clv).

Pages are read from the checkout's docs/ folder; an installation without it answers 404 naming the
page. The page name is a plain word (letters, digits, dashes), so no path can leave docs/.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import PlainTextResponse

from qianmian.errors import NotFoundError

DOCS_DIR = Path(__file__).resolve().parents[4] / "docs"

router = APIRouter(tags=["console"])


@router.get("/guide/{page}", include_in_schema=False)
def guide(page: str = PathParam(..., pattern=r"^[a-z0-9][a-z0-9-]{0,40}$")) -> PlainTextResponse:
    path = DOCS_DIR / f"{page}.md"
    if not path.is_file():
        raise NotFoundError("guide page", page)
    return PlainTextResponse(path.read_text(encoding="utf-8"), media_type="text/plain; charset=utf-8",
                             headers={"Cache-Control": "no-cache"})
