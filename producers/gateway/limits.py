"""Request limits: headers larger than the limit are answered 431; a body larger than its
limit 413, unread; a body too slow, 408.

uvicorn's h11 parser bounds what it buffers of an incomplete request head
(``h11_max_incomplete_event_size``, see :func:`ferry.service.server_config`), but a head that
arrives in one read is parsed whatever its size; this middleware refuses any head (path, query
and headers) above ``max_header_bytes`` before the app runs.

A ``Content-Length`` above the limit is refused before the app runs. A body without one (chunked)
is counted while it streams: the receive that crosses the limit raises a 413
:class:`~producers.gateway.rejections.Rejection`, so at most one chunk past the limit is ever
held. The whole body must arrive within ``body_timeout_s`` of the request's start (its headers
read): the receive that would wait past that raises a 408 rejection (``Connection: close``), so a
client that trickles its body cannot hold a request open (uvicorn has no such timeout). The app
may catch the rejection itself; otherwise this middleware answers it.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from producers.gateway.rejections import Rejection, rejection_response

__all__ = ["BodyLimitMiddleware", "body_too_large", "body_too_slow", "head_size"]


def body_too_large(limit: int) -> Rejection:
    return Rejection(
        413, f"request body larger than {limit} bytes", reason="body too large", rule="max size"
    )


def body_too_slow(timeout_s: float) -> Rejection:
    return Rejection(
        408,
        f"request body not received within {timeout_s:g} s",
        reason="body timeout",
        rule=f"body within {timeout_s:g} s",
        headers={"Connection": "close"},
    )


def head_size(scope: Scope) -> int:
    """About the bytes of the request line and headers as sent."""
    size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    return size + sum(len(name) + len(value) + 4 for name, value in scope.get("headers", ()))


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        body_timeout_s: float | None = None,
        max_header_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.max_header_bytes is not None and head_size(scope) > self.max_header_bytes:
            big = Rejection(
                431,
                f"request line and headers larger than {self.max_header_bytes} bytes",
                reason="headers too large",
                rule="max header size",
                headers={"Connection": "close"},
            )
            await rejection_response(scope, big)(scope, receive, send)
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

        timeout_s = self.body_timeout_s
        deadline = None if timeout_s is None else asyncio.get_running_loop().time() + timeout_s
        received = 0
        body_done = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, body_done
            if body_done or deadline is None:
                message = await receive()  # after the body: waits for a disconnect, unbounded
            else:
                try:
                    async with asyncio.timeout_at(deadline):
                        message = await receive()
                except TimeoutError:
                    assert timeout_s is not None
                    raise body_too_slow(timeout_s) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise body_too_large(limit)
                body_done = not message.get("more_body", False)
            else:
                body_done = True  # http.disconnect
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
