"""Odoo as a connected system: its settings, embedded-default key, sandbox and sink target."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from consumers.odoo.target import OdooTarget
from ferry.flow import System
from ferry.odoo.settings import OdooSystem
from ferry.stack import ServiceSpec

__all__ = ["ODOO"]


def _secrets() -> dict[str, str]:
    key = secrets.token_hex(20)  # 40 hex characters, like an Odoo API key
    return {"FERRY_ODOO_API_KEY": key, "SANDBOX_ODOO_API_KEY": key}


def _sandbox(settings: OdooSystem, state_dir: Path) -> ServiceSpec:
    port = httpx.URL(settings.url).port or 8069
    args = ("sandbox", "odoo", "--port", str(port), "--data-dir", str(state_dir))
    return ServiceSpec("odoo-sandbox", args, port, probe="jsonrpc")


ODOO: System[OdooSystem] = System(
    "odoo",
    OdooSystem,
    secrets=_secrets,
    sandbox=_sandbox,
    connect=OdooTarget.connect,
    sink_port=9101,
    cli=("sandbox.odoo.cli",),
)
