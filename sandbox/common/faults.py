"""Fault injection, driven over ``/__sandbox__/faults`` or from Python.

Each fault applies to the next requests (``*_count``; none means until cleared), except the
sandbox's own ``/__sandbox__/`` routes, which always answer:

- ``latency_ms``: added before every request is handled;
- ``error_status`` (+ ``error_count``): answer that HTTP status without handling the request;
- ``hang_seconds`` (+ ``hang_count``): wait that long, then handle the request (a client that
  timed out never learns that its write was applied);
- ``refuse_count``: close the connection as soon as a request arrives, no response;
- ``downtime_seconds``: refuse every request for that long ("down");
- ``error_if_body_contains`` (+ ``error_if_body_status``, default 503): answer that status to
  every request whose body contains the text, and handle the others (one record that keeps
  failing while the system serves everything else).

An emulator adds faults of its own by subclassing ``FaultPlan`` and ``Faults``.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import asdict, dataclass
from http import HTTPStatus
from typing import Any, ClassVar

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

SANDBOX_PREFIX = "/__sandbox__"
_REQUEST_LINE = re.compile(rb"^[A-Z]+ (\S+) HTTP/1\.[01]\r?\n")


@dataclass
class FaultPlan:
    latency_ms: float = 0.0
    error_status: int | None = None
    error_count: int | None = None
    hang_seconds: float = 0.0
    hang_count: int | None = None
    refuse_count: int | None = 0
    downtime_until: float = 0.0
    error_if_body_contains: str | None = None
    error_if_body_status: int = 503


@dataclass(frozen=True)
class RequestFaults:
    latency: float
    error_status: int | None
    hang: float
    body_match: bytes | None = None
    body_match_status: int = 503


class Faults:
    """The plan, set from tests, and the hooks the middleware and the protocol call."""

    names: ClassVar[tuple[str, ...]] = (
        "latency_ms",
        "error_status",
        "error_count",
        "hang_seconds",
        "hang_count",
        "refuse_count",
        "downtime_seconds",
        "error_if_body_contains",
        "error_if_body_status",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.plan = self.new_plan()

    def new_plan(self) -> FaultPlan:
        return FaultPlan()

    def configure(self, **values: Any) -> None:
        """Set the given faults (``names``); the others keep their value."""
        unknown = set(values) - set(self.names)
        if unknown:
            raise ValueError(f"unknown fault(s): {sorted(unknown)}")
        with self._lock:
            self._set(values)

    def _set(self, values: dict[str, Any]) -> None:
        """Apply ``values`` to the plan, under the lock."""
        plan = self.plan
        if values.get("latency_ms") is not None:
            plan.latency_ms = float(values["latency_ms"])
        if values.get("error_status") is not None:
            plan.error_status = int(values["error_status"]) or None
            plan.error_count = values.get("error_count")
        if values.get("hang_seconds") is not None:
            plan.hang_seconds = float(values["hang_seconds"])
            plan.hang_count = values.get("hang_count")
        if "refuse_count" in values:
            count = values["refuse_count"]
            plan.refuse_count = None if count is None else int(count)
        if values.get("downtime_seconds") is not None:
            plan.downtime_until = time.monotonic() + float(values["downtime_seconds"])
        if "error_if_body_contains" in values:
            text = values["error_if_body_contains"]
            plan.error_if_body_contains = str(text) if text else None
        if values.get("error_if_body_status") is not None:
            plan.error_if_body_status = int(values["error_if_body_status"])

    def clear(self) -> None:
        with self._lock:
            self.plan = self.new_plan()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            data = asdict(self.plan)
        remaining = data.pop("downtime_until") - time.monotonic()
        data["downtime_remaining_s"] = max(0.0, round(remaining, 3))
        return data

    def should_refuse(self, path: str) -> bool:
        if path.startswith(SANDBOX_PREFIX):
            return False
        with self._lock:
            plan = self.plan
            if plan.downtime_until and time.monotonic() < plan.downtime_until:
                return True
            if plan.refuse_count is None:
                return True
            if plan.refuse_count > 0:
                plan.refuse_count -= 1
                return True
        return False

    def for_request(self, path: str) -> RequestFaults:
        if path.startswith(SANDBOX_PREFIX):
            return RequestFaults(0.0, None, 0.0)
        with self._lock:
            plan = self.plan
            status = plan.error_status
            if status and plan.error_count is not None:
                plan.error_count -= 1
                if plan.error_count <= 0:
                    plan.error_status = plan.error_count = None
            hang = plan.hang_seconds
            if hang and plan.hang_count is not None:
                plan.hang_count -= 1
                if plan.hang_count <= 0:
                    plan.hang_seconds, plan.hang_count = 0.0, None
            match = plan.error_if_body_contains
            return RequestFaults(
                plan.latency_ms / 1000.0,
                status,
                hang,
                match.encode("utf-8") if match else None,
                plan.error_if_body_status,
            )


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
        status = plan.error_status
        if plan.hang or plan.body_match:
            # Read the request first, as the real servers do: the work still happens (and
            # commits) after the client has given up.
            messages: list[Message] = []
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
            body = b"".join(m.get("body", b"") for m in messages)
            if plan.body_match and plan.body_match in body:
                status = status or plan.body_match_status
            if plan.hang:
                await asyncio.sleep(plan.hang)
            receive = _replay(messages, receive)
        if status:
            phrase = HTTPStatus(status).phrase
            response = Response(f"{status} {phrase}", status_code=status, media_type="text/plain")
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
