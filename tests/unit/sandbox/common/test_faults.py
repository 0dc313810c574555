"""The shared fault plan, and the Odoo emulator's fault of its own on top of it."""

from __future__ import annotations

import pytest

from sandbox.common.faults import SANDBOX_PREFIX, Faults, RequestFaults
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
