"""Odoo's stock into the shop: a product's free quantity becomes its available level."""

from __future__ import annotations

from consumers.odoo.system import ODOO
from consumers.shop.inventory import inventory_sink
from ferry.flow import Endpoint, Flow
from ferry.topics import sink, src
from producers.shop.system import SHOP
from streams.flows.odoo_stock.rules import stock_to_inventory, validate_stock

__all__ = ["FLOW"]

FLOW = Flow(
    name="odoo-stock-to-shop",
    source=Endpoint(ODOO, "odoo.product.stock", src("odoo", "stock")),
    target=Endpoint(SHOP, "shop.inventory.set", sink("shop", "inventory")),
    entity="inventory",
    owner="odoo",
    validate=validate_stock,
    map=stock_to_inventory,
    version_field="version",
    sink=inventory_sink,
)
