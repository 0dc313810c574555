"""Odoo's automation webhook at the gateway: ``POST /webhooks/odoo/<token>``.

Odoo 17+'s "Send Webhook Notification" posts ``{"_id", "_model", "_action", ...}`` and cannot
sign it, so the URL carries a secret token (``systems.odoo.capture.webhook_token``). The body
only names a record: the gateway puts a *touch* on ``ferry.capture.odoo.touches`` and the
capture service reads the record itself (a forged or stale body injects nothing), once per
debounce window however many touches arrive.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Collection
from typing import Any, Protocol

from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ferry.errors import Unavailable
from ferry.topics import TopicSpec, internal
from producers.gateway.rejections import Rejection, rejection_response

__all__ = ["PATH", "TOUCHES", "touch_routes"]

PATH = "/webhooks/odoo/{token}"
TOUCHES = internal("capture.odoo.touches")
SHOWN_PATH = "/webhooks/odoo/<token>"  # the token never reaches a log line


class Producer(Protocol):
    def send_and_wait(
        self, topic: str, *, value: bytes, key: bytes, headers: list[tuple[str, bytes]]
    ) -> Awaitable[Any]: ...


def touch_routes(
    token: SecretStr, models: Collection[str], producer: Producer
) -> tuple[list[BaseRoute], list[TopicSpec]]:
    """The route and the topic it writes (one partition: order does not matter, volume is low)."""
    expected = token.get_secret_value().encode()

    async def touched(request: Request) -> Response:
        scope = {**request.scope, "path": SHOWN_PATH}
        try:
            given = str(request.path_params.get("token", "")).encode()
            if not hmac.compare_digest(given, expected):
                raise Rejection(401, "unknown webhook token", reason="bad token", field="token")
            try:
                body = json.loads(await request.body())
            except ValueError:
                raise Rejection(400, "malformed JSON", reason="malformed json") from None
            if not isinstance(body, dict):
                raise Rejection(400, "expected a JSON object", reason="malformed json")
            model, ident = body.get("_model"), body.get("_id")
            if not isinstance(model, str) or not model:
                raise Rejection(400, "_model: required", reason="invalid", field="_model")
            if model not in models:
                raise Rejection(
                    404, f"{model} is not captured", reason="unknown model", field="_model"
                )
            if isinstance(ident, bool) or not isinstance(ident, int) or ident <= 0:
                raise Rejection(400, "_id: a record id", reason="invalid", field="_id")
            touch = {"model": model, "id": ident, "action": str(body.get("_action") or "")}
            try:
                await producer.send_and_wait(
                    TOUCHES,
                    value=json.dumps(touch).encode(),
                    key=f"{model}:{ident}".encode(),
                    headers=[],
                )
            except Unavailable as exc:
                raise Rejection(
                    503,
                    "Kafka did not acknowledge; retry later",
                    reason="kafka unavailable",
                    headers={"Retry-After": "5"},
                ) from exc
        except Rejection as rejection:
            return rejection_response(scope, rejection)
        return JSONResponse({"touched": f"{model}({ident})"}, status_code=202)

    routes: list[BaseRoute] = [Route(PATH, touched, methods=["POST"])]
    return routes, [TopicSpec(TOUCHES, 1)]
