"""Shop orders into Odoo: a signed ``orders/create`` webhook becomes a confirmed sale order."""

from __future__ import annotations

from consumers.odoo.sink import sale_order_sink
from consumers.odoo.system import ODOO
from ferry.flow import Endpoint, Flow, PublishSource, WebhookSource
from ferry.topics import entity_key, sink, src
from producers.shop import webhook
from producers.shop.system import SHOP
from streams.flows.shop_orders.mapping import shop_order_to_sale_order
from streams.flows.shop_orders.validate import validate_order

__all__ = ["FLOW"]

FLOW = Flow(
    name="shop-orders-to-odoo",
    source=Endpoint(SHOP, webhook.EVENT_TYPE, src("shop", "orders")),
    target=Endpoint(ODOO, "odoo.sale_order.upsert", sink("odoo", "sale_orders")),
    entity="sale_order",
    owner="odoo",
    validate=validate_order,
    map=shop_order_to_sale_order,
    version_field="source_updated_at",
    sink=sale_order_sink,
    webhook=WebhookSource(
        path=webhook.WEBHOOK_PATH,
        convert=webhook.convert_order,
        signature=webhook.SIGNATURE,
        topic_headers=(webhook.TOPIC_HEADER, webhook.ALIASES[webhook.TOPIC_HEADER]),
        webhook_topics=webhook.WEBHOOK_TOPICS,
        delivery_headers=(webhook.DELIVERY_HEADER, webhook.ALIASES[webhook.DELIVERY_HEADER]),
    ),
    # A point-of-sale or marketplace app publishes its orders as shop.order.created records.
    publish=PublishSource(key=lambda record: entity_key("shop", "order", record["order_id"])),
)
