"""The Starlette app and its uvicorn runners (blocking, or in a background thread for tests)."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from http import HTTPStatus
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from . import control
from .emulator import EmulatorConfig, OdooEmulator
from .faults import Faults
from .json2 import Json2
from .jsonrpc import make_jsonrpc_endpoint
from .web import Web
from .xmlrpc import make_xmlrpc_endpoint

_REQUEST_LINE = re.compile(rb"^[A-Z]+ (\S+) HTTP/1\.[01]\r?\n")


class FaultMiddleware:
    """Latency, hangs and injected HTTP errors, before the request reaches a route."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        plan = self.faults.for_request(scope["path"])
        if plan.latency:
            await asyncio.sleep(plan.latency)
        if plan.hang:
            # Read the request first, as Odoo's WSGI server does: the work still happens (and
            # commits) after the client has given up.
            messages = []
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
            await asyncio.sleep(plan.hang)
            receive = _replay(messages, receive)
        if plan.error_status:
            phrase = HTTPStatus(plan.error_status).phrase
            response = Response(
                f"{plan.error_status} {phrase}",
                status_code=plan.error_status,
                media_type="text/plain",
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def refusing_protocol(faults: Faults) -> type[H11Protocol]:
    """An h11 protocol that closes the connection when a refusal fault says so."""

    class RefusingH11Protocol(H11Protocol):
        def data_received(self, data: bytes) -> None:
            match = _REQUEST_LINE.match(data)
            if match and faults.should_refuse(match.group(1).decode("latin-1")):
                self.transport.close()
                return
            super().data_received(data)

    return RefusingH11Protocol


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
        Route("/{path:path}", not_found),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = emulator
    app.add_middleware(FaultMiddleware, faults=emulator.faults)
    return app


def uvicorn_config(emulator: OdooEmulator, host: str, port: int, **kw: Any) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(emulator),
        host=host,
        port=port,
        http=refusing_protocol(emulator.faults),
        lifespan="off",
        log_level=kw.pop("log_level", "warning"),
        **kw,
    )


def serve(emulator: OdooEmulator, host: str = "127.0.0.1", port: int = 8069) -> None:
    """Run in the foreground until interrupted."""
    # No line per request: a polling capture would fill the log of a quiet stack.
    uvicorn.Server(uvicorn_config(emulator, host, port, log_level="info", access_log=False)).run()


class RunningEmulator:
    """An emulator served by uvicorn in a background thread; ``port=0`` picks a free port."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.emulator = OdooEmulator(config)
        self.host = host
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on such sockets, and without
        # it every response waits ~40 ms for a delayed ACK (headers and body are two writes).
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn_config(self.emulator, host, self.port))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def config(self) -> EmulatorConfig:
        return self.emulator.config

    def start(self) -> RunningEmulator:
        self._thread.start()
        for _ in range(500):
            if self._server.started:
                return self
            if not self._thread.is_alive():
                break
            threading.Event().wait(0.01)
        raise RuntimeError("the Odoo emulator did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
        self.emulator.close()

    def __enter__(self) -> RunningEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
