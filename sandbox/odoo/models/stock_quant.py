"""stock.quant: what is on hand where, what of it is reserved, and inventory adjustments.

Quants change the way Odoo changes them, each a ``write`` (so ``write_date``/``write_uid`` move
and automations fire): a reservation writes ``reserved_quantity``; a done move writes
``quantity`` (and ``in_date``) on a quant of its source and of its destination, creating it if
needed — also in virtual locations, so the inventory-loss location carries negative quants.
Applying a count (``inventory_quantity`` + ``action_apply_inventory``) creates and validates an
inventory ``stock.move`` from or to the inventory-loss location, then clears the count.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import UserError, ValidationError
from ..orm import fields as f
from ..orm.fields import Field
from ..orm.model import BaseModel, Env, api_records
from .product import is_storable
from .stock import INVENTORY_LOSS, descendants, location_of_usage, next_inventory_date

ROUNDING = 1e-6
SUPERUSER_ID = 1
# ``_get_inventory_fields_create``: what a quant may be created with in inventory mode
INVENTORY_CREATE_FIELDS = {
    "product_id",
    "location_id",
    "lot_id",
    "package_id",
    "owner_id",
    "inventory_quantity",
    "inventory_quantity_auto_apply",
    "inventory_diff_quantity",
    "inventory_date",
    "user_id",
    "inventory_quantity_set",
    "is_outdated",
}
FORBIDDEN_INVENTORY_WRITE = ("product_id", "location_id", "lot_id", "package_id", "owner_id")


def _ids(ids: Any) -> list[int]:
    return [ids] if isinstance(ids, int) else [int(i) for i in ids or []]


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
            "product_tmpl_id": f.Many2one(
                "product.template", "Product Template", compute=_quant_template
            ),
            "product_uom_id": f.Many2one("uom.uom", "Unit", compute=_quant_uom),
            "location_id": f.Many2one(
                "stock.location", "Location", required=True, ondelete="restrict"
            ),
            "warehouse_id": f.Many2one("stock.warehouse", "Warehouse", compute=_quant_warehouse),
            "owner_id": f.Many2one("res.partner", "Owner"),
            "quantity": f.Float("Quantity", readonly=True),
            "reserved_quantity": f.Float("Reserved Quantity", readonly=True, required=True),
            "available_quantity": f.Float("Available Quantity", compute=_available),
            "in_date": f.Datetime(
                "Incoming Date", readonly=True, required=True, default=lambda env: env.now
            ),
            "inventory_quantity": f.Float("Counted Quantity"),
            "inventory_quantity_auto_apply": f.Float(
                "Inventoried Quantity", compute=_auto_apply, inverse=_set_auto_apply
            ),
            # stored in Odoo, recomputed only when the count changes: a quantity that moved
            # since the count makes the quant "outdated"
            "inventory_diff_quantity": f.Float("Difference", readonly=True),
            "inventory_date": f.Date("Scheduled Date"),
            "inventory_quantity_set": f.Boolean("Inventory Quantity Set"),
            "is_outdated": f.Boolean("Quantity has been moved since last count", compute=_outdated),
            "user_id": f.Many2one("res.users", "Assigned To"),
            "company_id": f.Many2one("res.company", "Company", default=1),
        }

    def compute_display_name(self, ids: list[int]) -> dict[int, str]:
        products = self.env["product.product"].display_names(
            {self.table[i]["product_id"] for i in ids}
        )
        return {i: products.get(self.table[i]["product_id"], "") for i in ids}

    def inventory_mode(self) -> bool:
        """``_is_inventory_mode``: the ``inventory_mode`` context key (access rights are not
        emulated: every user counts as a stock user)."""
        return bool(self.context.get("inventory_mode"))

    # -- create / write ------------------------------------------------------------------------

    def create_records(self, vals_list: list[dict[str, Any]]) -> list[int]:
        ids: list[int] = []
        for vals in vals_list:
            counted = "inventory_quantity" in vals or "inventory_quantity_auto_apply" in vals
            if self.inventory_mode() and counted:
                ids.append(self._create_counted(dict(vals)))
                continue
            vals = dict(vals)
            self._check_quant(vals.get("product_id"), vals.get("location_id"))
            if "inventory_quantity" not in vals:
                vals.setdefault("inventory_quantity_set", False)
            ids.extend(super().create_records([vals]))
        return ids

    def _create_counted(self, vals: dict[str, Any]) -> int:
        """Inventory mode: count on the existing quant of that product and location, or on a
        new one; ``inventory_quantity_auto_apply`` applies the count at once."""
        if any(k not in INVENTORY_CREATE_FIELDS for k in vals):
            raise UserError("Quant's creation is restricted, you can't do this operation.")
        auto_apply = "inventory_quantity_auto_apply" in vals
        counted = vals.pop("inventory_quantity_auto_apply", False) or vals.pop(
            "inventory_quantity", False
        )
        vals.pop("inventory_quantity", None)
        product, location = vals.get("product_id"), vals.get("location_id")
        self._check_quant(product, location)
        existing = self.gather(int(product or 0), int(location or 0), strict=True)
        if existing:
            quant = existing[0]
        else:
            quant = super().create_records(
                [
                    {
                        "product_id": product,
                        "location_id": location,
                        "owner_id": vals.get("owner_id") or False,
                        "inventory_quantity_set": False,
                    }
                ]
            )[0]
        if auto_apply:
            _set_auto_apply(self.env, quant, counted)
        else:
            self.write_ids(
                [quant],
                {
                    "inventory_quantity": float(counted or 0.0),
                    "user_id": vals.get("user_id") or self.env.uid,
                    "inventory_date": self.env.now[:10],
                },
            )
        return quant

    def _check_quant(self, product_id: Any, location_id: Any) -> None:
        products = self.env.store.tables["product.product"]
        if product_id and product_id in products and not is_storable(self.env, int(product_id)):
            raise ValidationError("Quants cannot be created for consumables or services.")
        location = self.env.store.tables["stock.location"].get(int(location_id or 0))
        if location and location.get("usage") == "view":
            raise ValidationError(
                "You cannot take products from or deliver products to a location of type "
                f'"view" ({location["name"]}).'
            )

    def write_ids(self, ids: list[int], vals: dict[str, Any]) -> None:
        if self.inventory_mode() and any(k in vals for k in FORBIDDEN_INVENTORY_WRITE):
            raise UserError("Quant's editing is restricted, you can't do this operation.")
        vals = dict(vals)
        if "inventory_quantity" in vals:
            # inventory_quantity_set and inventory_diff_quantity are computed from the count
            vals.setdefault("inventory_quantity_set", True)
            if "inventory_diff_quantity" not in vals:
                super().write_ids(ids, vals)
                for rec_id in ids:
                    row = self.table[rec_id]
                    diff = (
                        float(row.get("inventory_quantity") or 0.0)
                        - float(row.get("quantity") or 0.0)
                        if row.get("inventory_quantity_set")
                        else 0.0
                    )
                    if diff != row.get("inventory_diff_quantity"):
                        self.env.store.update(self._name, rec_id, {"inventory_diff_quantity": diff})
                return
        super().write_ids(ids, vals)

    def before_unlink(self, ids: list[int]) -> None:
        """``_unlink_except_wrong_permission``: a user (not the superuser) deleting quants
        counts them at zero and applies that first, so their stock leaves by inventory moves."""
        if self.env.uid == SUPERUSER_ID:
            return
        counted = type(self)(self.env.with_context(inventory_mode=True))
        counted.write_ids(ids, {"inventory_quantity": 0.0})
        counted.apply_inventory(ids)

    # -- quantities ----------------------------------------------------------------------------

    def gather(self, product_id: int, location_id: int, strict: bool = False) -> list[int]:
        """``_gather``: the product's quants in the location (and its children unless
        ``strict``), oldest first (``in_date``, then id)."""
        locations = {location_id} if strict else descendants(self.env, [location_id])
        found = [
            i
            for i in self.ids_where("product_id", [product_id])
            if self.table[i].get("location_id") in locations
        ]
        return sorted(found, key=lambda i: (self.table[i].get("in_date") or "", i))

    def available(self, product_id: int, location_id: int) -> float:
        """``_get_available_quantity``: on hand minus reserved, never below zero."""
        total = sum(
            float(self.table[i].get("quantity") or 0.0)
            - float(self.table[i].get("reserved_quantity") or 0.0)
            for i in self.gather(product_id, location_id)
        )
        return max(total, 0.0)

    def update_available(self, product_id: int, location_id: int, quantity: float) -> None:
        """``_update_available_quantity``: add to (or take from) the quant of that product and
        location, creating it when there is none."""
        if abs(quantity) < ROUNDING:
            return
        found = self.gather(product_id, location_id, strict=True)
        if found:
            quant = found[0]
            row = self.table[quant]
            self.write_ids(
                [quant],
                {
                    "quantity": float(row.get("quantity") or 0.0) + quantity,
                    "in_date": row.get("in_date") or self.env.now,
                },
            )
            return
        BaseModel.create_records(
            self,
            [
                {
                    "product_id": product_id,
                    "location_id": location_id,
                    "quantity": quantity,
                    "in_date": self.env.now,
                    "inventory_quantity_set": False,
                }
            ],
        )

    def reserve(self, product_id: int, location_id: int, quantity: float) -> float:
        """``_update_reserved_quantity`` for a positive ``quantity``: reserve what is free on the
        quants (oldest first), at most ``quantity``; return what was reserved."""
        left = min(quantity, self.available(product_id, location_id))
        done = 0.0
        for quant in self.gather(product_id, location_id):
            if left < ROUNDING:
                break
            row = self.table[quant]
            free = float(row.get("quantity") or 0.0) - float(row.get("reserved_quantity") or 0.0)
            if free < ROUNDING:
                continue
            take = min(free, left)
            self.write_ids(
                [quant], {"reserved_quantity": float(row.get("reserved_quantity") or 0.0) + take}
            )
            left -= take
            done += take
        return done

    def unreserve(self, product_id: int, location_id: int, quantity: float) -> None:
        """``_update_reserved_quantity`` for a negative quantity: release that much."""
        left = quantity
        for quant in self.gather(product_id, location_id):
            if left < ROUNDING:
                break
            row = self.table[quant]
            reserved = float(row.get("reserved_quantity") or 0.0)
            if reserved < ROUNDING:
                continue
            take = min(reserved, left)
            self.write_ids([quant], {"reserved_quantity": max(reserved - take, 0.0)})
            left -= take

    # -- inventory adjustments -----------------------------------------------------------------

    @api_records
    def action_apply_inventory(self, ids: Any) -> Any:
        ids = _ids(ids)
        self.check_exists(ids)
        outdated = [i for i in ids if _outdated(self.env, [i])[i]]
        if outdated:
            return {
                "name": "Conflict in Inventory Adjustment",
                "type": "ir.actions.act_window",
                "view_mode": "form",
                "views": [[False, "form"]],
                "res_model": "stock.inventory.conflict",
                "target": "new",
                "context": {
                    **self.context,
                    "default_quant_ids": ids,
                    "default_quant_to_fix_ids": outdated,
                },
            }
        self.apply_inventory(ids)
        # Odoo returns None here: JSON-RPC omits ``result``, XML-RPC cannot marshal it.
        return None

    def apply_inventory(self, ids: list[int]) -> None:
        """``_apply_inventory``: one done inventory move per quant for its difference, then the
        count is cleared and the next count scheduled."""
        from .stock_picking import StockMove

        moves = self.env["stock.move"]
        assert isinstance(moves, StockMove)
        loss = location_of_usage(self.env, INVENTORY_LOSS, "inventory")
        move_ids: list[int] = []
        for quant in ids:
            row = self.table[quant]
            diff = float(row.get("inventory_diff_quantity") or 0.0)
            source, dest = (loss, row["location_id"]) if diff > 0 else (row["location_id"], loss)
            name = self.context.get("inventory_name") or (
                "Product Quantity Confirmed" if abs(diff) < ROUNDING else "Product Quantity Updated"
            )
            move_ids += moves.create_records(
                [
                    {
                        "name": name,
                        "product_id": row["product_id"],
                        "product_uom_qty": abs(diff),
                        "quantity": abs(diff),
                        "location_id": source,
                        "location_dest_id": dest,
                        "state": "confirmed",
                        "is_inventory": True,
                        "picked": True,
                        "company_id": row.get("company_id") or 1,
                    }
                ]
            )
        moves.action_done(move_ids)
        locations = sorted({self.table[q]["location_id"] for q in ids})
        self.env["stock.location"].write_ids(locations, {"last_inventory_date": self.env.now[:10]})
        for quant in ids:
            self.write_ids(
                [quant],
                {
                    "inventory_quantity": 0.0,
                    "inventory_diff_quantity": 0.0,
                    "inventory_quantity_set": False,
                    "user_id": False,
                    "inventory_date": next_inventory_date(
                        self.env, self.table[quant]["location_id"]
                    ),
                },
            )

    @api_records
    def action_set_inventory_quantity_to_zero(self, ids: Any) -> None:
        self.write_ids(
            _ids(ids),
            {
                "inventory_quantity": 0.0,
                "inventory_diff_quantity": 0.0,
                "inventory_quantity_set": False,
                "user_id": False,
            },
        )

    @api_records
    def action_set_inventory_quantity(self, ids: Any) -> None:
        """Count what the system has (``inventory_quantity = quantity``)."""
        for quant in _ids(ids):
            self.write_ids(
                [quant],
                {
                    "inventory_quantity": float(self.table[quant].get("quantity") or 0.0),
                    "user_id": self.env.uid,
                },
            )


def _quant_template(env: Env, ids: list[int]) -> dict[int, Any]:
    quants = env.store.tables["stock.quant"]
    products = env.store.tables["product.product"]
    return {
        i: products.get(quants[i]["product_id"], {}).get("product_tmpl_id") or False for i in ids
    }


def _quant_uom(env: Env, ids: list[int]) -> dict[int, Any]:
    tmpl = _quant_template(env, ids)
    templates = env.store.tables["product.template"]
    return {i: templates.get(t or 0, {}).get("uom_id") or False for i, t in tmpl.items()}


def _quant_warehouse(env: Env, ids: list[int]) -> dict[int, Any]:
    quants = env.store.tables["stock.quant"]
    locations = env["stock.location"].values(
        {quants[i]["location_id"] for i in ids}, "warehouse_id"
    )
    return {i: locations.get(quants[i]["location_id"], False) for i in ids}


def _available(env: Env, ids: list[int]) -> dict[int, Any]:
    quants = env.store.tables["stock.quant"]
    return {
        i: float(quants[i].get("quantity") or 0.0) - float(quants[i].get("reserved_quantity") or 0)
        for i in ids
    }


def _auto_apply(env: Env, ids: list[int]) -> dict[int, Any]:
    quants = env.store.tables["stock.quant"]
    return {i: float(quants[i].get("quantity") or 0.0) for i in ids}


def _set_auto_apply(env: Env, quant: int, value: Any) -> None:
    """``_set_inventory_quantity``: in inventory mode, count ``value`` and apply it at once."""
    model = env["stock.quant"]
    assert isinstance(model, StockQuant)
    if not model.inventory_mode():
        return
    if float(model.table[quant].get("quantity") or 0.0) == float(value or 0.0):
        return
    model.write_ids([quant], {"inventory_quantity": float(value or 0.0)})
    model.action_apply_inventory([quant])


def _outdated(env: Env, ids: list[int]) -> dict[int, Any]:
    quants = env.store.tables["stock.quant"]
    out = {}
    for i in ids:
        row = quants[i]
        counted = float(row.get("inventory_quantity") or 0.0)
        diff = float(row.get("inventory_diff_quantity") or 0.0)
        out[i] = bool(row.get("inventory_quantity_set")) and (
            abs(counted - diff - float(row.get("quantity") or 0.0)) > ROUNDING
        )
    return out
