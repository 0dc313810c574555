"""The flow registry: one line per flow. Every stage runs what is listed here."""

from __future__ import annotations

from ferry.flow import Flow
from streams.flows import odoo_prices, odoo_stock, shop_orders

__all__ = ["FLOWS"]

FLOWS: tuple[Flow, ...] = (
    shop_orders.FLOW,
    odoo_stock.FLOW,
    odoo_prices.FLOW,
)
