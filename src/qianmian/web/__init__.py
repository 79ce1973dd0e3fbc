"""The web console: static HTML, CSS and JavaScript modules served by the app itself (no CDN, no
build step). `qianmian.api.routers.console` serves `index.html` at `/console/` and the assets
under `/static/`; every page reads the JSON API under `/v1/` (see docs/console.md).

Charts are inline SVG drawn by `static/js/charts.js`; nothing is fetched from another host.
"""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""Where the console's assets live (package data)."""


def asset(relative: str) -> Path | None:
    """The file for `/static/<relative>`, or None when it is missing or outside the assets folder."""
    path = (STATIC_DIR / relative).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        return None
    return path
