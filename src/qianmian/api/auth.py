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
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from qianmian.api.keys import ApiKey, Scope, hash_key
from qianmian.errors import AuthError, ForbiddenError

_bearer = HTTPBearer(auto_error=False, description="API key as a bearer token")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")


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


def presented_key(bearer: HTTPAuthorizationCredentials | None, header: str | None) -> str | None:
    if bearer is not None and bearer.credentials:
        return bearer.credentials
    return header or None


def require(scope: Scope) -> Any:
    """A dependency that lets the request through only with a key holding `scope` (or `admin`)."""

    async def check(
        request: Request,
        bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
        header: str | None = Depends(_header),
    ) -> ApiKey | None:
        services = request.app.state.services
        if not services.settings.auth:
            return None
        presented = presented_key(bearer, header)
        if presented is None:
            raise AuthError("API key: missing; send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
        key = services.keyring.verify(presented)
        if not key.allows(scope):
            raise ForbiddenError(f"API key {key.key_id!r} lacks the {scope!r} scope (it has {sorted(key.scopes)})")
        return key

    return Depends(check)
