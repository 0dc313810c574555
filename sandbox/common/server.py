"""An emulator's app under uvicorn: blocking in the foreground, or in a background thread."""

from __future__ import annotations

import socket
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from .faults import FaultMiddleware, Faults, refusing_protocol


def fault_injecting_app(
    routes: Sequence[BaseRoute],
    faults: Faults,
    not_found: Callable[[Request], Awaitable[Response]],
) -> Starlette:
    """The routes, then ``not_found`` for any other path, behind the fault middleware."""
    app = Starlette(routes=[*routes, Route("/{path:path}", not_found)])
    app.add_middleware(FaultMiddleware, faults=faults)
    return app


def uvicorn_config(app: ASGIApp, faults: Faults, host: str, port: int, **kw: Any) -> uvicorn.Config:
    """Quiet by default (``log_level`` warning); refusal faults close connections on arrival."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=refusing_protocol(faults),
        lifespan="off",
        log_level=kw.pop("log_level", "warning"),
        **kw,
    )


def serve(app: ASGIApp, faults: Faults, host: str, port: int) -> None:
    """Run in the foreground until interrupted."""
    # No line per request: the clients' polling would fill the log of a quiet stack.
    config = uvicorn_config(app, faults, host, port, log_level="info", access_log=False)
    uvicorn.Server(config).run()


class RunningServer:
    """uvicorn in a background thread on a socket bound at once; ``port=0`` picks a free port."""

    name = "the server"

    def __init__(self, config: Callable[[str, int], uvicorn.Config], host: str, port: int) -> None:
        """``config(host, port)`` is the uvicorn config, once the port is known."""
        self.host = host
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on such sockets, and without
        # it every response waits ~40 ms for a delayed ACK (headers and body are two writes).
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        self._server = uvicorn.Server(config(host, self.port))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        for _ in range(500):
            if self._server.started:
                return self
            if not self._thread.is_alive():
                break
            threading.Event().wait(0.01)
        raise RuntimeError(f"{self.name} did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
