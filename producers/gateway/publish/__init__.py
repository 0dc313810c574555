"""The publish API: connected apps publish CloudEvents of the types granted to them."""

from producers.gateway.publish.api import PublishApi
from producers.gateway.publish.catalog import PublishType, publish_types
from producers.gateway.publish.idempotency import IdempotencyStore, store_topic

__all__ = ["IdempotencyStore", "PublishApi", "PublishType", "publish_types", "store_topic"]
