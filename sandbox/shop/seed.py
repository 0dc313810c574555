"""The seeded shop: SKU-001 … SKU-005 (the titles and prices of Ferry's sample orders), each a
product with one default variant and inventory item, stocked at one location."""

from __future__ import annotations

from .store import Level, Location, Store, Variant

# SKU, title, unit price: the same as producers/shop/sample.py's CATALOGUE (a test checks it).
CATALOGUE: tuple[tuple[str, str, str], ...] = (
    ("SKU-001", "Espresso beans 1 kg", "24.90"),
    ("SKU-002", "Ceramic mug", "9.50"),
    ("SKU-003", "Milk frother", "39.00"),
    ("SKU-004", "Pour-over kettle", "54.00"),
    ("SKU-005", "Paper filters (100)", "4.20"),
)
LOCATION_ID = 71_000_001
LOCATION_NAME = "Shop location"
INITIAL_AVAILABLE = 100
VARIANT_TITLE = "Default Title"

# Distinct number ranges per type, so a client that mixes up ids gets "not found".
PRODUCT_BASE = 81_000_000
VARIANT_BASE = 82_000_000
INVENTORY_ITEM_BASE = 83_000_000


def seed(store: Store, now: str, initial_available: int = INITIAL_AVAILABLE) -> None:
    with store.transaction():
        store.add_location(Location(LOCATION_ID, LOCATION_NAME))
        for n, (sku, title, price) in enumerate(CATALOGUE, 1):
            store.add_product(PRODUCT_BASE + n, title)
            store.add_variant(
                Variant(
                    id=VARIANT_BASE + n,
                    product_id=PRODUCT_BASE + n,
                    product_title=title,
                    sku=sku,
                    title=VARIANT_TITLE,
                    price=price,
                    inventory_item_id=INVENTORY_ITEM_BASE + n,
                    updated_at=now,
                )
            )
            store.put_level(Level(INVENTORY_ITEM_BASE + n, LOCATION_ID, initial_available, 0))
