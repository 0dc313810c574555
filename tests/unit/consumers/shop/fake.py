"""A small fake Shopify behind ``httpx.MockTransport``: token endpoint and GraphQL endpoint.

Answers carry ``extensions.cost`` with the bucket figures the test sets; tokens and the client
secret are generated per run.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

URL = "http://shop.test"
VERSION = "2026-10"
GRAPHQL_PATH = f"/admin/api/{VERSION}/graphql.json"
TOKEN_PATH = "/admin/oauth/access_token"

_ROOT = re.compile(r"\{\s*(\w+)")

Data = dict[str, Any]
Reply = Data | Callable[[dict[str, Any]], Data]
Scripted = httpx.Response | Exception | dict[str, Any]


class FakeClock:
    """Monotonic seconds that only move when told to."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSleep:
    """Records every wait and moves the clock by it; never sleeps."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)


def root_field(query: str) -> str:
    match = _ROOT.search(query)
    assert match, query
    return match.group(1)


class FakeShopify:
    def __init__(self, client_id: str, *, expires_in: int | None = 86399) -> None:
        self.client_id = client_id
        self.client_secret = secrets.token_urlsafe(32)
        self.expires_in = expires_in
        self.issued: list[str] = []
        self.valid: set[str] = set()
        self.token_bodies: list[dict[str, Any]] = []
        self.graphql: list[httpx.Request] = []
        self.replies: dict[str, Reply] = {}
        self.costs: dict[str, float] = {}
        self.maximum = 1000.0
        self.available = 1000.0
        self.restore_rate = 50.0
        self.script: deque[Scripted] = deque()
        self.token_script: deque[httpx.Response] = deque()
        self.always_401 = False
        self.gate: asyncio.Event | None = None
        self.parked: asyncio.Queue[None] = asyncio.Queue()

    # -- test helpers -----------------------------------------------------------------------

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))

    def revoke(self) -> None:
        self.valid.clear()

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.graphql]

    def fields(self) -> list[str]:
        return [root_field(b["query"]) for b in self.bodies()]

    def cost(self, requested: float | None) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": requested,
            "throttleStatus": {
                "maximumAvailable": self.maximum,
                "currentlyAvailable": self.available,
                "restoreRate": self.restore_rate,
            },
        }

    def throttled(self, requested: float) -> dict[str, Any]:
        cost = self.cost(requested)
        cost["actualQueryCost"] = None
        return {
            "errors": [
                {
                    "message": "Throttled",
                    "extensions": {
                        "code": "THROTTLED",
                        "documentation": "https://shopify.dev/api/usage/rate-limits",
                    },
                }
            ],
            "extensions": {"cost": cost},
        }

    # -- the server -------------------------------------------------------------------------

    async def handle(self, request: httpx.Request) -> httpx.Response:
        assert request.url.host == "shop.test"
        if request.url.path == TOKEN_PATH:
            return self._token(request)
        assert request.url.path == GRAPHQL_PATH, request.url.path
        self.graphql.append(request)
        if self.gate is not None:
            self.parked.put_nowait(None)
            await self.gate.wait()
        token = request.headers.get("x-shopify-access-token")
        if self.always_401 or token not in self.valid:
            return httpx.Response(401, json={"errors": "[API] Invalid API key or access token"})
        if self.script:
            scripted = self.script.popleft()
            if isinstance(scripted, Exception):
                raise scripted
            if isinstance(scripted, httpx.Response):
                return scripted
            return httpx.Response(200, json=scripted)
        body = json.loads(request.content)
        field = root_field(body["query"])
        reply = self.replies.get(field)
        if reply is None:
            data: Data = {field: None}
        elif callable(reply):
            data = reply(body.get("variables") or {})
        else:
            data = reply
        answer = {"data": data, "extensions": {"cost": self.cost(self.costs.get(field, 10.0))}}
        return httpx.Response(200, json=answer)

    def _token(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        body = json.loads(request.content)
        self.token_bodies.append(body)
        if self.token_script:
            return self.token_script.popleft()
        if body.get("client_id") != self.client_id or body.get("client_secret") != (
            self.client_secret
        ):
            return httpx.Response(
                400,
                json={"error": "invalid_client", "error_description": "Client authentication"},
            )
        token = f"shpat_{secrets.token_hex(16)}"
        self.issued.append(token)
        self.valid.add(token)
        answer: dict[str, Any] = {"access_token": token, "scope": "write_inventory"}
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        return httpx.Response(200, json=answer)
