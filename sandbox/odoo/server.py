"""The Starlette app and its uvicorn runners (blocking, or in a background thread for tests)."""

from __future__ import annotations

from functools import partial
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.common import server as common
from sandbox.common.faults import FaultMiddleware, refusing_protocol
from sandbox.common.server import fault_injecting_app

from . import control
from .emulator import EmulatorConfig, OdooEmulator
from .json2 import Json2
from .jsonrpc import make_jsonrpc_endpoint
from .web import Web
from .xmlrpc import make_xmlrpc_endpoint

__all__ = [
    "FaultMiddleware",
    "RunningEmulator",
    "create_app",
    "refusing_protocol",
    "serve",
    "uvicorn_config",
]


def create_app(emulator: OdooEmulator) -> Starlette:
    dispatch = emulator.services.dispatch
    web = Web(emulator)
    json2 = Json2(emulator)

    async def not_found(request: Request) -> Response:
        return Response("Not Found", status_code=404, media_type="text/html")

    routes = [
        Route("/jsonrpc", make_jsonrpc_endpoint(dispatch), methods=["POST"]),
        Route(
            "/xmlrpc/2/{service}", make_xmlrpc_endpoint(dispatch, legacy=False), methods=["POST"]
        ),
        Route("/xmlrpc/{service}", make_xmlrpc_endpoint(dispatch, legacy=True), methods=["POST"]),
        Route("/web/webclient/version_info", web.version_info, methods=["POST"]),
        Route("/web/session/authenticate", web.authenticate, methods=["POST"]),
        Route("/web/session/get_session_info", web.get_session_info, methods=["POST"]),
        Route("/web/session/destroy", web.destroy, methods=["POST"]),
        Route("/web/dataset/call_kw", web.call_kw, methods=["POST"]),
        Route("/web/dataset/call_kw/{path:path}", web.call_kw, methods=["POST"]),
        Route(
            "/json/2/{model}/{method}",
            json2.call,
            methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
        ),
        Route("/doc-bearer/{model}.json", json2.doc_model, methods=["GET"]),
        *control.routes(emulator),
    ]
    app = fault_injecting_app(routes, emulator.faults, not_found)
    app.state.emulator = emulator
    return app


def uvicorn_config(emulator: OdooEmulator, host: str, port: int, **kw: Any) -> uvicorn.Config:
    return common.uvicorn_config(create_app(emulator), emulator.faults, host, port, **kw)


def serve(emulator: OdooEmulator, host: str = "127.0.0.1", port: int = 8069) -> None:
    """Run in the foreground until interrupted."""
    common.serve(create_app(emulator), emulator.faults, host, port)


class RunningEmulator(common.RunningServer):
    """An emulator served by uvicorn in a background thread; ``port=0`` picks a free port."""

    name = "the Odoo emulator"

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.emulator = OdooEmulator(config)
        super().__init__(partial(uvicorn_config, self.emulator), host, port)

    @property
    def config(self) -> EmulatorConfig:
        return self.emulator.config

    def stop(self) -> None:
        super().stop()
        self.emulator.close()
