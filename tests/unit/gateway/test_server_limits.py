"""The gateway's server limits: header size, keep-alive, concurrency (uvicorn), body time (the
body-limit middleware). The uvicorn ones run a real server on a loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from ferry.metrics import ServiceMetrics
from ferry.serde import SingleObjectSerde
from ferry.service import serve, server_config
from ferry.settings import ServiceSettings
from producers.gateway.app import create_app
from tests.unit.gateway.test_app import SECRET, URL, FakeProducer, shop_routes, signed


def gateway_app(settings: ServiceSettings, producer: FakeProducer) -> Starlette:
    return create_app(
        settings,
        producer,
        SingleObjectSerde(),
        ServiceMetrics("gateway"),
        shop_routes(SECRET),
        produce_timeout_s=10,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def running(app: Starlette, settings: ServiceSettings) -> AsyncIterator[str]:
    port = free_port()
    started = asyncio.Event()
    task = asyncio.create_task(serve(app, "127.0.0.1", port, started=started, limits=settings))
    try:
        await asyncio.wait_for(started.wait(), 10)
        yield f"http://127.0.0.1:{port}"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_the_limits_are_settings_with_defaults() -> None:
    settings = ServiceSettings(port=0)
    assert settings.max_header_bytes == 16 * 1024
    assert settings.keep_alive_timeout_s == 5
    assert settings.max_concurrency == 1000
    assert settings.body_timeout_s == 30.0


def test_the_gateway_s_server_config_carries_the_limits() -> None:
    settings = ServiceSettings(
        port=0, max_header_bytes=4096, keep_alive_timeout_s=3, max_concurrency=50
    )
    config = server_config(Starlette(), "127.0.0.1", 0, limits=settings)
    assert config.http == "h11"
    assert config.h11_max_incomplete_event_size == 4096
    assert config.timeout_keep_alive == 3
    assert config.limit_concurrency == 50


def test_services_without_limits_keep_uvicorn_s_defaults() -> None:
    config = server_config(Starlette(), "127.0.0.1", 0)
    assert config.limit_concurrency is None
    assert config.h11_max_incomplete_event_size is None


async def test_a_body_that_does_not_arrive_in_time_is_408() -> None:
    producer = FakeProducer()
    app = gateway_app(ServiceSettings(port=0, body_timeout_s=0.3), producer)
    pulled = 0

    async def trickle() -> AsyncIterator[bytes]:
        nonlocal pulled
        while pulled < 100:
            pulled += 1
            yield b"{"
            await asyncio.sleep(0.2)

    _, headers = signed()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as client:
        loop = asyncio.get_running_loop()
        began = loop.time()
        response = await client.post(URL, content=trickle(), headers=headers)
        took = loop.time() - began
    assert response.status_code == 408
    assert response.headers["Connection"] == "close"
    assert response.json()["rule"] == "body within 0.3 s"
    assert took < 2
    assert not producer.sent


async def test_a_body_in_time_is_taken_and_the_wait_for_a_disconnect_is_not_bounded() -> None:
    producer = FakeProducer()
    app = gateway_app(ServiceSettings(port=0, body_timeout_s=0.2), producer)
    producer.delay_s = 0.4  # the answer comes after the body deadline: no 408 then
    body, headers = signed()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as client:
        response = await client.post(URL, content=body, headers=headers)
    assert response.status_code == 202


async def test_headers_over_the_limit_are_refused() -> None:
    settings = ServiceSettings(port=0, max_header_bytes=4096)
    producer = FakeProducer()
    path = URL.removeprefix("http://gateway")
    async with running(gateway_app(settings, producer), settings) as url:
        body, headers = signed()
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            ok = await client.post(path, content=body, headers=headers)
            # In one read: h11 parses it, the middleware refuses it before the app runs.
            big = await client.post(path, content=body, headers={**headers, "X-Pad": "x" * 8192})
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            # Larger than one read: h11 stops buffering it, uvicorn answers 400 and closes
            # the connection (the client may see the close before the answer).
            try:
                huge = await client.post(
                    path, content=body, headers={**headers, "X-Pad": "x" * 256 * 1024}
                )
                assert huge.status_code == 400
            except httpx.TransportError:
                pass
    assert ok.status_code == 202
    assert big.status_code == 431
    assert big.json()["rule"] == "max header size"
    assert len(producer.sent) == 1


async def test_past_the_concurrency_limit_the_server_answers_503() -> None:
    settings = ServiceSettings(port=0, max_concurrency=2)
    producer = FakeProducer()
    producer.delay_s = 1.0
    path = URL.removeprefix("http://gateway")
    async with running(gateway_app(settings, producer), settings) as url:
        body, headers = signed()
        async with (
            httpx.AsyncClient(base_url=url, timeout=10) as first,
            httpx.AsyncClient(base_url=url, timeout=10) as second,
        ):
            slow = asyncio.create_task(first.post(path, content=body, headers=headers))
            await asyncio.sleep(0.3)  # the first request is in the app, waiting for Kafka
            refused = await second.post(path, content=body, headers=headers)
            assert (await slow).status_code == 202
    assert refused.status_code == 503


@pytest.mark.parametrize("keep_alive_s", [1])
async def test_an_idle_keep_alive_connection_is_closed(keep_alive_s: int) -> None:
    settings = ServiceSettings(port=0, keep_alive_timeout_s=keep_alive_s)
    async with running(gateway_app(settings, FakeProducer()), settings) as url:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.readuntil(b"}"), 5)
        assert b"200 OK" in answer
        closed = await asyncio.wait_for(reader.read(), keep_alive_s + 3)  # EOF: closed
        assert closed == b""
        writer.close()
