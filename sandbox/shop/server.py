"""The Starlette app and its uvicorn runners (blocking, or in a background thread for tests)."""

from __future__ import annotations

import socket
import threading
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import control
from .emulator import ShopConfig, ShopEmulator
from .faults import FaultMiddleware, refusing_protocol
from .graphql_api import AdminApi


def create_app(shop: ShopEmulator) -> Starlette:
    api = AdminApi(shop)

    async def not_found(request: Request) -> Response:
        return JSONResponse({"errors": "Not Found"}, status_code=404)

    routes = [
        Route("/admin/oauth/access_token", api.access_token, methods=["POST"]),
        Route("/admin/api/{version}/graphql.json", api.graphql, methods=["POST"]),
        *control.routes(shop),
        Route("/{path:path}", not_found),
    ]
    app = Starlette(routes=routes)
    app.state.shop = shop
    app.add_middleware(FaultMiddleware, faults=shop.faults)
    return app


def uvicorn_config(shop: ShopEmulator, host: str, port: int, **kw: Any) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(shop),
        host=host,
        port=port,
        http=refusing_protocol(shop.faults),
        lifespan="off",
        log_level=kw.pop("log_level", "warning"),
        **kw,
    )


def serve(shop: ShopEmulator, host: str = "127.0.0.1", port: int = 8070) -> None:
    """Run in the foreground until interrupted."""
    shop.start()
    # No line per request: the sinks' calls would fill the log of a quiet stack.
    uvicorn.Server(uvicorn_config(shop, host, port, log_level="info", access_log=False)).run()


class RunningShop:
    """A shop served by uvicorn in a background thread; ``port=0`` picks a free port."""

    def __init__(self, config: ShopConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.shop = ShopEmulator(config)
        self.host = host
        # IPPROTO_TCP: asyncio sets TCP_NODELAY only on such sockets (no delayed-ACK stalls).
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn_config(self.shop, host, self.port))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/admin/api/2026-10/graphql.json"

    def start(self) -> RunningShop:
        self.shop.start()
        self._thread.start()
        for _ in range(500):
            if self._server.started:
                return self
            if not self._thread.is_alive():
                break
            threading.Event().wait(0.01)
        raise RuntimeError("the shop emulator did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
        self.shop.close()

    def __enter__(self) -> RunningShop:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
