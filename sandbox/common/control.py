"""The pieces of the ``/__sandbox__/`` control routes that both emulators share."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .faults import SANDBOX_PREFIX, Faults


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object; an empty body is ``{}``."""
    raw = await request.body()
    body = json.loads(raw) if raw else {}
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    return body


def bad_request(exc: Exception) -> Response:
    return JSONResponse({"error": str(exc)}, status_code=400)


def reset_route(reset: Callable[[], None]) -> Route:
    """``POST /__sandbox__/reset``."""

    async def endpoint(request: Request) -> Response:
        reset()
        return JSONResponse({"status": "reset"})

    return Route(f"{SANDBOX_PREFIX}/reset", endpoint, methods=["POST"])


def faults_route(faults: Faults) -> Route:
    """``/__sandbox__/faults``: GET the plan, POST faults to set, DELETE to clear them all."""

    async def endpoint(request: Request) -> Response:
        if request.method == "DELETE":
            faults.clear()
        elif request.method == "POST":
            try:
                faults.configure(**await read_json(request))
            except (ValueError, TypeError) as exc:
                return bad_request(exc)
        return JSONResponse(faults.snapshot())

    return Route(f"{SANDBOX_PREFIX}/faults", endpoint, methods=["GET", "POST", "DELETE"])
