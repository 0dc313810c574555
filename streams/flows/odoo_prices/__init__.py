"""Odoo's prices into the shop: a product's sales price becomes its variant's price."""

from __future__ import annotations

from consumers.odoo.system import ODOO
from consumers.shop.prices import price_sink
from ferry.flow import Endpoint, Flow
from ferry.topics import sink, src
from producers.shop.system import SHOP
from streams.flows.odoo_prices.rules import product_to_price, validate_product

__all__ = ["FLOW"]

FLOW = Flow(
    name="odoo-prices-to-shop",
    source=Endpoint(ODOO, "odoo.product.changed", src("odoo", "products")),
    target=Endpoint(SHOP, "shop.price.set", sink("shop", "prices")),
    entity="product_price",
    owner="odoo",
    validate=validate_product,
    map=product_to_price,
    version_field="version",
    sink=price_sink,
)
