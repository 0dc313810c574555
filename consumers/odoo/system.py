"""Odoo as a connected system: its settings, embedded-default key, sandbox, sink target and
change capture."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from consumers.odoo.target import OdooTarget
from ferry.flow import Flow, ServiceLookup, System
from ferry.odoo.settings import OdooSystem
from ferry.stack import ServiceSpec
from ferry.topics import TopicSpec
from producers.odoo.service import captured_feeds
from producers.odoo.settings import CaptureSettings
from producers.odoo.webhook import touch_routes

__all__ = ["CAPTURE_PORT", "ODOO", "OdooSettings"]

CAPTURE = "odoo-capture"
CAPTURE_PORT = 9102


class OdooSettings(OdooSystem):
    """``systems.odoo``: the connection, and what the change capture reads."""

    capture: CaptureSettings = CaptureSettings()


def _secrets() -> dict[str, str]:
    key = secrets.token_hex(20)  # 40 hex characters, like an Odoo API key
    return {
        "FERRY_ODOO_API_KEY": key,
        "SANDBOX_ODOO_API_KEY": key,
        "FERRY_ODOO_WEBHOOK_TOKEN": secrets.token_urlsafe(24),
    }


def _sandbox(settings: OdooSettings, state_dir: Path, services: ServiceLookup) -> ServiceSpec:
    port = httpx.URL(settings.url).port or 8069
    args = ("sandbox", "odoo", "--port", str(port), "--data-dir", str(state_dir))
    return ServiceSpec("odoo-sandbox", args, port, probe="jsonrpc")


def _services(settings: OdooSettings, flows: Sequence[Flow]) -> list[ServiceSpec]:
    """The change capture, when a flow reads from Odoo or models are configured."""
    reads = any(f.source.system.name == "odoo" for f in flows) or settings.capture.models
    return [ServiceSpec(CAPTURE, ("capture", "odoo"), CAPTURE_PORT)] if reads else []


def _gateway_routes(
    settings: OdooSettings, environ: Mapping[str, str] | None, producer: Any, flows: Sequence[Flow]
) -> tuple[list[Any], list[TopicSpec]]:
    """Odoo's automation webhook, when ``capture.webhook_token`` is set."""
    token_ref = settings.capture.webhook_token
    if token_ref is None:
        return [], []
    token = token_ref.resolve("systems.odoo.capture.webhook_token", environ)
    models = [feed.model for feed in captured_feeds(flows, settings.capture)]
    return touch_routes(token, models, producer)


ODOO: System[OdooSettings] = System(
    "odoo",
    OdooSettings,
    secrets=_secrets,
    sandbox=_sandbox,
    connect=OdooTarget.connect,
    sink_port=9101,
    services=_services,
    service_ports={CAPTURE: CAPTURE_PORT},
    gateway_routes=_gateway_routes,
    cli=("sandbox.odoo.cli", "producers.odoo.cli"),
)
