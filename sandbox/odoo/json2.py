"""JSON-2 (Odoo 19): ``POST /json/2/<model>/<method>`` with ``Authorization: bearer <key>``,
named arguments plus ``ids`` and ``context``; errors as HTTP statuses with a JSON body
``{name, message, arguments, context, debug}``. Also ``GET /doc-bearer/<model>.json``, the
introspection odoo-client-lib's JSON-2 connector reads to map positional arguments."""

from __future__ import annotations

import inspect
import json
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .exceptions import UserError, message_of, qualified_name
from .jsonrpc import mimetype, serialize_exception
from .orm.model import public_method
from .service import api_kind, method_parameters, resolve_method

if TYPE_CHECKING:
    from .emulator import OdooEmulator


class HTTPError(Exception):
    """werkzeug's HTTP exceptions, named as werkzeug names them."""

    __module__ = "werkzeug.exceptions"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message, status)
        self.status = status
        self.message = message


class Unauthorized(HTTPError):
    __module__ = "werkzeug.exceptions"


class NotFound(HTTPError):
    __module__ = "werkzeug.exceptions"


class BadRequest(HTTPError):
    __module__ = "werkzeug.exceptions"


class UnprocessableEntity(HTTPError):
    __module__ = "werkzeug.exceptions"


def error_response(exc: BaseException) -> JSONResponse:
    if isinstance(exc, HTTPError):
        status, message = exc.status, exc.message
    elif isinstance(exc, UserError):
        status, message = exc.http_code, message_of(exc)
    else:
        status, message = 500, message_of(exc)
    body = serialize_exception(exc)
    body["message"] = message
    body["name"] = qualified_name(exc)
    return JSONResponse(
        {k: body[k] for k in ("name", "message", "arguments", "context", "debug")},
        status_code=status,
    )


class Json2:
    def __init__(self, emulator: OdooEmulator) -> None:
        self.emulator = emulator

    def _uid(self, request: Request) -> int:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthorized(401, "Invalid apikey")
        database = request.headers.get("x-odoo-database")
        if database and database != self.emulator.config.database:
            raise NotFound(404, f"database {database!r} not found")
        uid = self.emulator.auth.bearer(key.strip())
        if uid is None:
            raise Unauthorized(401, "Invalid apikey")
        return uid

    async def call(self, request: Request) -> Response:
        if self.emulator.registry.major < 19:
            return Response("Not Found", status_code=404, media_type="text/html")
        try:
            uid = self._uid(request)
            if request.method != "POST":
                raise HTTPError(405, "The method is not allowed for the requested URL.")
            if mimetype(request) != "application/json":
                raise BadRequest(400, "expected a JSON body with Content-Type: application/json")
            raw = await request.body()
            params: dict[str, Any] = {}
            if raw:
                try:
                    params = json.loads(raw)
                except ValueError as exc:
                    raise BadRequest(400, f"could not parse the body as json: {exc}") from exc
                if not isinstance(params, dict):
                    raise BadRequest(400, "could not parse the body, expecting a json object")
            model = request.path_params["model"]
            method = request.path_params["method"]
            result = await run_in_threadpool(self._run, uid, model, method, params)
        except Exception as exc:
            return error_response(exc)
        return JSONResponse(result)

    def _run(self, uid: int, model: str, method: str, params: dict[str, Any]) -> Any:
        params = dict(params)
        ids = params.pop("ids", [])
        context = params.pop("context", {}) or {}

        def work(env: Any) -> Any:
            if model not in env:
                raise NotFound(404, f"the model {model!r} does not exist")
            try:
                _model, func = resolve_method(env, model, method)
            except AttributeError as exc:
                raise NotFound(404, str(exc.args[0])) from exc
            kind = api_kind(func)
            if kind == "model" and ids:
                raise UnprocessableEntity(422, f"cannot call {model}.{method} with ids")
            args = [] if kind == "model" else [ids]
            try:
                inspect.signature(func).bind(*args, **params)
            except TypeError as exc:
                raise UnprocessableEntity(422, str(exc.args[0])) from exc
            result = func(*args, **params)
            if method == "create" and isinstance(result, int):
                result = [result]
            return result

        return self.emulator.registry.run(uid, dict(context), work)

    async def doc_model(self, request: Request) -> Response:
        if self.emulator.registry.major < 19:
            return Response("Not Found", status_code=404, media_type="text/html")
        try:
            uid = self._uid(request)
            name = request.path_params["model"]
            result = await run_in_threadpool(self._doc, uid, name)
        except Exception as exc:
            return error_response(exc)
        return JSONResponse(result)

    def _doc(self, uid: int, name: str) -> dict[str, Any]:
        def work(env: Any) -> dict[str, Any]:
            if name not in env:
                raise NotFound(404, "Not Found")
            model = env[name]
            methods: dict[str, Any] = {}
            for attr in sorted(dir(type(model))):
                if attr.startswith("_"):
                    continue
                func = public_method(model, attr)
                if func is None:
                    continue
                params = method_parameters(func)
                parameters: dict[str, Any] = {}
                for p in params:
                    desc: dict[str, Any] = {"name": p.name}
                    if p.default is not inspect.Parameter.empty:
                        desc["default"] = p.default
                    if p.kind is p.VAR_KEYWORD:
                        desc["kind"] = "VAR_KEYWORD"
                    parameters[p.name] = desc
                sig = "(" + ", ".join(str(p) for p in params) + ")"
                entry: dict[str, Any] = {
                    "signature": sig,
                    "parameters": parameters,
                    "model": name,
                    "module": "base",
                }
                if api_kind(func) == "model":
                    entry["api"] = ["model"]
                methods[attr] = entry
            return {
                "model": name,
                "name": model._description,
                "doc": None,
                "fields": model.fields_get(),
                "methods": methods,
            }

        return self.emulator.registry.run(uid, {}, work)
