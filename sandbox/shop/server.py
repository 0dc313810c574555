"""The Starlette app and its uvicorn runners (blocking, or in a background thread for tests)."""

from __future__ import annotations

from functools import partial
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.common import server as common
from sandbox.common.server import fault_injecting_app

from . import control
from .emulator import ShopConfig, ShopEmulator
from .graphql_api import AdminApi

__all__ = ["RunningShop", "create_app", "serve", "uvicorn_config"]


def create_app(shop: ShopEmulator) -> Starlette:
    api = AdminApi(shop)

    async def not_found(request: Request) -> Response:
        return JSONResponse({"errors": "Not Found"}, status_code=404)

    routes = [
        Route("/admin/oauth/access_token", api.access_token, methods=["POST"]),
        Route("/admin/api/{version}/graphql.json", api.graphql, methods=["POST"]),
        *control.routes(shop),
    ]
    app = fault_injecting_app(routes, shop.faults, not_found)
    app.state.shop = shop
    return app


def uvicorn_config(shop: ShopEmulator, host: str, port: int, **kw: Any) -> uvicorn.Config:
    return common.uvicorn_config(create_app(shop), shop.faults, host, port, **kw)


def serve(shop: ShopEmulator, host: str = "127.0.0.1", port: int = 8070) -> None:
    """Run in the foreground until interrupted (the webhook sender started first)."""
    shop.start()
    common.serve(create_app(shop), shop.faults, host, port)


class RunningShop(common.RunningServer):
    """A shop served by uvicorn in a background thread; ``port=0`` picks a free port."""

    name = "the shop emulator"

    def __init__(self, config: ShopConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.shop = ShopEmulator(config)
        super().__init__(partial(uvicorn_config, self.shop), host, port)

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/admin/api/2026-10/graphql.json"

    def start(self) -> Self:
        self.shop.start()
        return super().start()

    def stop(self) -> None:
        super().stop()
        self.shop.close()
