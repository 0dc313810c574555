"""Body size limit: a request body larger than the limit is answered 413, unread.

A ``Content-Length`` above the limit is refused before the app runs. A body without one (chunked)
is counted while it streams: the receive that crosses the limit raises a 413
:class:`~producers.gateway.rejections.Rejection`, so at most one chunk past the limit is ever
held. The app may catch the rejection itself; otherwise this middleware answers it.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from producers.gateway.rejections import Rejection, rejection_response

__all__ = ["BodyLimitMiddleware", "body_too_large"]


def body_too_large(limit: int) -> Rejection:
    return Rejection(
        413, f"request body larger than {limit} bytes", reason="body too large", rule="max size"
    )


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                bad = Rejection(400, "invalid Content-Length", reason="invalid content length")
                await rejection_response(scope, bad)(scope, receive, send)
                return
            if int(declared) > limit:
                await rejection_response(scope, body_too_large(limit))(scope, receive, send)
                return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise body_too_large(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except Rejection as rejection:
            if response_started:
                raise
            await rejection_response(scope, rejection)(scope, receive, send)
