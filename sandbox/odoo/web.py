"""Web client routes: ``/web/webclient/version_info``, ``/web/session/authenticate``,
``/web/session/get_session_info``, ``/web/session/destroy`` and ``/web/dataset/call_kw``."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from . import jsonrpc
from .exceptions import AccessDenied
from .jsonrpc import SessionExpiredException, client_ip
from .service import version_info

if TYPE_CHECKING:
    from .emulator import OdooEmulator

COOKIE = "session_id"


class Web:
    def __init__(self, emulator: OdooEmulator) -> None:
        self.emulator = emulator

    async def version_info(self, request: Request) -> Response:
        return await jsonrpc.handle(
            request, lambda _params: version_info(self.emulator.config.version), threaded=False
        )

    def _session_info(self, uid: int) -> dict[str, Any]:
        emulator = self.emulator
        info = version_info(emulator.config.version)
        users = emulator.store.tables["res.users"]
        partners = emulator.store.tables["res.partner"]
        user = users[uid]
        context = {
            "lang": partners[user["partner_id"]].get("lang") or "en_US",
            "tz": user.get("tz") or False,
            "uid": uid,
        }
        return {
            "uid": uid,
            "is_system": uid in (1, 2),
            "is_admin": uid in (1, 2),
            "user_context": context,
            "db": emulator.config.database,
            "server_version": info["server_version"],
            "server_version_info": info["server_version_info"],
            "name": partners[user["partner_id"]].get("name"),
            "username": user["login"],
            "partner_id": user["partner_id"],
            "company_id": user.get("company_id") or 1,
        }

    async def authenticate(self, request: Request) -> Response:
        ip = client_ip(request)
        created: dict[str, Any] = {}

        def endpoint(params: dict[str, Any]) -> Any:
            db, login, password = params.get("db"), params.get("login"), params.get("password")
            if db != self.emulator.config.database:
                raise AccessDenied()
            uid = self.emulator.auth.authenticate(login, password, ip, api_key_ok=False)
            token = secrets.token_urlsafe(30)
            self.emulator.sessions[token] = uid
            created["token"] = token
            return self._session_info(uid)

        response = await jsonrpc.handle(request, endpoint)
        if "token" in created:
            response.set_cookie(COOKIE, created["token"], httponly=True, samesite="lax")
        return response

    def _session_uid(self, request: Request) -> int:
        uid = self.emulator.sessions.get(request.cookies.get(COOKIE, ""))
        if uid is None:
            raise SessionExpiredException("Session expired")
        return uid

    async def get_session_info(self, request: Request) -> Response:
        def endpoint(_params: dict[str, Any]) -> Any:
            return self._session_info(self._session_uid(request))

        return await jsonrpc.handle(request, endpoint)

    async def destroy(self, request: Request) -> Response:
        def endpoint(_params: dict[str, Any]) -> Any:
            self.emulator.sessions.pop(request.cookies.get(COOKIE, ""), None)
            return None

        return await jsonrpc.handle(request, endpoint)

    async def call_kw(self, request: Request) -> Response:
        def endpoint(params: dict[str, Any]) -> Any:
            uid = self._session_uid(request)
            model, method = params.get("model"), params.get("method")
            args, kwargs = params.get("args") or [], params.get("kwargs") or {}
            return self.emulator.services.call(uid, str(model), str(method), list(args), kwargs)

        return await jsonrpc.handle(request, endpoint)
