"""The HTTP API: `create_app(settings)` builds a FastAPI app; nothing happens at import time."""

from qianmian.api.app import create_app

__all__ = ["create_app"]
