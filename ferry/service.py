"""What every Ferry service serves: ``/metrics``, ``/healthz`` (alive), ``/readyz`` (ready).

:func:`ops_routes` gives the three routes for a service's own Starlette app;
:func:`serve` runs an ASGI app with uvicorn inside the running event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ferry.metrics import CONTENT_TYPE_LATEST, ServiceMetrics

__all__ = ["ReadyCheck", "ops_app", "ops_routes", "serve"]

ReadyCheck = Callable[[], bool | Awaitable[bool]]


def ops_routes(metrics: ServiceMetrics, ready: ReadyCheck) -> list[BaseRoute]:
    async def metrics_endpoint(_: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "alive", "service": metrics.service})

    async def readyz(_: Request) -> Response:
        result = ready()
        ok = await result if inspect.isawaitable(result) else result
        metrics.ready.labels(metrics.service).set(1 if ok else 0)
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "service": metrics.service},
            status_code=200 if ok else 503,
        )

    return [
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]


def ops_app(metrics: ServiceMetrics, ready: ReadyCheck) -> Starlette:
    """A bare app with only the three operational routes (for workers without an API)."""
    return Starlette(routes=ops_routes(metrics, ready))


class _QuietServer(uvicorn.Server):
    """Leaves signal handling to the service that embeds it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(
    app: Starlette, host: str, port: int, *, started: asyncio.Event | None = None
) -> None:
    """Run ``app`` until cancelled; set ``started`` once the socket listens."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # raises the start-up error (e.g. port in use)
                raise OSError(f"cannot listen on {host}:{port}")
            await asyncio.sleep(0.01)
        if started is not None:
            started.set()
        await asyncio.shield(task)
    finally:
        server.should_exit = True
        await asyncio.wait({task}, timeout=5)
