"""Odoo as a connected system: its settings, embedded-default key, sandbox, sink target and
change capture."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field

from consumers.odoo.reconcile import reconcile
from consumers.odoo.target import OdooTarget
from ferry.flow import Flow, ServiceLookup, System
from ferry.odoo.settings import OdooSystem
from ferry.registry import GATEWAY
from ferry.stack import ServiceSpec
from ferry.topics import TopicSpec
from producers.odoo.service import captured_feeds
from producers.odoo.settings import CaptureSettings
from producers.odoo.webhook import touch_routes

__all__ = ["CAPTURE_PORT", "ODOO", "OdooSettings"]

CAPTURE = "odoo-capture"
CAPTURE_PORT = 9102


class OdooSettings(OdooSystem):
    """``systems.odoo``: the connection, where the sink keeps its version guard, and what
    the change capture reads.

    ``version_field``: the ``sale.order`` field that holds Ferry's version stamp. The default
    is a field of Ferry's own, created through the API at start (``ir.model.fields``, which
    needs the Settings rights); ``origin`` keeps it in that field instead (people can edit
    it, so an edit can weaken the guard)."""

    capture: CaptureSettings = CaptureSettings()
    version_field: str = Field(default="x_ferry_version", pattern=r"^(origin|x_[a-z0-9_]+)$")


def _connect(settings: OdooSettings, environ: Mapping[str, str] | None) -> OdooTarget:
    return OdooTarget.connect(settings, environ, version_field=settings.version_field)


def _secrets() -> dict[str, str]:
    key = secrets.token_hex(20)  # 40 hex characters, like an Odoo API key
    return {
        "FERRY_ODOO_API_KEY": key,
        "SANDBOX_ODOO_API_KEY": key,
        "FERRY_ODOO_WEBHOOK_TOKEN": secrets.token_urlsafe(24),
    }


def _sandbox(settings: OdooSettings, state_dir: Path, services: ServiceLookup) -> ServiceSpec:
    """The emulator; with a webhook token in the environment, it sends Odoo's automation
    webhooks for the captured models to the gateway (the token passed by name)."""
    port = httpx.URL(settings.url).port or 8069
    args = ("sandbox", "odoo", "--port", str(port), "--data-dir", str(state_dir))
    env: dict[str, str] = {}
    token = settings.capture.webhook_token
    if token is not None and token.kind == "env":
        gateway = services(GATEWAY)
        host = "127.0.0.1" if gateway.host in ("0.0.0.0", "::") else gateway.host
        url = f"http://{host}:{gateway.port}/webhooks/odoo/${{{token.target}}}"
        models = dict.fromkeys(["stock.quant", "product.product", *settings.capture.models])
        env["SANDBOX_ODOO_WEBHOOKS"] = " ".join(f"{m}={url}" for m in models)
    return ServiceSpec("odoo-sandbox", args, port, probe="jsonrpc", env=env)


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
    connect=_connect,
    sink_port=9101,
    services=_services,
    service_ports={CAPTURE: CAPTURE_PORT},
    gateway_routes=_gateway_routes,
    cli=("sandbox.odoo.cli", "producers.odoo.cli"),
    reconcile=reconcile,
)
