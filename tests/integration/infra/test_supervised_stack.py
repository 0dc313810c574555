"""``ferry up``'s supervisor with real processes: a service killed with SIGKILL is started
again and serves again; the other service is left alone."""

from __future__ import annotations

import os
import secrets
import signal
import time
from pathlib import Path

import httpx

from ferry.stack import ServiceSpec, Stack
from ferry.supervisor import Supervisor, SupervisorSettings
from infra.kafka.ports import free_ports

ROOT = Path(__file__).resolve().parents[3]


def shop(name: str, port: int, data: Path) -> ServiceSpec:
    args = ("sandbox", "shop", "--port", str(port), "--data-dir", str(data))
    return ServiceSpec(name, args, port, probe="/__sandbox__/health")


def test_a_killed_service_is_restarted_and_serves_again(tmp_path: Path) -> None:
    first, second = free_ports(2)
    env = {**os.environ, "SANDBOX_SHOP_CLIENT_SECRET": secrets.token_urlsafe(24)}
    stack = Stack(env=env, log_dir=tmp_path / "log", cwd=ROOT)
    lines: list[str] = []
    try:
        stack.start_all(
            [shop("one", first, tmp_path / "one"), shop("two", second, tmp_path / "two")]
        )
        supervisor = Supervisor(
            stack,
            SupervisorSettings(first_s=0.2, max_s=1.0),
            report=lines.append,
            status_file=tmp_path / "status.json",
        )
        pid_before, other_pid = stack.pid("one"), stack.pid("two")
        stack.kill("one")
        deadline = time.monotonic() + 60
        while (
            supervisor.services["one"].restarts < 1 or supervisor.services["one"].state != "running"
        ):
            assert time.monotonic() < deadline, f"not restarted: {lines}"
            supervisor.tick()
            time.sleep(0.1)
        assert stack.pid("one") != pid_before
        assert stack.pid("two") == other_pid
        health = httpx.get(f"http://127.0.0.1:{first}/__sandbox__/health", timeout=5)
        assert health.status_code == 200
        assert lines[0].startswith(f"one exited with code {-signal.SIGKILL}")
        assert lines[1].startswith("one restarted (restart 1")
        assert supervisor.services["two"].restarts == 0
    finally:
        stack.stop()
