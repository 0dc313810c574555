"""stock: locations, the warehouse and its operation types, and which locations a product's
quantities are counted in (``product.product._get_domain_locations``).

Quants live in ``stock_quant.py``, moves and transfers in ``stock_picking.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from ..exceptions import UserError
from ..orm import fields as f
from ..orm.fields import Field
from ..orm.load import xmlid_lookup
from ..orm.model import BaseModel, Env

LOCATION_USAGES = [
    ("supplier", "Vendor"),
    ("view", "Virtual"),
    ("internal", "Internal"),
    ("customer", "Customer"),
    ("inventory", "Inventory Loss"),
    ("production", "Production"),
    ("transit", "Transit"),
]
PICKING_TYPE_CODES = [("incoming", "Receipt"), ("outgoing", "Delivery"), ("internal", "Internal")]
# xmlids of the seeded locations every warehouse hangs from or delivers to
PHYSICAL_LOCATIONS = ("stock", "stock_location_locations")
CUSTOMERS = ("stock", "stock_location_customers")
SUPPLIERS = ("stock", "stock_location_suppliers")
INVENTORY_LOSS = ("stock", "stock_location_inventory")


def xmlid_res_id(env: Env, module: str, name: str) -> int | None:
    found = xmlid_lookup(env["ir.model.data"], module, name)
    return found[1] if found else None


def location_of_usage(env: Env, xmlid: tuple[str, str], usage: str) -> int:
    """A seeded location by xmlid, else the first active one of that usage."""
    found = xmlid_res_id(env, *xmlid)
    table = env.store.tables["stock.location"]
    if found and found in table:
        return found
    for lid in sorted(table):
        if table[lid].get("usage") == usage and table[lid].get("active", True):
            return lid
    raise UserError(f"No location of type {usage!r} is defined.")


class StockLocation(BaseModel):
    _name = "stock.location"
    _description = "Inventory Locations"
    _order = "complete_name, id"
    _parent_name = "location_id"
    _rec_name = "complete_name"

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "name": f.Char("Location Name", required=True),
            "complete_name": f.Char("Full Location Name"),
            "location_id": f.Many2one("stock.location", "Parent Location", ondelete="cascade"),
            "child_ids": f.One2many("stock.location", "location_id", "Contains"),
            "usage": f.Selection(
                LOCATION_USAGES, "Location Type", required=True, default="internal"
            ),
            "active": f.Boolean("Active", default=True),
            "company_id": f.Many2one("res.company", "Company"),
            "warehouse_id": f.Many2one("stock.warehouse", "Warehouse", compute=_location_warehouse),
            "last_inventory_date": f.Date("Last Inventory", readonly=True),
            "barcode": f.Char("Barcode"),
        }

    def prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        vals["complete_name"] = self._complete_name(
            vals.get("name"), vals.get("location_id"), vals.get("usage") or "internal"
        )
        return vals

    def _complete_name(self, name: Any, parent: Any, usage: str) -> str:
        """``_compute_complete_name``: ``parent/name``, except for views and top locations."""
        parent_row = self.table.get(int(parent)) if parent else None
        if parent_row and usage != "view":
            return f"{parent_row.get('complete_name') or parent_row['name']}/{name}"
        return str(name or "")

    def after_write(self, ids: list[int], vals: dict[str, Any]) -> None:
        if not {"name", "location_id", "usage"} & set(vals):
            return
        todo = sorted(descendants(self.env, ids), key=lambda i: _depth(self.table, i))
        for lid in todo:
            row = self.table[lid]
            name = self._complete_name(row["name"], row.get("location_id"), row["usage"])
            if name != row.get("complete_name"):
                # a stored computed field: its recomputation writes the record
                self.env.store.update(
                    self._name,
                    lid,
                    {"complete_name": name, "write_uid": self.env.uid, "write_date": self.env.now},
                )


def _depth(table: dict[int, dict[str, Any]], lid: int) -> int:
    depth, seen = 0, set()
    while lid and lid not in seen and lid in table:
        seen.add(lid)
        lid = table[lid].get("location_id") or 0
        depth += 1
    return depth


def descendants(env: Env, roots: Iterable[int]) -> set[int]:
    """The locations and all their children, archived ones included (``parent_path =like``)."""
    table = env.store.tables["stock.location"]
    children: dict[int, list[int]] = {}
    for lid, row in table.items():
        parent = row.get("location_id")
        if parent:
            children.setdefault(parent, []).append(lid)
    result = {r for r in roots if r in table}
    todo = list(result)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in result:
                result.add(child)
                todo.append(child)
    return result


def ancestors(env: Env, lid: int) -> list[int]:
    """The location and its parents, nearest first."""
    table = env.store.tables["stock.location"]
    out: list[int] = []
    while lid and lid in table and lid not in out:
        out.append(lid)
        lid = table[lid].get("location_id") or 0
    return out


def _location_warehouse(env: Env, ids: list[int]) -> dict[int, Any]:
    by_view = {
        row.get("view_location_id"): wid for wid, row in env.store.tables["stock.warehouse"].items()
    }
    out: dict[int, Any] = {}
    for lid in ids:
        out[lid] = next((by_view[a] for a in ancestors(env, lid) if a in by_view), False)
    return out


class StockWarehouse(BaseModel):
    """A warehouse; creating one creates its view and stock locations and its operation types
    (receipts and deliveries in one step), as ``stock.warehouse.create`` does."""

    _name = "stock.warehouse"
    _description = "Warehouse"
    _order = "sequence, id"
    _unique = [
        (
            "stock_warehouse_warehouse_name_uniq",
            ("name", "company_id"),
            "The name of the warehouse must be unique per company!",
        ),
        (
            "stock_warehouse_warehouse_code_uniq",
            ("code", "company_id"),
            "The short name of the warehouse must be unique per company!",
        ),
    ]

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "name": f.Char("Warehouse", required=True),
            "active": f.Boolean("Active", default=True),
            "company_id": f.Many2one("res.company", "Company", required=True, default=1),
            "partner_id": f.Many2one("res.partner", "Address"),
            "view_location_id": f.Many2one(
                "stock.location", "View Location", required=True, ondelete="restrict"
            ),
            "lot_stock_id": f.Many2one(
                "stock.location", "Location Stock", required=True, ondelete="restrict"
            ),
            "code": f.Char("Short Name", required=True),
            "reception_steps": f.Selection(
                [
                    ("one_step", "Receive and Store (1 step)"),
                    ("two_steps", "Receive then Store (2 steps)"),
                    ("three_steps", "Receive, Quality Control, then Store (3 steps)"),
                ],
                "Incoming Shipments",
                required=True,
                default="one_step",
            ),
            "delivery_steps": f.Selection(
                [
                    ("ship_only", "Deliver (1 step)"),
                    ("pick_ship", "Pick then Deliver (2 steps)"),
                    ("pick_pack_ship", "Pick, Pack, then Deliver (3 steps)"),
                ],
                "Outgoing Shipments",
                required=True,
                default="ship_only",
            ),
            "in_type_id": f.Many2one("stock.picking.type", "In Type"),
            "out_type_id": f.Many2one("stock.picking.type", "Out Type"),
            "sequence": f.Integer("Sequence", default=10),
        }

    def prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        code = str(vals.get("code") or "")
        if code and not vals.get("view_location_id"):
            locations = self.env["stock.location"]
            parent = location_of_usage(self.env, PHYSICAL_LOCATIONS, "view")
            company = vals.get("company_id") or 1
            view = locations.create_records(
                [{"name": code, "usage": "view", "location_id": parent, "company_id": company}]
            )[0]
            vals["view_location_id"] = view
            if not vals.get("lot_stock_id"):
                vals["lot_stock_id"] = locations.create_records(
                    [
                        {
                            "name": "Stock",
                            "usage": "internal",
                            "location_id": view,
                            "company_id": company,
                        }
                    ]
                )[0]
        return vals

    def after_create(self, ids: list[int]) -> None:
        types = self.env["stock.picking.type"]
        for wid in ids:
            row = self.table[wid]
            if row.get("in_type_id") or row.get("out_type_id"):
                continue
            stock = row["lot_stock_id"]
            common = {"warehouse_id": wid, "company_id": row.get("company_id") or 1}
            in_type, out_type = types.create_records(
                [
                    {
                        **common,
                        "name": "Receipts",
                        "code": "incoming",
                        "sequence_code": "IN",
                        "sequence": 1,
                        "default_location_src_id": location_of_usage(
                            self.env, SUPPLIERS, "supplier"
                        ),
                        "default_location_dest_id": stock,
                    },
                    {
                        **common,
                        "name": "Delivery Orders",
                        "code": "outgoing",
                        "sequence_code": "OUT",
                        "sequence": 5,
                        "default_location_src_id": stock,
                        "default_location_dest_id": location_of_usage(
                            self.env, CUSTOMERS, "customer"
                        ),
                    },
                ]
            )
            self.write_ids([wid], {"in_type_id": in_type, "out_type_id": out_type})


class StockPickingType(BaseModel):
    _name = "stock.picking.type"
    _description = "Picking Type"
    _order = "sequence, id"

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "name": f.Char("Operation Type", required=True),
            "code": f.Selection(PICKING_TYPE_CODES, "Type of Operation", required=True),
            "sequence_code": f.Char("Sequence Prefix", required=True),
            "sequence": f.Integer("Sequence", default=10),
            "active": f.Boolean("Active", default=True),
            "warehouse_id": f.Many2one("stock.warehouse", "Warehouse", ondelete="cascade"),
            "company_id": f.Many2one("res.company", "Company", required=True, default=1),
            "default_location_src_id": f.Many2one("stock.location", "Default Source Location"),
            "default_location_dest_id": f.Many2one(
                "stock.location", "Default Destination Location"
            ),
            "reservation_method": f.Selection(
                [
                    ("at_confirm", "At Confirmation"),
                    ("manual", "Manually"),
                    ("by_date", "Before scheduled date"),
                ],
                "Reservation Method",
                required=True,
                default="at_confirm",
            ),
        }

    def compute_display_name(self, ids: list[int]) -> dict[int, str]:
        warehouses = self.env.store.tables["stock.warehouse"]
        out = {}
        for i in ids:
            row = self.table[i]
            wh = warehouses.get(row.get("warehouse_id") or 0)
            out[i] = f"{wh['name']}: {row['name']}" if wh else str(row["name"])
        return out

    def next_name(self, type_id: int) -> str:
        """The type's ``ir.sequence``: ``<warehouse code>/<prefix>/<5 digits>``."""
        row = self.table[type_id]
        wh = self.env.store.tables["stock.warehouse"].get(row.get("warehouse_id") or 0)
        prefix = f"{wh['code']}/{row['sequence_code']}/" if wh else f"{row['sequence_code']}/"
        return f"{prefix}{self.env.store.next_value(f'stock.picking.type.{type_id}'):05d}"


