"""``serve_until`` and ``until_signalled``: a service's HTTP server and its stop (local sockets)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from ferry.service import serve_until, until_signalled


def app() -> Starlette:
    return Starlette(routes=[Route("/", lambda _request: PlainTextResponse("here"))])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_serves_until_stop_is_set_then_the_port_is_closed() -> None:
    port, stop, started = free_port(), asyncio.Event(), asyncio.Event()
    serving = asyncio.create_task(serve_until(stop, app(), "127.0.0.1", port, started=started))
    await asyncio.wait_for(started.wait(), 10)
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"http://127.0.0.1:{port}/")).text == "here"
    stop.set()
    await asyncio.wait_for(serving, 10)
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as http:
            await http.get(f"http://127.0.0.1:{port}/")


async def test_until_signalled_sets_stop_on_sigterm() -> None:
    seen: list[bool] = []

    async def run(stop: asyncio.Event) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(stop.wait(), 5)
        seen.append(stop.is_set())

    await until_signalled(run)
    assert seen == [True]
    # the handler is removed afterwards: the default SIGTERM disposition is back
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
