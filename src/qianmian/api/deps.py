"""Small dependencies shared by the routers."""

from __future__ import annotations

from fastapi import Request

from qianmian.api.services import Services


async def services(request: Request) -> Services:
    return request.app.state.services
