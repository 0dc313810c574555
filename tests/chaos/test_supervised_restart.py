"""``ferry up``'s supervisor restarts a killed service once it is alive, not once its target is
reachable: a sink whose target answers 429 is not ready (its ``/readyz`` says so), and a restart
that waited for that readiness held every other service's restart for up to a minute."""

from __future__ import annotations

import time

import httpx
import pytest

from ferry.supervisor import Supervisor, SupervisorSettings
from tests.support.platform import Platform

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def test_a_sink_whose_target_is_throttling_is_restarted_and_the_others_are_not_held(
    platform: Platform,
) -> None:
    faults = f"{platform.shop_url}/__sandbox__/faults"
    lines: list[str] = []
    supervisor = Supervisor(
        platform.stack,
        SupervisorSettings(first_s=0.1, start_timeout_s=20.0),
        report=lines.append,
    )
    sink_port = platform.stack.port("shop-sink")
    httpx.post(faults, json={"error_status": 429}, timeout=5).raise_for_status()
    try:
        platform.stack.kill("shop-sink")
        platform.stack.kill("console")  # due for a restart right after the sink's
        deadline = time.monotonic() + 60
        while not (
            supervisor.services["shop-sink"].restarts >= 1
            and supervisor.services["console"].restarts >= 1
            and all(s.state == "running" for s in supervisor.services.values())
        ):
            assert time.monotonic() < deadline, lines
            supervisor.tick()
            time.sleep(0.1)
        ready = httpx.get(f"http://127.0.0.1:{sink_port}/readyz", timeout=5).status_code
    finally:
        httpx.delete(faults, timeout=5).raise_for_status()
    restarted = [line for line in lines if " restarted " in line]
    assert [line.split()[0] for line in restarted] == ["shop-sink", "console"], lines
    assert not [line for line in lines if "did not start" in line], lines
    assert ready == 503  # alive, and honest that its target does not answer yet
