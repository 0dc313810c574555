"""An emulator of the part of Shopify's GraphQL Admin API (2026-10) that Ferry's stock and
price sync and its order webhook use, faithful at the wire, for the demo and the tests.

    with RunningShop(ShopConfig(client_secret="...", webhook_url="...")) as shop:
        shop.graphql_url, shop.shop.faults.configure(...), shop.shop.reset()
"""

from .emulator import ShopConfig, ShopEmulator
from .server import RunningShop, create_app, serve

__all__ = ["RunningShop", "ShopConfig", "ShopEmulator", "create_app", "serve"]
