"""Sandbox-only control routes under ``/__sandbox__/``: reset, faults, webhooks, API keys
(``POST /users/<login>/api_key`` returns a fresh key for that user)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.common.control import bad_request, faults_route, read_json, reset_route
from sandbox.common.faults import SANDBOX_PREFIX

if TYPE_CHECKING:
    from .emulator import OdooEmulator


def routes(emulator: OdooEmulator) -> list[Route]:
    async def health(request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "version": emulator.config.version,
                "database": emulator.config.database,
            }
        )

    async def webhooks(request: Request) -> Response:
        if request.method == "DELETE":
            emulator.webhooks.clear()
        elif request.method == "POST":
            try:
                body = await read_json(request)
                rule = emulator.add_webhook(
                    str(body["model"]),
                    str(body["url"]),
                    body.get("fields"),
                    body.get("trigger", "on_create_or_write"),
                    body.get("name", "Send Webhook Notification"),
                )
            except (ValueError, TypeError, KeyError) as exc:
                return bad_request(exc)
            return JSONResponse(asdict(rule))
        return JSONResponse(
            {
                "rules": [asdict(r) for r in emulator.webhooks.rules],
                "deliveries": [asdict(d) for d in emulator.webhooks.deliveries],
            }
        )

    async def api_keys(request: Request) -> Response:
        body = await read_json(request)
        emulator.add_api_key(str(body["key"]), int(body.get("uid", 2)))
        return JSONResponse({"status": "ok"})

    async def user_api_key(request: Request) -> Response:
        login = request.path_params["login"]
        try:
            uid, key = emulator.new_api_key(login)
        except KeyError:
            return JSONResponse({"error": f"no active user with login {login!r}"}, status_code=404)
        return JSONResponse({"login": login, "uid": uid, "key": key})

    p = SANDBOX_PREFIX
    return [
        Route(f"{p}/health", health, methods=["GET"]),
        reset_route(emulator.reset),
        faults_route(emulator.faults),
        Route(f"{p}/webhooks", webhooks, methods=["GET", "POST", "DELETE"]),
        Route(f"{p}/api_keys", api_keys, methods=["POST"]),
        Route(f"{p}/users/{{login}}/api_key", user_api_key, methods=["POST"]),
    ]
