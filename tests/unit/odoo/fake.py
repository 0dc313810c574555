"""A scripted Odoo behind ``httpx.MockTransport`` that records what the client sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

URL = "http://odoo.test"
KEY = "0123456789abcdef0123456789abcdef01234567"
UID = 2

Reply = Callable[[dict[str, Any]], Any] | Any


@dataclass
class FakeOdoo:
    """Answers ``common.version``/``common.authenticate`` and scripted model methods.

    ``replies[(model, method)]`` is a value, or a callable given the call's named parameters
    (JSON-2 body, or ``{"args": …, "kwargs": …}`` for JSON-RPC); an exception it raises is
    rendered as Odoo's error payload by ``fault``.
    """

    server_version: str = "17.0"
    replies: dict[tuple[str, str], Reply] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport())

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body: Any = json.loads(request.content) if request.content else None
        self.bodies.append(body)
        if request.url.path == "/jsonrpc":
            return self._jsonrpc(body)
        if request.url.path.startswith("/json/2/"):
            _, _, _, model, method = request.url.path.split("/")
            if request.headers.get("authorization") != f"bearer {KEY}":
                return httpx.Response(
                    401, json={"name": "werkzeug.exceptions.Unauthorized", "message": "no"}
                )
            return httpx.Response(200, json=self._reply(model, method, body))
        return httpx.Response(404, text="not found")

    def _jsonrpc(self, body: dict[str, Any]) -> httpx.Response:
        params = body["params"]
        service, method, args = params["service"], params["method"], params["args"]
        if (service, method) == ("common", "version"):
            major = self.server_version.removeprefix("saas~").split(".")[0]
            result: Any = {
                "server_version": self.server_version,
                "server_version_info": [int(major), 0, 0, "final", 0, ""],
                "server_serie": self.server_version,
                "protocol_version": 1,
            }
        elif (service, method) == ("common", "authenticate"):
            result = UID if args[2] == KEY else False
        elif (service, method) == ("object", "execute_kw"):
            _db, _uid, _key, model, meth, m_args, m_kwargs = args
            result = self._reply(model, meth, {"args": m_args, "kwargs": m_kwargs})
        else:
            raise AssertionError(f"unexpected {service}.{method}")
        reply = {"jsonrpc": "2.0", "id": body["id"]}
        if result is not None:
            reply["result"] = result
        return httpx.Response(200, json=reply)

    def _reply(self, model: str, method: str, params: Any) -> Any:
        reply = self.replies.get((model, method), True)
        return reply(params) if callable(reply) else reply

    def execute_kw_calls(self) -> list[list[Any]]:
        return [
            b["params"]["args"]
            for b in self.bodies
            if b and b.get("params", {}).get("method") == "execute_kw"
        ]


def jsonrpc_error(name: str, message: str, code: int = 200) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "error": {
            "code": code,
            "message": "Odoo Server Error",
            "data": {
                "name": name,
                "debug": 'Traceback (most recent call last):\n  File "secret_path.py"\n',
                "message": message,
                "arguments": [message],
                "context": {},
            },
        },
    }
