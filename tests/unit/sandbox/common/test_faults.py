"""The shared fault plan, and the Odoo emulator's fault of its own on top of it."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sandbox.common.faults import SANDBOX_PREFIX, FaultMiddleware, Faults, RequestFaults
from sandbox.odoo.faults import Faults as OdooFaults


def test_counted_faults_run_out_and_control_routes_are_spared() -> None:
    faults = Faults()
    faults.configure(latency_ms=20, error_status=503, error_count=1, hang_seconds=0.5, hang_count=2)
    assert faults.for_request(f"{SANDBOX_PREFIX}/health") == RequestFaults(0.0, None, 0.0)
    assert faults.for_request("/x") == RequestFaults(0.02, 503, 0.5)
    assert faults.for_request("/x") == RequestFaults(0.02, None, 0.5)
    assert faults.for_request("/x") == RequestFaults(0.02, None, 0.0)


def test_refusals_count_down_and_none_refuses_until_cleared() -> None:
    faults = Faults()
    faults.configure(refuse_count=1)
    assert faults.should_refuse("/x")
    assert not faults.should_refuse("/x")
    faults.configure(refuse_count=None)
    assert all(faults.should_refuse("/x") for _ in range(3))
    assert not faults.should_refuse(f"{SANDBOX_PREFIX}/faults")
    faults.clear()
    assert not faults.should_refuse("/x")


def test_downtime_refuses_and_shows_in_the_snapshot() -> None:
    faults = Faults()
    faults.configure(downtime_seconds=60)
    assert faults.should_refuse("/x")
    snapshot = faults.snapshot()
    assert "downtime_until" not in snapshot
    assert snapshot["downtime_remaining_s"] > 0


def test_unknown_faults_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="flood"):
        Faults().configure(flood=1)
    with pytest.raises(ValueError, match="serialization_failures"):
        Faults().configure(serialization_failures=1)


def test_odoo_adds_serialization_failures() -> None:
    faults = OdooFaults()
    faults.configure_from_json({"serialization_failures": 1, "latency_ms": 5})
    assert faults.take_serialization_failure()
    assert not faults.take_serialization_failure()
    snapshot = faults.snapshot()
    assert snapshot["serialization_failures"] == 0
    assert snapshot["serialization_failures_raised"] == 1
    faults.clear()
    assert faults.snapshot()["latency_ms"] == 0.0


async def test_a_body_match_fails_only_the_requests_that_carry_it() -> None:
    handled: list[bytes] = []

    async def echo(request: Request) -> PlainTextResponse:
        handled.append(await request.body())
        return PlainTextResponse("ok")

    faults = Faults()
    app = FaultMiddleware(Starlette(routes=[Route("/rpc", echo, methods=["POST"])]), faults)
    faults.configure(error_if_body_contains="#1002")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://odoo") as client:
        assert (await client.post("/rpc", content=b'{"ref": "#1001"}')).status_code == 200
        refused = await client.post("/rpc", content=b'{"ref": "#1002"}')
        assert refused.status_code == 503
        assert refused.text == "503 Service Unavailable"
        faults.configure(error_if_body_status=504)
        assert (await client.post("/rpc", content=b'{"ref": "#1002"}')).status_code == 504
        faults.clear()
        assert (await client.post("/rpc", content=b'{"ref": "#1002"}')).status_code == 200
    assert handled == [b'{"ref": "#1001"}', b'{"ref": "#1002"}']
