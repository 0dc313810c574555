"""What the capture reads per Odoo model, and the event each changed record becomes.

A :class:`Feed` names a model, the fields to read, and how a row becomes a record of its event
type (keyed ``odoo:<entity>:<id>``). The stock feed reads ``stock.quant`` changes but emits
the affected products' quantities, which it reads in one batched call per page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ferry.errors import ValidationError
from ferry.topics import entity_key, src

__all__ = [
    "FEEDS",
    "PARTNERS",
    "PRODUCTS",
    "STOCK",
    "Captured",
    "Feed",
    "odoo_datetime",
    "parse_odoo_datetime",
]

ODOO_DATETIME = "%Y-%m-%d %H:%M:%S"

# Reads products' quantities for a warehouse: (product ids, warehouse) -> rows.
ProductReader = Callable[[Sequence[int], str], Awaitable[list[dict[str, Any]]]]


def odoo_datetime(moment: datetime) -> str:
    """Odoo's own spelling of a moment: UTC, seconds, no offset."""
    return moment.astimezone(UTC).strftime(ODOO_DATETIME)


def parse_odoo_datetime(value: Any, field: str = "write_date") -> datetime:
    if not isinstance(value, str):
        raise ValidationError(field, "an Odoo datetime (YYYY-MM-DD HH:MM:SS)", value)
    try:
        return datetime.strptime(value, ODOO_DATETIME).replace(tzinfo=UTC)
    except ValueError:
        raise ValidationError(field, "an Odoo datetime (YYYY-MM-DD HH:MM:SS)", value) from None


def _m2o_id(value: Any) -> int | None:
    if isinstance(value, list | tuple) and value:
        return int(value[0])
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _price(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return Decimal(repr(float(value))).quantize(Decimal("0.0001"))


@dataclass(frozen=True, slots=True)
class Captured:
    """One event to emit: its key, its record, and the version it states."""

    key: str
    record: dict[str, Any]
    version: datetime
    writer: int | None


# A feed's own fields of one record: (id, the row read; None once the record is gone).
Values = Callable[[int, Mapping[str, Any] | None], dict[str, Any]]
# Events of a page of rows that are not one event per row (stock: rows of quants).
Expand = Callable[[Sequence[Mapping[str, Any]], ProductReader, str], Awaitable[list["Captured"]]]


def _product_values(ident: int, row: Mapping[str, Any] | None) -> dict[str, Any]:
    row = row or {}
    return {
        "product_id": ident,
        "default_code": _text(row.get("default_code")),
        "name": _text(row.get("name")),
        "list_price": _price(row.get("list_price")),
    }


def _partner_values(ident: int, row: Mapping[str, Any] | None) -> dict[str, Any]:
    row = row or {}
    return {"partner_id": ident, "name": _text(row.get("name")), "email": _text(row.get("email"))}


@dataclass(frozen=True, slots=True)
class Feed:
    """A captured model. ``values`` gives the event's own fields of a record; ``expand``
    replaces one event per row (stock); ``suppress_echo``: drop rows whose last writer is
    Ferry itself."""

    model: str
    fields: tuple[str, ...]
    event_type: str
    topic: str
    entity: str
    values: Values = _product_values
    expand: Expand | None = None
    suppress_echo: bool = True
    archivable: bool = True

    def captured(self, row: Mapping[str, Any]) -> Captured:
        """The event of one row."""
        version = parse_odoo_datetime(row.get("write_date"))
        writer = _m2o_id(row.get("write_uid"))
        active = bool(row.get("active", True))
        record: dict[str, Any] = {
            "action": "changed" if active else "archived",
            "active": active,
            "write_uid": writer,
            "write_date": version,
            **self.values(int(row["id"]), row),
        }
        return Captured(entity_key("odoo", self.entity, row["id"]), record, version, writer)

    def deleted(self, ident: int, noticed: datetime) -> Captured:
        """The event of a record that is gone (found by :class:`Reconciler`)."""
        record: dict[str, Any] = {
            "action": "deleted",
            "active": False,
            "write_uid": None,
            "write_date": noticed,
            **self.values(ident, None),
        }
        return Captured(entity_key("odoo", self.entity, ident), record, noticed, None)

    async def events(
        self, rows: Sequence[Mapping[str, Any]], read_products: ProductReader, warehouse: str
    ) -> list[Captured]:
        """The events of a page of (new, non-echo) rows."""
        if self.expand is not None:
            return await self.expand(rows, read_products, warehouse)
        return [self.captured(row) for row in rows]


PRODUCTS = Feed(
    "product.product",
    ("id", "default_code", "name", "list_price", "active", "write_uid", "write_date"),
    "odoo.product.changed",
    src("odoo", "products"),
    "product",
)
PARTNERS = Feed(
    "res.partner",
    ("id", "name", "email", "active", "write_uid", "write_date"),
    "odoo.partner.changed",
    src("odoo", "partners"),
    "partner",
    values=_partner_values,
)
STOCK = Feed(
    "stock.quant",
    ("id", "product_id", "write_uid", "write_date"),
    "odoo.product.stock",
    src("odoo", "stock"),
    "product",
    expand=lambda rows, read, warehouse: stock_events(rows, read, warehouse),
    suppress_echo=False,  # Ferry's own confirmations move stock: that is news, not an echo
    archivable=False,
)

FEEDS: dict[str, Feed] = {f.model: f for f in (PRODUCTS, PARTNERS, STOCK)}


async def stock_events(
    rows: Sequence[Mapping[str, Any]], read_products: ProductReader, warehouse: str
) -> list[Captured]:
    """The quantities of the products whose quants are ``rows``, one event per product.

    Each event's version is the newest ``write_date`` among the product's quants in ``rows``.
    """
    newest: dict[int, tuple[datetime, int | None]] = {}
    for row in rows:
        product = _m2o_id(row.get("product_id"))
        if product is None:
            continue
        version = parse_odoo_datetime(row.get("write_date"))
        if product not in newest or version > newest[product][0]:
            newest[product] = (version, _m2o_id(row.get("write_uid")))
    if not newest:
        return []
    found = {int(p["id"]): p for p in await read_products(sorted(newest), warehouse)}
    events = []
    for product, (version, writer) in sorted(newest.items()):
        data = found.get(product)
        if data is None:
            continue  # deleted since: nothing to say about its stock
        record = {
            "product_id": product,
            "default_code": _text(data.get("default_code")),
            "warehouse": warehouse,
            "free_qty": float(data.get("free_qty") or 0.0),
            "qty_available": float(data.get("qty_available") or 0.0),
            "write_uid": writer,
            "write_date": version,
        }
        events.append(Captured(entity_key("odoo", "product", product), record, version, writer))
    return events
