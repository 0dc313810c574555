"""stock: locations, quants (inventory mode) and transfers."""

from __future__ import annotations

from typing import Any

from ..exceptions import UserError, ValidationError
from ..orm import fields as f
from ..orm.fields import Field
from ..orm.model import BaseModel, Env, api_records

PICKING_STATES = [
    ("draft", "Draft"),
    ("waiting", "Waiting Another Operation"),
    ("confirmed", "Waiting"),
    ("assigned", "Ready"),
    ("done", "Done"),
    ("cancel", "Cancelled"),
]


def _ids(ids: Any) -> list[int]:
    return [ids] if isinstance(ids, int) else [int(i) for i in ids or []]


class StockLocation(BaseModel):
    _name = "stock.location"
    _description = "Inventory Locations"
    _order = "complete_name, id"
    _parent_name = "location_id"

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        usage = [
            ("supplier", "Vendor"),
            ("view", "Virtual"),
            ("internal", "Internal"),
            ("customer", "Customer"),
            ("inventory", "Inventory Loss"),
            ("transit", "Transit"),
        ]
        return {
            "name": f.Char("Location Name", required=True),
            "complete_name": f.Char("Full Location Name"),
            "location_id": f.Many2one("stock.location", "Parent Location", ondelete="cascade"),
            "usage": f.Selection(usage, "Location Type", required=True, default="internal"),
            "active": f.Boolean("Active", default=True),
            "company_id": f.Many2one("res.company", "Company"),
        }

    def compute_display_name(self, ids: list[int]) -> dict[int, str]:
        return {i: str(self.table[i].get("complete_name") or self.table[i]["name"]) for i in ids}


class StockQuant(BaseModel):
    _name = "stock.quant"
    _description = "Quants"
    _rec_name = None

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "product_id": f.Many2one(
                "product.product", "Product", required=True, ondelete="restrict"
            ),
            "location_id": f.Many2one(
                "stock.location", "Location", required=True, ondelete="restrict"
            ),
            "quantity": f.Float("Quantity", readonly=True),
            "reserved_quantity": f.Float("Reserved Quantity", readonly=True),
            "inventory_quantity": f.Float("Counted Quantity"),
            "inventory_quantity_set": f.Boolean("Inventory Quantity Set"),
            "inventory_diff_quantity": f.Float("Difference", compute=_diff),
            "company_id": f.Many2one("res.company", "Company", default=1),
        }

    def compute_display_name(self, ids: list[int]) -> dict[int, str]:
        products = self.env["product.product"].display_names(
            {self.table[i]["product_id"] for i in ids}
        )
        return {i: products.get(self.table[i]["product_id"], "") for i in ids}

    def create_records(self, vals_list: list[dict[str, Any]]) -> list[int]:
        ids: list[int] = []
        for vals in vals_list:
            self._check_storable(vals.get("product_id"))
            if self.context.get("inventory_mode") and "inventory_quantity" in vals:
                existing = [
                    i
                    for i, row in self.table.items()
                    if row.get("product_id") == vals.get("product_id")
                    and row.get("location_id") == vals.get("location_id")
                ]
                counted = {
                    "inventory_quantity": vals["inventory_quantity"],
                    "inventory_quantity_set": True,
                }
                if existing:
                    self.write_ids(existing[:1], counted)
                    ids.append(existing[0])
                    continue
                vals = {**vals, **counted}
            ids.extend(super().create_records([vals]))
        return ids

    def _check_storable(self, product_id: Any) -> None:
        if not product_id:
            return
        product = self.env["product.product"]
        if product_id not in product.table:
            return
        if self.env.major >= 18:
            storable = bool(product.values([product_id], "is_storable").get(product_id))
        else:
            storable = product.values([product_id], "type").get(product_id) == "product"
        if not storable:
            raise ValidationError("Quants cannot be created for consumables or services.")

    @api_records
    def action_apply_inventory(self, ids: Any) -> None:
        ids = _ids(ids)
        self.check_exists(ids)
        for rec_id in ids:
            row = self.table[rec_id]
            if row.get("inventory_quantity_set"):
                self.write_ids(
                    [rec_id],
                    {
                        "quantity": row.get("inventory_quantity") or 0.0,
                        "inventory_quantity": 0.0,
                        "inventory_quantity_set": False,
                    },
                )
        # Odoo returns None here: JSON-RPC omits ``result``, XML-RPC cannot marshal it.

    @api_records
    def action_set_inventory_quantity_to_zero(self, ids: Any) -> None:
        self.write_ids(_ids(ids), {"inventory_quantity": 0.0, "inventory_quantity_set": False})


def _diff(env: Env, ids: list[int]) -> dict[int, Any]:
    table = env.store.tables["stock.quant"]
    return {
        i: (float(table[i].get("inventory_quantity") or 0.0) - float(table[i].get("quantity") or 0))
        if table[i].get("inventory_quantity_set")
        else 0.0
        for i in ids
    }


class StockPicking(BaseModel):
    _name = "stock.picking"
    _description = "Transfer"
    _order = "priority desc, scheduled_date asc, id desc"

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "name": f.Char("Reference", default="/"),
            "origin": f.Char("Source Document"),
            "partner_id": f.Many2one("res.partner", "Contact"),
            "state": f.Selection(PICKING_STATES, "Status", readonly=True, default="draft"),
            "priority": f.Selection([("0", "Normal"), ("1", "Urgent")], "Priority", default="0"),
            "scheduled_date": f.Datetime("Scheduled Date", default=lambda env: env.now),
            "date_done": f.Datetime("Date of Transfer", readonly=True),
            "carrier_tracking_ref": f.Char("Tracking Reference"),
            "sale_id": f.Many2one("sale.order", "Sales Order"),
            "picking_type_code": f.Selection(
                [("incoming", "Receipt"), ("outgoing", "Delivery"), ("internal", "Internal")],
                "Type of Operation",
                default="outgoing",
            ),
            "company_id": f.Many2one("res.company", "Company", default=1),
        }

    def prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        if vals.get("name", "/") in ("/", None, False):
            vals["name"] = f"WH/OUT/{self.env.store.next_value('stock.picking'):05d}"
        return vals

    @api_records
    def action_confirm(self, ids: Any) -> bool:
        ids = _ids(ids)
        self.check_exists(ids)
        self.write_ids(
            [i for i in ids if self.table[i]["state"] == "draft"], {"state": "confirmed"}
        )
        return True

    @api_records
    def action_assign(self, ids: Any) -> bool:
        ids = _ids(ids)
        self.check_exists(ids)
        todo = [i for i in ids if self.table[i]["state"] in ("draft", "confirmed", "waiting")]
        self.write_ids(todo, {"state": "assigned"})
        return True

    @api_records
    def button_validate(self, ids: Any) -> bool:
        ids = _ids(ids)
        self.check_exists(ids)
        for rec_id in ids:
            state = self.table[rec_id]["state"]
            if state in ("done", "cancel"):
                raise UserError(
                    "You cannot validate a transfer if no quantities are reserved "
                    "nor done. You can use the info button to check the status."
                )
        self.write_ids(ids, {"state": "done", "date_done": self.env.now[:19]})
        return True

    @api_records
    def action_cancel(self, ids: Any) -> bool:
        ids = _ids(ids)
        self.check_exists(ids)
        if any(self.table[i]["state"] == "done" for i in ids):
            raise UserError("You cannot cancel a transfer that is done.")
        self.write_ids(ids, {"state": "cancel"})
        return True
