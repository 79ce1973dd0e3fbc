"""Authentication: API keys with scopes, checked by a FastAPI dependency.

Send a key as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. Missing or unknown key →
401; a valid key without the route's scope → 403. With ``settings.auth = false`` (the demo on
loopback) every route is open.

The server keeps the active key hashes in memory (`KeyRing`); an unknown key triggers a reload
from the store at most once per second, so a key created by `qianmian keys create` works at once,
and a periodic refresh picks up revocations made elsewhere (another replica or the CLI).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request

from qianmian.api.keys import ApiKey, Scope, hash_key
from qianmian.errors import AuthError, ForbiddenError


class KeyRing:
    """Active key hashes in memory, reloaded through `load` when needed."""

    def __init__(self, load: Callable[[], dict[str, ApiKey]], *, min_reload_seconds: float = 1.0) -> None:
        self._load = load
        self._keys: dict[str, ApiKey] = {}
        self._min_reload = min_reload_seconds
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Reload every active key from the store."""
        keys = self._load()
        with self._lock:
            self._keys = keys
            self._loaded_at = time.monotonic()

    def add(self, key_hash: str, key: ApiKey) -> None:
        with self._lock:
            self._keys = {**self._keys, key_hash: key}

    def discard(self, key_id: str) -> None:
        with self._lock:
            self._keys = {h: k for h, k in self._keys.items() if k.key_id != key_id}

    def verify(self, presented: str) -> ApiKey:
        """The key for `presented`, or `AuthError` when it is unknown or revoked."""
        digest = hash_key(presented)
        key = self._keys.get(digest)
        if key is None and time.monotonic() - self._loaded_at >= self._min_reload:
            self.refresh()
            key = self._keys.get(digest)
        if key is None:
            raise AuthError("API key: expected an active key created with `qianmian keys create`, received an unknown or revoked key")
        return key


def presented_key(bearer: Any, header: str | None) -> str | None:
    """The key from parsed credentials (FastAPI's HTTPBearer / APIKeyHeader results)."""
    credentials = getattr(bearer, "credentials", None)
    return credentials or header or None


def key_of(request: Request) -> str | None:
    """The key from ``Authorization: Bearer <key>`` or ``X-API-Key: <key>`` (None when absent)."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.headers.get("x-api-key") or None


def require(scope: Scope) -> Any:
    """A dependency that lets the request through only with a key holding `scope` (or `admin`).

    One flat async dependency (no sub-dependencies): it runs on every request, so it stays cheap.
    The security schemes are documented in OpenAPI by `openapi_security`.
    """

    async def check(request: Request) -> ApiKey | None:
        services = request.app.state.services
        if not services.settings.auth:
            return None
        presented = key_of(request)
        if presented is None:
            raise AuthError("API key: missing; send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
        key = services.keyring.verify(presented)
        if not key.allows(scope):
            raise ForbiddenError(f"API key {key.key_id!r} lacks the {scope!r} scope (it has {sorted(key.scopes)})")
        return key

    check.__qianmian_scope__ = scope  # type: ignore[attr-defined]
    return Depends(check)


SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "API key as a bearer token"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "API key"},
}


def openapi_security(schema: dict[str, Any], scoped_paths: dict[tuple[str, str], str]) -> dict[str, Any]:
    """Add the security schemes, and per operation the scope it needs, to an OpenAPI document."""
    schema.setdefault("components", {}).setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    for (path, method), scope in scoped_paths.items():
        op = schema.get("paths", {}).get(path, {}).get(method)
        if op is not None:
            op["security"] = [{"bearer": []}, {"apiKey": []}]
            needs = f"the `{scope}` scope" + ("" if scope == "admin" else " (or `admin`)")
            op["description"] = (op.get("description") or op.get("summary", "")) + f"\n\nNeeds an API key with {needs} when `auth` is on."
    return schema