# -- where quantities are counted ---------------------------------------------------------------


def _context_value(context: dict[str, Any], keys: tuple[str, ...]) -> list[Any]:
    value: Any = None
    for key in keys:
        value = value or context.get(key)
    if not value:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def context_keys(major: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The context keys ``_get_domain_locations`` reads: ``location``, and ``warehouse`` (17),
    ``warehouse_id`` (18, ``warehouse`` is ignored), ``warehouse_id``/``search_warehouse`` and
    ``location``/``search_location`` (19)."""
    if major >= 19:
        return ("location", "search_location"), ("warehouse_id", "search_warehouse")
    if major == 18:
        return ("location",), ("warehouse_id",)
    return ("location",), ("warehouse",)


def _search_ids(env: Env, model: str, items: list[Any]) -> set[int]:
    """Ids as given; names matched with ``ilike`` on the model's ``_rec_name``."""
    ids: set[int] = set()
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            ids.add(item)
        elif isinstance(item, str):
            ids |= env[model].name_search_ids(item, "ilike")
    return ids


def allowed_companies(env: Env) -> set[int]:
    allowed = env.context.get("allowed_company_ids")
    if isinstance(allowed, list | tuple) and allowed:
        return {int(c) for c in allowed}
    user = env.store.tables["res.users"].get(env.uid, {})
    return {int(user.get("company_id") or 1)}


def counted_locations(env: Env) -> set[int]:
    """The locations a product's quantities are counted in, from the context, as
    ``_get_domain_locations`` + ``_get_domain_locations_new`` do: the given locations (kept only
    inside the given warehouses when both are given), else the warehouses' view locations, else
    those of every warehouse of the allowed companies; with their children unless ``strict``."""
    location_keys, warehouse_keys = context_keys(env.major)
    locations = _context_value(env.context, location_keys)
    warehouses = _context_value(env.context, warehouse_keys)
    wh_table = env.store.tables["stock.warehouse"]
    if warehouses:
        views = {
            wh_table[w]["view_location_id"]
            for w in _search_ids(env, "stock.warehouse", warehouses)
            if w in wh_table
        }
        if locations:
            ids = {
                lid
                for lid in _search_ids(env, "stock.location", locations)
                if views.intersection(ancestors(env, lid))
            }
        else:
            ids = views
    elif locations:
        ids = _search_ids(env, "stock.location", locations)
    else:
        companies = allowed_companies(env)
        ids = {
            row["view_location_id"]
            for row in wh_table.values()
            if row.get("active", True) and row.get("company_id") in companies
        }
    if env.context.get("strict"):
        return {i for i in ids if i in env.store.tables["stock.location"]}
    return descendants(env, ids)


def next_inventory_date(env: Env, location_id: int) -> str | bool:
    """``stock.location._get_next_inventory_date`` with the company's default annual inventory
    day (31 December): the next one after today, for internal and transit locations."""
    row = env.store.tables["stock.location"].get(location_id, {})
    if row.get("usage") not in ("internal", "transit"):
        return False
    today = dt.date.fromisoformat(env.now[:10])
    day = dt.date(today.year, 12, 31)
    if day <= today:
        day = dt.date(today.year + 1, 12, 31)
    return day.isoformat()
