"""A gateway that keeps the contract of ``docs/publish.md`` as an ``httpx.MockTransport``
handler: it checks the key and the content type, answers 202 or 207, and counts the calls.
``script`` holds answers (or exceptions) to give first, one per call."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from ferry.retry import Backoff

KEY = "fy_pos_" + secrets.token_urlsafe(24)  # generated per run: no key lives in code
QUICK = Backoff(base_delay_s=0.001, max_delay_s=0.005)  # the longest wait is 5 ms

Scripted = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def refusal(
    status: int,
    error: str,
    field: str | None = None,
    rule: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"error": error}
    if field is not None:
        body["field"] = field
    if rule is not None:
        body["rule"] = rule
    return httpx.Response(status, json=body, headers=headers)


@dataclass
class FakeGateway:
    script: list[Scripted] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    refuse: dict[str, tuple[int, str, str | None, str | None]] = field(default_factory=dict)
    urls: list[str] = field(default_factory=list)  # the base URLs clients were made with

    @property
    def calls(self) -> int:
        return len(self.requests)

    def bodies(self) -> list[bytes]:
        return [r.content for r in self.requests]

    def json(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content, parse_float=Decimal)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            scripted = self.script.pop(0)
            if isinstance(scripted, Exception):
                raise scripted
            if callable(scripted) and not isinstance(scripted, httpx.Response):
                return scripted(request)
            return scripted
        return self.answer(request)

    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/v1/events" or request.method != "POST":
            return refusal(404, "not found")
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return refusal(401, "a valid app key is required: Authorization: Bearer <key>")
        kind = request.headers.get("content-type", "")
        body = json.loads(request.content, parse_float=Decimal)
        if kind == "application/cloudevents+json":
            problem = self.refuse.get(body["id"])
            if problem is not None:
                return refusal(*problem)
            return httpx.Response(202, json={"ids": [body["id"]]})
        if kind == "application/cloudevents-batch+json":
            results: list[dict[str, Any]] = []
            for event in body:
                problem = self.refuse.get(event["id"])
                if problem is None:
                    results.append({"id": event["id"], "status": 202})
                    continue
                status, error, where, rule = problem
                result: dict[str, Any] = {"id": event["id"], "status": status, "error": error}
                if where is not None:
                    result["field"] = where
                if rule is not None:
                    result["rule"] = rule
                results.append(result)
            accepted = sum(1 for r in results if r["status"] == 202)
            return httpx.Response(
                207,
                json={
                    "accepted": accepted,
                    "rejected": len(results) - accepted,
                    "results": results,
                },
            )
        return refusal(415, "unsupported content type", "Content-Type")
