"""`RequestRoute`: a FastAPI route for hot paths whose endpoint and dependencies take only the Request.

FastAPI solves every route's dependencies and parameters per request (introspection, validation,
sub-dependency bookkeeping); for the storefront page that machinery costs more than composing the
page. A route whose endpoint and dependencies all have the signature ``async (request) -> …`` needs
none of it: `RequestRoute` calls the dependencies, then the endpoint, directly. Everything else
stays FastAPI's: matching, OpenAPI documentation (describe parameters with ``openapi_extra``), and
the app's exception handlers (errors raised here reach them unchanged).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response


def _takes_only_request(call: Callable[..., Any]) -> bool:
    params = list(inspect.signature(call).parameters.values())
    return inspect.iscoroutinefunction(call) and len(params) == 1 and params[0].annotation in (Request, "Request")


class RequestRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        calls = [d.call for d in self.dependant.dependencies]
        for call in (endpoint, *calls):
            if call is None or not _takes_only_request(call):
                raise TypeError(f"RequestRoute {path!r}: {call!r} must be `async def f(request: Request)`")
        self._checks = calls

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            for check in self._checks:
                await check(request)
            return await endpoint(request)

        return handler
