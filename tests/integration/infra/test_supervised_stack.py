"""``ferry up``'s supervisor with real processes: a service killed with SIGKILL is started
again and serves again; the other service is left alone."""

from __future__ import annotations

import http.server
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from ferry.stack import ServiceSpec, Stack, StackError
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


class _Healthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # every probe answered 200, as another stack's service would
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_port_another_process_holds_is_refused_before_the_service_starts(
    tmp_path: Path,
) -> None:
    (port,) = free_ports(1)
    server = http.server.HTTPServer(("127.0.0.1", port), _Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stack = Stack(env=dict(os.environ), log_dir=tmp_path / "log", cwd=ROOT)
    try:
        with pytest.raises(StackError) as raised:
            stack.start(shop("shop", port, tmp_path / "shop"))
        message = str(raised.value)
        assert f"port {port} is already in use" in message
        assert f"pid {os.getpid()}" in message  # what holds it
        assert stack.names == []  # nothing was started on it
        assert not (tmp_path / "log" / "shop.log").exists()
    finally:
        stack.stop()
        server.shutdown()
        server.server_close()


def test_ferry_up_names_every_taken_port_before_it_starts_anything(tmp_path: Path) -> None:
    gateway, console = free_ports(2)
    servers = [http.server.HTTPServer(("127.0.0.1", p), _Healthy) for p in (gateway, console)]
    env = {
        **os.environ,
        "FERRY__SERVICES__GATEWAY__PORT": str(gateway),
        "FERRY__SERVICES__CONSOLE__PORT": str(console),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ferry.cli", "up", "--state-dir", str(tmp_path)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        for server in servers:
            server.server_close()
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"gateway cannot start: port {gateway} is already in use by pid {os.getpid()}" in (
        done.stderr
    )
    assert f"console cannot start: port {console} is already in use" in done.stderr
    assert "Starting Kafka" not in done.stdout
    assert not (tmp_path / "kafka").exists()


def test_a_restart_refused_over_a_taken_port_keeps_the_service_in_its_place(
    tmp_path: Path,
) -> None:
    first, second = free_ports(2)
    env = {**os.environ, "SANDBOX_SHOP_CLIENT_SECRET": secrets.token_urlsafe(24)}
    stack = Stack(env=env, log_dir=tmp_path / "log", cwd=ROOT)
    try:
        stack.start_all(
            [shop("one", first, tmp_path / "one"), shop("two", second, tmp_path / "two")]
        )
        stack.kill("one")
        squatter = http.server.HTTPServer(("127.0.0.1", first), _Healthy)
        try:
            with pytest.raises(StackError, match=f"port {first} is already in use"):
                stack.restart("one")
            assert stack.names == ["one", "two"]
            assert stack.exit_code("one") == -signal.SIGKILL
        finally:
            squatter.server_close()
        stack.restart("one")
        assert stack.names == ["one", "two"]
        assert stack.exit_code("one") is None
        health = httpx.get(f"http://127.0.0.1:{first}/__sandbox__/health", timeout=5)
        assert health.status_code == 200
    finally:
        stack.stop()
