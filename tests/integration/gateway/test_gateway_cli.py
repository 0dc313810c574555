"""``ferry gateway`` and ``ferry shop send-sample`` as a user runs them, against the real broker."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway.test_gateway_kafka import free_port

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[3]


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "ferry gateway exited before it was ready"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("ferry gateway did not become ready")


def test_gateway_and_send_sample_commands(kafka_bootstrap: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "FERRY_SHOP_WEBHOOK_SECRET": secrets.token_urlsafe(24),
        "FERRY_ODOO_WEBHOOK_TOKEN": secrets.token_urlsafe(24),
        "FERRY__KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
        "FERRY__SERVICES__GATEWAY__PORT": str(port),
        "FERRY_SCHEMAS_DIR": str(ROOT / "schemas"),
    }
    env.pop("FERRY_CONFIG", None)
    log = (tmp_path / "gateway.log").open("wb")
    gateway = subprocess.Popen(
        [sys.executable, "-m", "ferry.cli", "gateway"],
        cwd=tmp_path,  # no .env there: the environment above is all it gets
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, gateway)
        sent = subprocess.run(
            [sys.executable, "-m", "ferry.cli", "shop", "send-sample", "--count", "3"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert sent.returncode == 0, sent.stderr
        lines = sent.stdout.strip().splitlines()
        assert len(lines) == 3
        assert all(": 202 ce_id=" in line for line in lines)
        metrics = httpx.get(f"{url}/metrics").text
        assert 'ferry_events_out_total{service="gateway",topic="src.shop.orders"} 3.0' in metrics
    finally:
        gateway.send_signal(signal.SIGTERM)
        try:
            code = gateway.wait(timeout=30)
        finally:
            if gateway.poll() is None:
                gateway.kill()
            log.close()
    output = (tmp_path / "gateway.log").read_text()
    assert code == 0, output
    assert "Traceback" not in output
    assert "gateway stopped" in output
