"""The one place that maps errors to HTTP status codes.

Every error response has the same body, naming the problem::

    {"error": {"type": "InputError", "status": 422, "message": "...",
               "field": "events[3].behavior", "expected": "...", "received": "..."}}

`field`/`expected`/`received` appear for input errors; `kind`/`name` for "not found".
Anything unexpected becomes a 500 whose body says so without leaking internals (the traceback
goes to the server log).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from qianmian.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    ForbiddenError,
    InputError,
    NotFoundError,
    OptedOutError,
    QianmianError,
    SchemaError,
    StoreError,
)

log = logging.getLogger("qianmian.api")


class PayloadTooLargeError(QianmianError):
    """The request body is larger than `max_request_bytes` (HTTP 413)."""

    def __init__(self, limit: int, received: int | None = None) -> None:
        self.limit = limit
        got = f"{received} bytes" if received is not None else "more"
        super().__init__(f"request body: expected at most {limit} bytes, received {got}")


class RateLimitedError(QianmianError):
    """The caller sent more requests than `rate_limit_per_minute` allows (HTTP 429)."""

    def __init__(self, limit_per_minute: int, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"rate limit: at most {limit_per_minute} requests per minute; retry after {retry_after:.2f} s")


class UnavailableError(QianmianError):
    """The service is starting or stopping (HTTP 503)."""


# Most specific first: the first class an error is an instance of decides its status.
STATUS: tuple[tuple[type[QianmianError], int], ...] = (
    (InputError, 422),
    (ConfigError, 422),
    (NotFoundError, 404),
    (ConflictError, 409),
    (OptedOutError, 409),
    (AuthError, 401),
    (ForbiddenError, 403),
    (PayloadTooLargeError, 413),
    (RateLimitedError, 429),
    (UnavailableError, 503),
    (SchemaError, 503),
    (StoreError, 503),
    (QianmianError, 500),
)


def status_of(exc: QianmianError) -> int:
    """The HTTP status for `exc` (500 for a QianmianError with no more specific mapping)."""
    return next(code for cls, code in STATUS if isinstance(exc, cls))


def error_body(exc: QianmianError) -> dict[str, Any]:
    """The JSON body for `exc`: its class name, status, message and the fields that name the problem."""
    body: dict[str, Any] = {"type": type(exc).__name__, "status": status_of(exc), "message": str(exc)}
    if isinstance(exc, InputError):
        body.update(field=exc.field, expected=exc.expected, received=_short(exc.received))
    if isinstance(exc, NotFoundError):
        body.update(kind=exc.kind, name=_short(exc.name))
    return {"error": body}


def error_response(exc: QianmianError) -> JSONResponse:
    headers = {}
    if isinstance(exc, AuthError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimitedError):
        headers["Retry-After"] = str(max(1, round(exc.retry_after + 0.5)))
    return JSONResponse(jsonable_encoder(error_body(exc)), status_code=status_of(exc), headers=headers)


def _short(value: Any, limit: int = 200) -> Any:
    if isinstance(value, (int, bool)) or value is None or (isinstance(value, float) and math.isfinite(value)):
        return value  # NaN / inf are said as text: JSON has no such numbers
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _problem(error: Any) -> dict[str, Any]:
    """One validation error: the field, the reason and (unless the field is missing) the value received."""
    problem = {"field": ".".join(str(p) for p in error.get("loc", ())), "reason": error.get("msg", "")}
    if error.get("type") != "missing" and "input" in error:
        problem["received"] = _short(error["input"])
    return problem


def _validation_response(exc: RequestValidationError) -> JSONResponse:
    problems = [_problem(e) for e in exc.errors()]
    first = problems[0] if problems else {"field": "request", "reason": "invalid"}
    received = f", received {first['received']!r}" if "received" in first else ""
    body = {
        "error": {
            "type": "InputError",
            "status": 422,
            "message": f"{first['field']}: {first['reason']}{received}",
            "field": first["field"],
            "problems": problems,
            **({"received": first["received"]} if "received" in first else {}),
        }
    }
    return JSONResponse(jsonable_encoder(body), status_code=422)


def _http_response(exc: StarletteHTTPException) -> JSONResponse:
    body = {"error": {"type": "HTTPError", "status": exc.status_code, "message": str(exc.detail)}}
    return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


def install(app: FastAPI) -> None:
    """Register the handlers on `app` (called once by `create_app`)."""

    @app.exception_handler(QianmianError)
    async def _qianmian(_: Request, exc: QianmianError) -> JSONResponse:
        if status_of(exc) >= 500:
            log.error("request failed: %s", exc, exc_info=exc)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _http_response(exc)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        body = {"error": {"type": "InternalError", "status": 500, "message": "internal error (see the server log)"}}
        return JSONResponse(body, status_code=500)
