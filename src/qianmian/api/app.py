"""Application factory: `create_app(settings)` builds the app; nothing happens at import time.

Routers live in `qianmian.api.routers.<name>`, each exposing `router`; add one by appending its
module path to `ROUTERS`.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from qianmian import __version__
from qianmian.api import errors, limits
from qianmian.api.auth import openapi_security
from qianmian.api.services import Clock, Services, business_clock, zone_of
from qianmian.config import Settings
from qianmian.store import Store, connect

ROUTERS: list[str] = [
    "qianmian.api.routers.storefront",  # first: the hottest route is matched first
    "qianmian.api.routers.ops",
    "qianmian.api.routers.events",
    "qianmian.api.routers.keys",
    "qianmian.api.routers.recommendations",
    "qianmian.api.routers.experiences",
    "qianmian.api.routers.users",
    "qianmian.api.routers.stores",
    "qianmian.api.routers.admin",
    "qianmian.api.routers.reports",
    "qianmian.api.routers.glossary",
    "qianmian.api.routers.audiences",
    "qianmian.api.routers.experiments",
    "qianmian.api.routers.data",
    "qianmian.api.routers.exports",
    "qianmian.api.routers.uplift",
    "qianmian.api.routers.shoppers",
    "qianmian.api.routers.guide",
    "qianmian.api.routers.console",
]

DESCRIPTION = """Consumer operations and personalization API (千面).

Send events to `POST /v1/events`; fetch each shopper's page from `GET /v1/storefront/{user_id}`.
With authentication on, send an API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`.
Every error has the body `{"error": {"type", "status", "message", ...}}`.
"""


DOCS: dict[str, Any] = {
    "static_url": "/static-docs",  # Swagger UI from the fastapi-offline package: no CDN
    "redoc_url": None,  # ReDoc's sidebar fetches its logo from the vendor's CDN: not served
    "favicon_url": "/static/img/logo.svg",
    "swagger_ui_parameters": {"validatorUrl": None},  # no badge fetched from the online validator
}
"""`/docs` (Swagger UI) loads every asset from this app, so it works with no network."""


def create_app(settings: Settings | None = None, *, store: Store | None = None, clock: Clock | None = None, **extras: Any) -> FastAPI:
    """Build the app for `settings`.

    `store` reuses an open store (tests, the demo); otherwise the app opens ``settings.store`` and
    closes it on shutdown. `clock` gives the business wall-clock time (default: the real clock in
    ``settings.timezone``). `extras` inject collaborators by name (e.g. ``recommender=``), for tests.
    """
    settings = settings or Settings()
    zone = zone_of(settings)
    services = Services(
        settings=settings,
        store=store or connect(settings.store, spark=settings.spark_options()),
        clock=clock or business_clock(zone),
        zone=zone,
        owns_store=store is None,
        extras=dict(extras),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        services.start()
        try:
            yield
        finally:
            services.stop()

    app = FastAPIOffline(title="Qianmian", version=__version__, description=DESCRIPTION, lifespan=lifespan, **DOCS)
    app.state.settings = settings
    app.state.store = services.store
    app.state.services = services
    errors.install(app)
    limits.install(app, max_request_bytes=settings.max_request_bytes, rate_limit_per_minute=settings.rate_limit_per_minute)
    for name in ROUTERS:
        app.include_router(importlib.import_module(name).router)
    _document_security(app)
    return app


def _api_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    """(full path, route) for every endpoint, descending into included routers."""
    out: list[tuple[str, Any]] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            out += _api_routes(inner.routes, prefix + getattr(getattr(route, "include_context", None), "prefix", ""))
        elif getattr(route, "dependant", None) is not None:
            out.append((prefix + route.path, route))
    return out


def _scoped_operations(app: FastAPI) -> dict[tuple[str, str], str]:
    """(path, method) → the scope its `require` dependency asks for."""
    out = {}
    for path, route in _api_routes(app.routes):
        for dep in _walk(route.dependant):
            scope = getattr(dep.call, "__qianmian_scope__", None)
            if scope:
                out.update({(path, m.lower()): scope for m in route.methods})
    return out


def _walk(dependant: Any) -> list[Any]:
    return [d for sub in dependant.dependencies for d in (sub, *_walk(sub))]


def _document_security(app: FastAPI) -> None:
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_security(base(), _scoped_operations(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
