"""Ferry's async client for the shop's (Shopify's) GraphQL Admin API, for the shop sinks.

::

    async with ShopifyClient(url, client_id=client_id, client_secret=secret) as shop:
        variant = await shop.variant_by_sku("SKU-001")

Errors are Ferry's (:mod:`ferry.errors`); the translation table is in
:mod:`consumers.shop.errors`.
"""

from consumers.shop.client import Location, ShopifyClient, Variant
from consumers.shop.errors import (
    IdempotencyInProgress,
    StaleQuantity,
    UserError,
    raise_user_errors,
)

__all__ = [
    "IdempotencyInProgress",
    "Location",
    "ShopifyClient",
    "StaleQuantity",
    "UserError",
    "Variant",
    "raise_user_errors",
]
