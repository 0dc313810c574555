"""A real emulator server (uvicorn in a thread, free port) per test session and version.

Fixtures: ``odoo`` (Odoo 18, reset before each test), ``odoo17`` and ``odoo19`` (likewise),
all ``RunningEmulator`` objects: ``.url``, ``.port``, ``.emulator`` (``faults``,
``add_webhook``, ``reset``). ``API_KEY`` is registered for admin.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from sandbox.odoo import EmulatorConfig, RunningEmulator

API_KEY = secrets.token_hex(20)  # 40 hex characters like an Odoo key, generated per run


def _server(version: str) -> Iterator[RunningEmulator]:
    with RunningEmulator(EmulatorConfig(version=version, api_keys=[API_KEY])) as server:
        yield server


@pytest.fixture(scope="session")
def odoo18_server() -> Iterator[RunningEmulator]:
    yield from _server("18.0")


@pytest.fixture(scope="session")
def odoo17_server() -> Iterator[RunningEmulator]:
    yield from _server("17.0")


@pytest.fixture(scope="session")
def odoo19_server() -> Iterator[RunningEmulator]:
    yield from _server("19.0")


@pytest.fixture
def odoo(odoo18_server: RunningEmulator) -> RunningEmulator:
    odoo18_server.emulator.reset()
    return odoo18_server


@pytest.fixture
def odoo17(odoo17_server: RunningEmulator) -> RunningEmulator:
    odoo17_server.emulator.reset()
    return odoo17_server


@pytest.fixture
def odoo19(odoo19_server: RunningEmulator) -> RunningEmulator:
    odoo19_server.emulator.reset()
    return odoo19_server
