"""Outgoing automation webhooks ("Send Webhook Notification" server actions).

As Odoo sends them: ``POST`` with ``Content-Type: application/json``, no signature, 1 s timeout,
no retry (failures are only logged), body ``json.dumps(vals, sort_keys=True, default=str)`` with
``_model``, ``_id``, ``_action: "<name>(#<id>)"`` and the chosen fields read with ``load=None``
(``id`` included; with no field chosen, only the three underscore keys).
They are sent inside the triggering transaction, before it commits: a rolled back or retried
transaction may already have been announced.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

from .orm.model import Env

_logger = logging.getLogger(__name__)
TRIGGERS = {
    "on_create": ("create",),
    "on_write": ("write",),
    "on_create_or_write": ("create", "write"),
    "on_unlink": ("unlink",),
}
TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class WebhookRule:
    id: int
    name: str
    model: str
    url: str
    fields: tuple[str, ...]
    trigger: str


@dataclass
class Delivery:
    rule_id: int
    url: str
    payload: str
    status: int | None
    error: str | None = None


@dataclass
class Webhooks:
    rules: list[WebhookRule] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    _next_id: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _client: httpx.Client | None = None

    def add(
        self,
        model: str,
        url: str,
        fields: list[str] | tuple[str, ...] | None = None,
        trigger: str = "on_create_or_write",
        name: str = "Send Webhook Notification",
    ) -> WebhookRule:
        if trigger not in TRIGGERS:
            raise ValueError(f"unknown trigger {trigger!r}; one of {sorted(TRIGGERS)}")
        with self._lock:
            rule = WebhookRule(self._next_id, name, model, url, tuple(fields or ()), trigger)
            self._next_id += 1
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.deliveries.clear()
            self._next_id = 1

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __call__(self, env: Env, model: str, ids: list[int], event: str) -> None:
        rules = [r for r in self.rules if r.model == model and event in TRIGGERS[r.trigger]]
        if not rules or not ids:
            return
        records = env[model]
        for rule in rules:
            # Odoo reads only when fields were chosen (``read`` then adds ``id``).
            rows = (
                {row["id"]: row for row in records.read_records(ids, list(rule.fields), None)}
                if rule.fields
                else {}
            )
            for rec_id in ids:
                vals: dict[str, Any] = {
                    "_model": model,
                    "_id": rec_id,
                    "_action": f"{rule.name}(#{rule.id})",
                }
                vals.update(rows.get(rec_id, {}))
                self._send(rule, json.dumps(vals, sort_keys=True, default=str))

    def _send(self, rule: WebhookRule, payload: str) -> None:
        if self._client is None:
            self._client = httpx.Client(timeout=TIMEOUT_SECONDS)
        delivery = Delivery(rule.id, rule.url, payload, None)
        try:
            response = self._client.post(
                rule.url, content=payload, headers={"Content-Type": "application/json"}
            )
            delivery.status = response.status_code
            if response.status_code >= 400:
                _logger.warning("Webhook %s answered %s", rule.url, response.status_code)
        except httpx.HTTPError as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
            _logger.warning("Webhook %s failed: %s", rule.url, exc)
        with self._lock:
            self.deliveries.append(delivery)
