"""The Odoo sale order sink: what the runner needs around :class:`SaleOrderApplier`."""

from __future__ import annotations

import asyncio
import time

from consumers.odoo.sale_orders import EVENT_TYPE, SaleOrderApplier
from consumers.runner import Outcome, SinkEvent
from ferry.dlq import SourceRecord
from ferry.errors import AuthenticationError, FerryError
from ferry.odoo import OdooClient
from ferry.topics import sink

__all__ = ["TOPIC", "OdooSaleOrderSink", "auth_message"]

TOPIC = sink("odoo", "sale_orders")


def auth_message(odoo: OdooClient, key_hint: str) -> str:
    return (
        f"Odoo refused the API key for login {odoo.login} on database {odoo.database}: "
        f"check {key_hint}"
    )


class OdooSaleOrderSink:
    """``sink.odoo.sale_orders`` → Odoo. ``key_hint`` names where the API key comes from
    (``FERRY_ODOO_API_KEY``) for the one-line error shown when Odoo refuses it."""

    name = "odoo"
    topic = TOPIC
    event_type = EVENT_TYPE

    def __init__(
        self,
        odoo: OdooClient,
        applier: SaleOrderApplier | None = None,
        *,
        key_hint: str = "FERRY_ODOO_API_KEY",
        probe_every_s: float = 5.0,
    ) -> None:
        self.odoo = odoo
        self.applier = applier or SaleOrderApplier(odoo)
        self.key_hint = key_hint
        self.probe_every_s = probe_every_s
        self._probed_at = -1e9
        self._reachable = False

    async def check_credentials(self) -> None:
        """Authenticate once; raise ``AuthenticationError`` with the operator's one line."""
        try:
            await self.odoo.authenticate()
        except AuthenticationError as exc:
            raise AuthenticationError(auth_message(self.odoo, self.key_hint)) from exc

    async def apply(self, event: SinkEvent, record: SourceRecord) -> Outcome:
        try:
            return await self.applier.apply(event.data)
        except AuthenticationError as exc:
            raise AuthenticationError(auth_message(self.odoo, self.key_hint)) from exc

    async def ready(self) -> bool:
        """Odoo answered a cheap authenticated read within the last ``probe_every_s``."""
        now = time.monotonic()
        if now - self._probed_at >= self.probe_every_s:
            self._probed_at = now
            try:
                async with asyncio.timeout(3):
                    await self.odoo.search("res.currency", [], limit=1)
                self._reachable = True
            except (FerryError, TimeoutError):
                self._reachable = False
        return self._reachable
