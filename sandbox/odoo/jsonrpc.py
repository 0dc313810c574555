"""JSON-RPC 2.0 framing as Odoo's ``JsonRPCDispatcher`` does it, and ``/jsonrpc``.

Errors keep HTTP 200 and travel in ``error``: code 200 "Odoo Server Error" (100 for an expired
session, 404 for not found) with ``data = {name, debug, message, arguments, context}``.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .exceptions import message_of, qualified_name

JSON_MIMETYPES = ("application/json", "application/json-rpc")


class SessionExpiredException(Exception):
    __module__ = "odoo.http"


def serialize_exception(exc: BaseException) -> dict[str, Any]:
    return {
        "name": qualified_name(exc),
        "debug": "".join(traceback.format_exception(exc)),
        "message": message_of(exc),
        "arguments": [
            a if isinstance(a, str | int | float | bool) or a is None else str(a) for a in exc.args
        ],
        "context": getattr(exc, "context", {}) or {},
    }


def error_body(request_id: Any, exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, SessionExpiredException):
        error = {"code": 100, "message": "Odoo Session Expired", "data": serialize_exception(exc)}
    else:
        error = {"code": 200, "message": "Odoo Server Error", "data": serialize_exception(exc)}
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def mimetype(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def bad_type(path: str) -> Response:
    message = f"Request inferred type is compatible with ['http'] but '{path}' is type='json'."
    body = (
        "<!doctype html>\n<html lang=en>\n<title>400 Bad Request</title>\n"
        f"<h1>Bad Request</h1>\n<p>{message}</p>\n"
    )
    return Response(body, status_code=400, media_type="text/html")


async def handle(
    request: Request, endpoint: Callable[[dict[str, Any]], Any], threaded: bool = True
) -> Response:
    """Parse a JSON-RPC request, call ``endpoint(params)``, frame the result or the error."""
    if mimetype(request) not in JSON_MIMETYPES:
        return bad_type(request.url.path)
    raw = await request.body()
    try:
        payload = json.loads(raw)
    except ValueError:
        return Response("Invalid JSON data", status_code=400, media_type="text/html")
    if not isinstance(payload, dict):
        return Response("Invalid JSON-RPC data", status_code=400, media_type="text/html")
    request_id = payload.get("id")
    params = payload.get("params", {})
    if not isinstance(params, dict):
        return Response("Invalid JSON-RPC data", status_code=400, media_type="text/html")
    try:
        if threaded:
            result = await run_in_threadpool(endpoint, params)
        else:
            result = endpoint(params)
    except Exception as exc:  # every error goes back in the envelope, like Odoo
        return JSONResponse(error_body(request_id, exc))
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
    if result is not None:
        body["result"] = result
    return JSONResponse(body)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "127.0.0.1"


def make_jsonrpc_endpoint(dispatch: Callable[[str, str, list[Any], str], Any]) -> Any:
    async def jsonrpc(request: Request) -> Response:
        ip = client_ip(request)

        def endpoint(params: dict[str, Any]) -> Any:
            missing = [k for k in ("service", "method", "args") if k not in params]
            if missing:
                names = " and ".join(f"'{m}'" for m in missing)
                raise TypeError(
                    f"RPC.jsonrpc() missing {len(missing)} required positional "
                    f"argument{'s' if len(missing) > 1 else ''}: {names}"
                )
            args = params["args"]
            if not isinstance(args, list):
                raise TypeError(f"args must be a list, got {type(args).__name__}")
            return dispatch(str(params["service"]), str(params["method"]), args, ip)

        return await handle(request, endpoint)

    return jsonrpc
