"""Application factory."""

from __future__ import annotations

from fastapi import FastAPI

from qianmian import __version__
from qianmian.config import Settings
from qianmian.store import Store, connect
from qianmian.store.summary import summary


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    """Build the app for `settings`; pass `store` to reuse an open one (tests, the demo)."""
    settings = settings or Settings()
    app = FastAPI(title="Qianmian", version=__version__, description="Consumer operations and personalization API")
    app.state.settings = settings
    app.state.store = store or connect(settings.store, spark_warehouse=settings.spark_warehouse)

    @app.get("/health", tags=["ops"])
    def health() -> dict:
        return {"status": "ok", "version": __version__}

    @app.get("/v1/summary", tags=["data"])
    def data_summary() -> dict:
        return summary(app.state.store)

    return app
