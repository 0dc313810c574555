"""A real shop emulator (uvicorn in a thread, free port) for the session, reset before each test.

Fixtures: ``shop`` (a ``RunningShop``: ``.url``, ``.graphql_url``, ``.shop``), ``token`` (a
fresh access token), ``api`` (an ``Api`` that posts GraphQL with it) and ``receiver`` (a local
webhook receiver the shop sends to). The client secret is generated per run.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from sandbox.shop import RunningShop, ShopConfig

CLIENT_ID = "ferry-tests"
SECRET = secrets.token_urlsafe(32)
LOCATION = "gid://shopify/Location/71000001"
FAST_RETRIES = (0.05, 0.1, 0.2)


def wait_for(check: Callable[[], bool], *, timeout_s: float = 10.0, what: str = "it") -> None:
    """Return once ``check()`` is true; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        threading.Event().wait(0.02)


def get_token(shop: RunningShop, secret: str = SECRET) -> str:
    response = httpx.post(
        f"{shop.url}/admin/oauth/access_token",
        data={"client_id": CLIENT_ID, "client_secret": secret, "grant_type": "client_credentials"},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


class Api:
    """GraphQL over HTTP with an access token, as a client of the Admin API sends it."""

    def __init__(self, shop: RunningShop, token: str) -> None:
        self.shop = shop
        self.token = token

    def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return httpx.post(
            self.shop.graphql_url, json=body, headers={"X-Shopify-Access-Token": self.token}
        )

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.post(query, variables)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self(query, variables)
        assert "errors" not in answer, answer["errors"]
        data: dict[str, Any] = answer["data"]
        return data

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.shop.url}/__sandbox__/{path}", json=body)
        assert response.is_success, response.text
        return response.json()

    def level(self, sku: str) -> dict[str, Any]:
        items = self.control("GET", "inventory")["items"]
        found: dict[str, Any] = next(item for item in items if item["sku"] == sku)
        return found


class Receiver:
    """A local HTTP server that records what it is sent and answers ``statuses`` in turn."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.append((dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/shop"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _headers, body in self.received]


@pytest.fixture(scope="session")
def shop_server() -> Iterator[RunningShop]:
    config = ShopConfig(
        client_secret=SECRET, client_id=CLIENT_ID, webhook_retry_delays_s=FAST_RETRIES
    )
    with RunningShop(config) as server:
        yield server


@pytest.fixture
def shop(shop_server: RunningShop) -> RunningShop:
    shop_server.shop.reset()
    return shop_server


@pytest.fixture
def token(shop: RunningShop) -> str:
    return get_token(shop)


@pytest.fixture
def api(shop: RunningShop, token: str) -> Api:
    return Api(shop, token)


@pytest.fixture
def receiver(api: Api) -> Iterator[Receiver]:
    r = Receiver()
    api.control("POST", "webhooks", {"url": r.url})
    yield r
    r.server.shutdown()
