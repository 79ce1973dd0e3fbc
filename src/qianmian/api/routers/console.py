"""The web console: `/` → `/console/`, the single page at `/console/…`, assets under `/static/`,
and `GET /v1/console/session` (is sign-in needed, and which scopes the presented key has).

Everything the console loads comes from this app (no CDN); see docs/console.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from qianmian import __version__
from qianmian.api.auth import presented_key
from qianmian.api.deps import services
from qianmian.api.services import Services
from qianmian.errors import AuthError, NotFoundError
from qianmian.web import STATIC_DIR, asset

router = APIRouter(tags=["console"])
_bearer = HTTPBearer(auto_error=False, description="API key as a bearer token")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
NO_STORE = {"Cache-Control": "no-cache"}


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console", include_in_schema=False)
def console_bare() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console/{rest:path}", include_in_schema=False)
def console(rest: str = "") -> FileResponse:
    """The single page; the part after `#` chooses the view in the browser."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8", headers=NO_STORE)


@router.get("/static/{path:path}", include_in_schema=False)
def static(path: str) -> Response:
    found = asset(path)
    if found is None:
        raise NotFoundError("console asset", path)
    return FileResponse(found, headers=NO_STORE)


@router.get("/v1/console/session", summary="What the console needs to start: sign-in required?, the key's scopes, the version")
def session(request: Request, svc: Services = Depends(services),
            bearer: HTTPAuthorizationCredentials | None = Depends(_bearer), header: str | None = Depends(_header)) -> dict[str, Any]:
    s = svc.settings
    out: dict[str, Any] = {"version": __version__, "auth": s.auth, "loopback": s.host in LOOPBACK, "engine": svc.store.engine}
    if not s.auth:
        return out | {"signed_in": True, "scopes": ["ingest", "read", "admin"], "key_id": None}
    key = presented_key(bearer, header)
    if key is None:
        return out | {"signed_in": False, "scopes": [], "key_id": None}
    try:
        found = svc.keyring.verify(key)
    except AuthError as exc:
        return out | {"signed_in": False, "scopes": [], "key_id": None, "message": str(exc)}
    return out | {"signed_in": found.revoked_at is None, "scopes": sorted(found.scopes), "key_id": found.key_id, "name": found.name}

