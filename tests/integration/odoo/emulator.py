"""Run ``python -m sandbox.odoo`` as a subprocess on a free port, for tests and the bench."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from tests.support.platform import free_port

DATABASE = "ferry"
LOGIN = "admin"
ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Emulator:
    url: str
    api_key: str
    odoo_version: str


def available() -> bool:
    try:
        return importlib.util.find_spec("sandbox.odoo.__main__") is not None
    except ImportError:
        return False


@contextlib.contextmanager
def running(odoo_version: str, *, start_timeout: float = 20.0) -> Iterator[Emulator]:
    """Start the emulator, wait until it answers ``common.version``, stop it afterwards."""
    port = free_port()
    api_key = secrets.token_hex(20)
    command = [
        sys.executable,
        "-m",
        "sandbox.odoo",
        "--port",
        str(port),
        "--api-key",
        api_key,
        "--odoo-version",
        odoo_version,
    ]
    # The server's log goes to a file, not a pipe: an unread pipe fills up and blocks it.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(process, log, url, start_timeout)
            yield Emulator(url, api_key, odoo_version)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(process: subprocess.Popen[bytes], log: IO[bytes], url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    payload = {
        "jsonrpc": "2.0",
        "method": "call",
        "id": 1,
        "params": {"service": "common", "method": "version", "args": []},
    }
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            err = log.read().decode(errors="replace")
            raise RuntimeError(f"the Odoo emulator exited with {process.returncode}: {err[-2000:]}")
        try:
            if httpx.post(f"{url}/jsonrpc", json=payload, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the Odoo emulator did not answer within {timeout} s")
