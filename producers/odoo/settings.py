"""``systems.odoo.capture``: what Ferry's change capture reads from Odoo, and how often."""

from __future__ import annotations

from pydantic import Field

from ferry.secrets import SecretRef
from ferry.settings import Secret, SystemModel

__all__ = ["CaptureSettings"]


class CaptureSettings(SystemModel):
    """Polling and real-time settings of ``ferry capture odoo``.

    ``models`` adds models to capture beyond those the enabled flows read (e.g.
    ``res.partner``); ``webhook_token`` (a secret reference; ``null`` turns it off) enables
    Odoo's automation webhook at ``POST /webhooks/odoo/<token>`` on the gateway.
    """

    interval_s: float = Field(default=5.0, gt=0)
    overlap_s: float = Field(default=5.0, ge=0)
    batch_size: int = Field(default=500, ge=1, le=10_000)
    warehouse: str = "WH"
    models: list[str] = Field(default_factory=list)
    webhook_token: Secret | None = SecretRef("env", "FERRY_ODOO_WEBHOOK_TOKEN")
    debounce_s: float = Field(default=0.5, ge=0)
    reconcile_every_s: float = Field(default=300.0, gt=0)  # look for deleted records
