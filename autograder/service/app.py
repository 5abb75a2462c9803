"""The ASGI app of the class service: `create_app(config)`, however it is then served (TCP, a Unix socket, a test)."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from autograder.sandbox.privileges import protect
from autograder.service import api
from autograder.service.config import ServiceConfig
from autograder.service.errors import ServiceError
from autograder.service.grading import GradingQueue
from autograder.service.logs import log_event
from autograder.service.store import Store

HTTP_ERRORS = {404: "not-found", 405: "method-not-allowed"}
"""Starlette's own errors (no such route, wrong method) → our error kinds."""


@dataclass
class Service:
    """What every request handler reaches through `request.app.state.service`."""

    config: ServiceConfig
    store: Store
    queue: GradingQueue


def create_app(config: ServiceConfig, routes=()) -> Starlette:
    """The app: the API of SPEC §8 plus any extra `routes` (e.g. web pages); grading starts with the app's lifespan.

    Args:
        config: the service's data folder, workers and policies.
        routes: more Starlette routes, served beside the API.
    """
    protect(config.data)  # everyone's notebooks and the roster, from every student's sandbox
    store = Store(config.data)
    service = Service(config, store, GradingQueue(store, config))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        service.queue.start()
        try:
            yield
        finally:
            await run_in_threadpool(service.queue.stop)
            store.close()

    app = Starlette(routes=[*api.ROUTES, *routes], lifespan=lifespan,
                    exception_handlers={ServiceError: _service_error, HTTPException: _http_error,
                                        Exception: _internal_error})
    app.state.service = service
    return app


async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
    return JSONResponse(exc.body(), exc.status, headers=exc.headers())


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    error = ServiceError(HTTP_ERRORS.get(exc.status_code, "not-found"), method=request.method)
    return JSONResponse(error.body(), exc.status_code, headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log_event("internal-error", path=request.url.path, reason=f"{type(exc).__name__}: {exc}")
    return JSONResponse(ServiceError("internal").body(), 500)
