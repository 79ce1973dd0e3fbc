"""Request size and rate limits, as plain ASGI middleware (cheap on the hot path).

- Size: a body larger than ``max_request_bytes`` is refused with 413, from the Content-Length
  header when there is one and by counting the bytes otherwise (chunked uploads).
- Rate: a token bucket per caller (the presented API key, else the client address) refilled at
  ``rate_limit_per_minute / 60`` tokens per second, holding at most ten seconds' worth; an empty
  bucket gives 429 with Retry-After. The buckets live in this process, so with N replicas behind a
  load balancer the cluster-wide limit is about N times the setting.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qianmian.api.errors import PayloadTooLargeError, RateLimitedError, error_response

EXEMPT_PATHS = frozenset({"/health", "/ready"})


class TokenBucket:
    """Tokens per caller: `rate` per second, at most `capacity`; `take` is O(1)."""

    def __init__(self, rate: float, capacity: float, *, max_callers: int = 100_000) -> None:
        self.rate = rate
        self.capacity = capacity
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max = max_callers
        self._lock = threading.Lock()

    def take(self, caller: str, now: float) -> float:
        """Take one token; returns 0 when allowed, else the seconds until a token is available."""
        with self._lock:
            tokens, last = self._state.pop(caller, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._state[caller] = (tokens - 1 if wait == 0 else tokens, now)
            if len(self._state) > self._max:
                self._state.popitem(last=False)
            return wait


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


def caller_of(scope: Scope) -> str:
    """Who is calling: a digest of the presented key, else the client address."""
    raw = _header(scope, b"authorization") or _header(scope, b"x-api-key")
    if raw:
        return "key:" + hashlib.blake2b(raw, digest_size=8).hexdigest()
    client = scope.get("client")
    return f"addr:{client[0]}" if client else "addr:unknown"


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, per_minute: int) -> None:
        self.app = app
        self.per_minute = per_minute
        rate = max(per_minute, 1) / 60.0
        self.bucket = TokenBucket(rate, capacity=max(1.0, rate * 10))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        wait = self.bucket.take(caller_of(scope), time.monotonic())
        if wait > 0:
            await error_response(RateLimitedError(self.per_minute, wait))(scope, receive, send)
            return
        await self.app(scope, receive, send)


class _TooLarge(StarletteHTTPException):
    """Raised from `receive` when a body without Content-Length grows past the limit.

    An HTTPException so that FastAPI's body parsing re-raises it as it is (413) instead of
    turning it into a 400.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, str(PayloadTooLargeError(limit)))


class BodySizeMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await error_response(PayloadTooLargeError(self.max_bytes, declared))(scope, receive, send)
            return
        await self._counted(scope, receive, send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await error_response(PayloadTooLargeError(self.max_bytes))(scope, receive, send)


def _declared_length(scope: Scope) -> int | None:
    raw = _header(scope, b"content-length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def install(app: Any, *, max_request_bytes: int, rate_limit_per_minute: int) -> None:
    """Add both limits to `app` (size first, so an oversized body never costs a token)."""
    app.add_middleware(RateLimitMiddleware, per_minute=rate_limit_per_minute)
    app.add_middleware(BodySizeMiddleware, max_bytes=max_request_bytes)
