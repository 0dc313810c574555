"""What every Ferry service serves: ``/metrics``, ``/healthz`` (alive), ``/readyz`` (ready).

:class:`OpsPages` is the one implementation; :func:`ops_routes` mounts it in a Starlette app,
:meth:`OpsPages.add_to_faust` in a faust app's web server. :func:`serve` runs an ASGI app with
uvicorn inside the running event loop; :func:`serve_until` until an event is set, and
:func:`until_signalled` runs a service until SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import signal
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ferry.metrics import CONTENT_TYPE_LATEST, ServiceMetrics
from ferry.settings import ServiceSettings

__all__ = [
    "OpsPages",
    "ReadyCheck",
    "ops_app",
    "ops_routes",
    "serve",
    "serve_until",
    "server_config",
    "until_signalled",
]

ReadyCheck = Callable[[], bool | Awaitable[bool]]


class OpsPages:
    """The three pages of one service, independent of the web framework that serves them."""

    def __init__(self, metrics: ServiceMetrics, ready: ReadyCheck) -> None:
        self.metrics = metrics
        self._ready = ready

    def exposition(self) -> bytes:
        return self.metrics.exposition()

    def health(self) -> dict[str, str]:
        return {"status": "alive", "service": self.metrics.service}

    async def readiness(self) -> tuple[int, dict[str, str]]:
        """The status code and body of ``/readyz``; updates ``ferry_ready``."""
        result = self._ready()
        ok = await result if inspect.isawaitable(result) else result
        self.metrics.ready.labels(self.metrics.service).set(1 if ok else 0)
        body = {"status": "ready" if ok else "not ready", "service": self.metrics.service}
        return (200 if ok else 503), body

    def starlette_routes(self) -> list[BaseRoute]:
        async def metrics_endpoint(_: Request) -> Response:
            return Response(self.exposition(), media_type=CONTENT_TYPE_LATEST)

        async def healthz(_: Request) -> Response:
            return JSONResponse(self.health())

        async def readyz(_: Request) -> Response:
            status, body = await self.readiness()
            return JSONResponse(body, status_code=status)

        return [
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
        ]

    def add_to_faust(self, app: Any) -> None:
        """Serve the pages from a faust app's web server (``app.page``)."""

        async def metrics_page(web: Any, request: Any) -> Any:
            return web.bytes(self.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

        async def healthz(web: Any, request: Any) -> Any:
            return web.json(self.health())

        async def readyz(web: Any, request: Any) -> Any:
            status, body = await self.readiness()
            return web.json(body, status=status)

        app.page("/metrics", name="ferry-metrics")(metrics_page)
        app.page("/healthz", name="ferry-healthz")(healthz)
        app.page("/readyz", name="ferry-readyz")(readyz)


def ops_routes(metrics: ServiceMetrics, ready: ReadyCheck) -> list[BaseRoute]:
    """``/metrics``, ``/healthz`` and ``/readyz`` for a service's own Starlette app."""
    return OpsPages(metrics, ready).starlette_routes()


def ops_app(metrics: ServiceMetrics, ready: ReadyCheck) -> Starlette:
    """A bare app with only the three operational routes (for workers without an API)."""
    return Starlette(routes=ops_routes(metrics, ready))


class _QuietServer(uvicorn.Server):
    """Leaves signal handling to the service that embeds it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def server_config(
    app: Starlette, host: str, port: int, *, limits: ServiceSettings | None = None
) -> uvicorn.Config:
    """uvicorn's configuration for ``app``. With ``limits`` (an HTTP ingress such as the
    gateway): h11 as the HTTP parser, buffering at most ``max_header_bytes`` of an incomplete
    request head (beyond: 400 and the connection closed), idle keep-alive connections closed
    after ``keep_alive_timeout_s``, at most ``max_concurrency`` connections or requests at once
    (beyond: 503). The exact header limit (431) and the body's size and time limits are the
    app's (``producers.gateway.limits``)."""
    if limits is None:
        return uvicorn.Config(
            app, host=host, port=port, log_level="warning", log_config=None, lifespan="off"
        )
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        log_config=None,  # uvicorn's lines go through the process's handlers (ferry.logs)
        lifespan="off",
        http="h11",  # the parser that enforces the header limit (httptools would ignore it)
        h11_max_incomplete_event_size=limits.max_header_bytes,
        timeout_keep_alive=limits.keep_alive_timeout_s,
        limit_concurrency=limits.max_concurrency,
    )


async def serve(
    app: Starlette,
    host: str,
    port: int,
    *,
    started: asyncio.Event | None = None,
    limits: ServiceSettings | None = None,
) -> None:
    """Run ``app`` until cancelled; set ``started`` once the socket listens. ``limits``: see
    :func:`server_config` (services that only serve their ops pages leave it out)."""
    config = server_config(app, host, port, limits=limits)
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


async def serve_until(
    stop: asyncio.Event,
    app: Starlette,
    host: str,
    port: int,
    *,
    started: asyncio.Event | None = None,
    limits: ServiceSettings | None = None,
) -> None:
    """:func:`serve` ``app`` until ``stop`` is set (or the task is cancelled); a start-up
    error (such as a port in use) is raised."""
    server = asyncio.create_task(serve(app, host, port, started=started, limits=limits))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({server, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if server.done():
            server.result()
    finally:
        for task in (server, stopping):
            task.cancel()
        for task in (server, stopping):
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def until_signalled(run: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """``await run(stop)``, where ``stop`` is set on SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await run(stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
