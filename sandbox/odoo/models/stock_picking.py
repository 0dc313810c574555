"""stock.move and stock.picking: confirming reserves, validating moves the quants.

The flow of a delivery, as Odoo 17/18/19 run it (without move lines, lots or packages):
confirming moves (``action_confirm``) makes them ``confirmed`` and, for operation types that
reserve at confirmation, reserves what is free (``reserved_quantity`` on the source quants;
the move's ``quantity`` is what it holds): ``assigned`` when all of it, ``partially_available``
when part. Validating (``button_validate``) takes each move's ``quantity`` out of the source
quants (releasing its reservation) and into the destination's, marks the moves and the
transfer ``done`` and updates the sale lines' ``qty_delivered``; what is left becomes a
backorder. Moves of goods that are not storable skip reservations and quants. A transfer's
``state`` is computed from its moves and stored: when it changes, the transfer is written.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import UserError
from ..orm import fields as f
from ..orm.fields import Field
from ..orm.model import BaseModel, Env, api_records
from .product import is_storable
from .stock import CUSTOMERS, LOCATION_USAGES, ancestors, location_of_usage
from .stock_quant import ROUNDING, StockQuant

MOVE_STATES = [
    ("draft", "New"),
    ("waiting", "Waiting Another Move"),
    ("confirmed", "Waiting Availability"),
    ("partially_available", "Partially Available"),
    ("assigned", "Available"),
    ("done", "Done"),
    ("cancel", "Cancelled"),
]
PICKING_STATES = [
    ("draft", "Draft"),
    ("waiting", "Waiting Another Operation"),
    ("confirmed", "Waiting"),
    ("assigned", "Ready"),
    ("done", "Done"),
    ("cancel", "Cancelled"),
]
OPEN = ("waiting", "confirmed", "partially_available", "assigned")
# what a move holds reserved on the quants (not a field: Odoo keeps it in move lines)
RESERVED = "_reserved"
CANCEL_DONE = (
    "You cannot cancel a stock move that has been set to 'Done'. Create a return in order to "
    "reverse the moves which took place."
)


def _ids(ids: Any) -> list[int]:
    return [ids] if isinstance(ids, int) else [int(i) for i in ids or []]


def without_quantities_message(major: int) -> str:
    """``_get_without_quantities_error_message`` (⚠ the 19 wording is read from newer code)."""
    if major >= 19:
        return (
            "Transfer trouble alert! Validating a zero quantity transfer? You're not moving "
            "invisible goods around are you?\nSet some quantities and let's get moving!"
        )
    return (
        "You cannot validate a transfer if no quantities are reserved. To force the transfer, "
        "encode quantities."
    )


class StockMove(BaseModel):
    _name = "stock.move"
    _description = "Stock Move"
    _order = "sequence, id"

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "name": f.Char("Description", required=True),
            "reference": f.Char("Reference", compute=_move_reference),
            "sequence": f.Integer("Sequence", default=10),
            "origin": f.Char("Source Document"),
            "product_id": f.Many2one(
                "product.product", "Product", required=True, ondelete="restrict"
            ),
            "product_uom_qty": f.Float("Demand", required=True, default=0.0),
            "product_qty": f.Float("Real Quantity", compute=_product_qty),
            "quantity": f.Float("Quantity"),
            "picked": f.Boolean("Picked", default=False),
            "product_uom": f.Many2one("uom.uom", "UoM", default=1),
            "location_id": f.Many2one(
                "stock.location", "Source Location", required=True, ondelete="restrict"
            ),
            "location_dest_id": f.Many2one(
                "stock.location", "Destination Location", required=True, ondelete="restrict"
            ),
            "location_usage": f.Selection(
                LOCATION_USAGES, "Source Location Type", compute=_location_usage
            ),
            "location_dest_usage": f.Selection(
                LOCATION_USAGES, "Destination Location Type", compute=_location_dest_usage
            ),
            "state": f.Selection(MOVE_STATES, "Status", readonly=True, default="draft"),
            "date": f.Datetime("Date Scheduled", required=True, default=lambda env: env.now),
            "picking_id": f.Many2one("stock.picking", "Transfer", ondelete="cascade"),
            "picking_type_id": f.Many2one("stock.picking.type", "Operation Type"),
            "partner_id": f.Many2one("res.partner", "Destination Address"),
            "warehouse_id": f.Many2one("stock.warehouse", "Warehouse"),
            "sale_line_id": f.Many2one("sale.order.line", "Sale Line"),
            "is_inventory": f.Boolean("Inventory"),
            "procure_method": f.Selection(
                [("make_to_stock", "Default: Take From Stock"), ("make_to_order", "Advanced")],
                "Supply Method",
                required=True,
                default="make_to_stock",
            ),
            "company_id": f.Many2one("res.company", "Company", required=True, default=1),
        }

    def prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        picking = self.env.store.tables["stock.picking"].get(int(vals.get("picking_id") or 0))
        if picking:
            for key in ("location_id", "location_dest_id", "picking_type_id", "partner_id"):
                if not vals.get(key) and picking.get(key):
                    vals[key] = picking[key]
            vals.setdefault("origin", picking.get("origin") or False)
        product = vals.get("product_id")
        if product and not vals.get("name"):
            products = self.env["product.product"]
            if product in products.table:
                vals["name"] = products.display_names([product])[product]
        return vals

    def _pickings_of(self, ids: list[int]) -> list[int]:
        return sorted({int(p) for i in ids if (p := self.table[i].get("picking_id"))})

    def after_create(self, ids: list[int]) -> None:
        recompute_picking_state(self.env, self._pickings_of(ids))

    def after_write(self, ids: list[int], vals: dict[str, Any]) -> None:
        if "quantity" in vals:
            # a lowered quantity gives back what it no longer needs reserved
            quants = self._quants()
            for move in ids:
                row = self.table[move]
                held = float(row.get(RESERVED) or 0.0)
                keep = max(float(row.get("quantity") or 0.0), 0.0)
                if row.get("state") not in ("done", "cancel") and held - keep > ROUNDING:
                    quants.unreserve(row["product_id"], row["location_id"], held - keep)
                    self.env.store.update(self._name, move, {RESERVED: keep})
        if {"state", "picking_id"} & set(vals):
            recompute_picking_state(self.env, self._pickings_of(ids))

    def before_unlink(self, ids: list[int]) -> None:
        for move in ids:
            if self.table[move].get("state") not in ("draft", "cancel"):
                raise UserError("You can only delete draft or cancelled moves.")

    def _quants(self) -> StockQuant:
        quants = self.env["stock.quant"]
        assert isinstance(quants, StockQuant)
        return quants

    def bypasses_reservation(self, move: int) -> bool:
        """``_should_bypass_reservation``: goods that are not storable, or a source location
        that is not internal or transit."""
        row = self.table[move]
        source = self.env.store.tables["stock.location"].get(row["location_id"], {})
        return not is_storable(self.env, row["product_id"]) or source.get("usage") not in (
            "internal",
            "transit",
        )

    # -- the moves' lifecycle (``_action_confirm``, ``_action_assign``, ``_action_done``) ---------

    def action_confirm_moves(self, ids: list[int]) -> None:
        todo = [m for m in ids if self.table[m].get("state") == "draft"]
        if not todo:
            return
        self.write_ids(todo, {"state": "confirmed"})
        reserve_now = []
        types = self.env.store.tables["stock.picking.type"]
        for move in todo:
            ptype = types.get(self.table[move].get("picking_type_id") or 0, {})
            if self.bypasses_reservation(move) or ptype.get("reservation_method", "at_confirm") == (
                "at_confirm"
            ):
                reserve_now.append(move)
        self.action_assign_moves(reserve_now)

    def action_assign_moves(self, ids: list[int]) -> None:
        quants = self._quants()
        for move in ids:
            row = self.table[move]
            if row.get("state") not in ("confirmed", "partially_available", "waiting"):
                continue
            demand = float(row.get("product_uom_qty") or 0.0)
            if self.bypasses_reservation(move):
                self.write_ids([move], {"quantity": demand, "state": "assigned"})
                continue
            held = float(row.get(RESERVED) or 0.0)
            need = demand - held
            got = quants.reserve(row["product_id"], row["location_id"], need) if need > 0 else 0.0
            if got < ROUNDING and held < ROUNDING:
                continue
            total = held + got
            self.env.store.update(self._name, move, {RESERVED: total})
            state = "assigned" if total >= demand - ROUNDING else "partially_available"
            self.write_ids([move], {"quantity": total, "state": state})

    def unreserve_moves(self, ids: list[int]) -> None:
        quants = self._quants()
        for move in ids:
            row = self.table[move]
            held = float(row.get(RESERVED) or 0.0)
            if held > ROUNDING:
                quants.unreserve(row["product_id"], row["location_id"], held)
            self.env.store.update(self._name, move, {RESERVED: 0.0})

    def action_cancel_moves(self, ids: list[int]) -> None:
        if any(self.table[m].get("state") == "done" for m in ids):
            raise UserError(CANCEL_DONE)
        todo = [m for m in ids if self.table[m].get("state") != "cancel"]
        self.unreserve_moves(todo)
        self.write_ids(todo, {"state": "cancel", "quantity": 0.0})

    def action_done(self, ids: list[int]) -> None:
        """Move each ``quantity`` from the source quants to the destination's."""
        quants = self._quants()
        sale_lines = self.env["sale.order.line"]
        arrived: set[tuple[int, int]] = set()
        for move in ids:
            row = self.table[move]
            if row.get("state") in ("done", "cancel"):
                continue
            qty = float(row.get("quantity") or 0.0)
            if not self.bypasses_reservation(move):
                held = float(row.get(RESERVED) or 0.0)
                if held > ROUNDING:
                    quants.unreserve(row["product_id"], row["location_id"], held)
                    self.env.store.update(self._name, move, {RESERVED: 0.0})
            if is_storable(self.env, row["product_id"]):
                quants.update_available(row["product_id"], row["location_id"], -qty)
                quants.update_available(row["product_id"], row["location_dest_id"], qty)
                arrived.add((row["product_id"], row["location_dest_id"]))
            self.write_ids([move], {"state": "done", "date": self.env.now, "picked": True})
            line = row.get("sale_line_id")
            dest = self.env.store.tables["stock.location"].get(row["location_dest_id"], {})
            if line and line in sale_lines.table and dest.get("usage") == "customer":
                delivered = float(sale_lines.table[line].get("qty_delivered") or 0.0)
                sale_lines.write_ids([line], {"qty_delivered": delivered + qty})
        self.trigger_assign(arrived)

    def trigger_assign(self, arrived: set[tuple[int, int]]) -> None:
        """``_trigger_assign``: moves waiting for a product that just arrived where they take
        from try to reserve again."""
        waiting = []
        for move in sorted(self.ids_where("product_id", {p for p, _loc in arrived})):
            row = self.table[move]
            if row.get("state") not in ("confirmed", "partially_available"):
                continue
            for product, location in arrived:
                if row["product_id"] == product and row["location_id"] in ancestors(
                    self.env, location
                ):
                    waiting.append(move)
                    break
        self.action_assign_moves(waiting)


def recompute_picking_state(env: Env, picking_ids: list[int]) -> None:
    """``stock.picking._compute_state`` from the moves (a stored field: a change is a write)."""
    pickings = env["stock.picking"]
    moves = env["stock.move"]
    by_picking: dict[int, list[dict[str, Any]]] = {p: [] for p in picking_ids}
    for move in sorted(moves.ids_where("picking_id", by_picking)):
        row = moves.table[move]
        by_picking[row["picking_id"]].append(row)
    for picking in picking_ids:
        if picking not in pickings.table:
            continue
        states = [m.get("state") for m in by_picking[picking]]
        if not states or "draft" in states:
            state = "draft"
        elif all(s == "cancel" for s in states):
            state = "cancel"
        elif all(s in ("cancel", "done") for s in states):
            state = "done"
        else:
            state = _relevant_state(
                by_picking[picking], pickings.table[picking].get("move_type") or "direct"
            )
        if pickings.table[picking].get("state") != state:
            pickings.write_ids([picking], {"state": state})


def _relevant_state(moves: list[dict[str, Any]], move_type: str) -> str:
    """``_get_relevant_state_among_moves`` reduced to the picking state it gives."""
    todo = [m.get("state") for m in moves if m.get("state") not in ("cancel", "done")]
    if not todo:
        return "assigned"
    if move_type == "one":
        if all(s == "assigned" for s in todo):
            return "assigned"
        return "waiting" if "waiting" in todo and "confirmed" not in todo else "confirmed"
    if any(s in ("assigned", "partially_available") for s in todo):
        return "assigned"
    if all(s == "waiting" for s in todo):
        return "waiting"
    return "confirmed"


def _move_reference(env: Env, ids: list[int]) -> dict[int, Any]:
    moves = env.store.tables["stock.move"]
    pickings = env.store.tables["stock.picking"]
    out = {}
    for i in ids:
        picking = pickings.get(moves[i].get("picking_id") or 0)
        out[i] = picking["name"] if picking else moves[i].get("name") or False
    return out


def _product_qty(env: Env, ids: list[int]) -> dict[int, Any]:
    moves = env.store.tables["stock.move"]
    return {i: float(moves[i].get("product_uom_qty") or 0.0) for i in ids}


def _usage(env: Env, ids: list[int], key: str) -> dict[int, Any]:
    moves = env.store.tables["stock.move"]
    locations = env.store.tables["stock.location"]
    return {i: locations.get(moves[i].get(key) or 0, {}).get("usage") or False for i in ids}


def _location_usage(env: Env, ids: list[int]) -> dict[int, Any]:
    return _usage(env, ids, "location_id")


def _location_dest_usage(env: Env, ids: list[int]) -> dict[int, Any]:
    return _usage(env, ids, "location_dest_id")


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
            "move_type": f.Selection(
                [("direct", "As soon as possible"), ("one", "When all products are ready")],
                "Shipping Policy",
                required=True,
                default="direct",
            ),
            "scheduled_date": f.Datetime("Scheduled Date", default=lambda env: env.now),
            "date_done": f.Datetime("Date of Transfer", readonly=True),
            "carrier_tracking_ref": f.Char("Tracking Reference"),
            "sale_id": f.Many2one("sale.order", "Sales Order"),
            "picking_type_id": f.Many2one("stock.picking.type", "Operation Type", required=True),
            "picking_type_code": f.Selection(
                [("incoming", "Receipt"), ("outgoing", "Delivery"), ("internal", "Internal")],
                "Type of Operation",
                compute=_picking_type_code,
            ),
            "location_id": f.Many2one("stock.location", "Source Location", required=True),
            "location_dest_id": f.Many2one("stock.location", "Destination Location", required=True),
            "move_ids": f.One2many("stock.move", "picking_id", "Stock Moves"),
            "move_ids_without_package": f.One2many(
                "stock.move", "picking_id", "Stock moves not in package"
            ),
            "backorder_id": f.Many2one("stock.picking", "Back Order of", readonly=True),
            "user_id": f.Many2one("res.users", "Responsible", default=lambda env: env.uid),
            "company_id": f.Many2one("res.company", "Company", default=1),
        }

    def prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        """The name from the operation type's sequence; locations from its defaults (and the
        customer location for deliveries), as ``_compute_location_id`` does."""
        types = self.env["stock.picking.type"]
        ptype_id = int(vals.get("picking_type_id") or 0)
        ptype = types.table.get(ptype_id)
        if ptype:
            if not vals.get("location_id"):
                vals["location_id"] = ptype.get("default_location_src_id") or False
            if not vals.get("location_dest_id"):
                vals["location_dest_id"] = ptype.get(
                    "default_location_dest_id"
                ) or location_of_usage(self.env, CUSTOMERS, "customer")
            if vals.get("name", "/") in ("/", None, False):
                from .stock import StockPickingType

                assert isinstance(types, StockPickingType)
                vals["name"] = types.next_name(ptype_id)
        return vals

    def before_unlink(self, ids: list[int]) -> None:
        """``unlink`` cancels the moves first (a done move refuses)."""
        self._moves().action_cancel_moves(self._move_ids(ids))

    def _moves(self) -> StockMove:
        moves = self.env["stock.move"]
        assert isinstance(moves, StockMove)
        return moves

    def _move_ids(self, picking_ids: list[int], states: tuple[str, ...] | None = None) -> list[int]:
        moves = self.env["stock.move"]
        return [
            m
            for m in sorted(moves.ids_where("picking_id", picking_ids))
            if states is None or moves.table[m].get("state") in states
        ]

    @api_records
    def action_confirm(self, ids: Any) -> bool:
        ids = _ids(ids)
        self.check_exists(ids)
        self._moves().action_confirm_moves(self._move_ids(ids, ("draft",)))
        return True

    @api_records
    def action_assign(self, ids: Any) -> bool:
        ids = _ids(ids)
        self.check_exists(ids)
        self.action_confirm([i for i in ids if self.table[i]["state"] == "draft"])
        todo = self._move_ids(ids, ("confirmed", "partially_available", "waiting", "assigned"))
        if not todo:
            raise UserError("Nothing to check the availability for.")
        self._moves().action_assign_moves(todo)
        return True

    @api_records
    def button_validate(self, ids: Any) -> Any:
        ids = _ids(ids)
        self.check_exists(ids)
        moves = self._moves()
        ids = [i for i in ids if self.table[i]["state"] != "done"]
        drafts = [i for i in ids if self.table[i]["state"] == "draft"]
        self.action_confirm(drafts)
        for move in self._move_ids(drafts):
            row = moves.table[move]
            if float(row.get("quantity") or 0.0) < ROUNDING:
                moves.write_ids([move], {"quantity": float(row.get("product_uom_qty") or 0.0)})
        for picking in ids:
            todo = self._move_ids([picking], ("draft", *OPEN))
            if not any(float(moves.table[m].get("quantity") or 0.0) > ROUNDING for m in todo):
                raise UserError(without_quantities_message(self.env.major))
        short = [
            p
            for p in ids
            if any(
                float(moves.table[m].get("quantity") or 0.0)
                < float(moves.table[m].get("product_uom_qty") or 0.0) - ROUNDING
                for m in self._move_ids([p], OPEN)
            )
        ]
        if short and not self.context.get("skip_backorder"):
            return {
                "name": "Create Backorder?",
                "type": "ir.actions.act_window",
                "view_mode": "form",
                "res_model": "stock.backorder.confirmation",
                "views": [[False, "form"]],
                "target": "new",
                "context": {
                    **self.context,
                    "button_validate_picking_ids": ids,
                    "default_show_transfers": len(ids) > 1,
                    "default_pick_ids": [[4, p] for p in short],
                },
            }
        no_backorder = set(_ids(self.context.get("picking_ids_not_to_backorder") or []))
        for picking in ids:
            self._done(picking, backorder=picking not in no_backorder)
        return True

    def _done(self, picking: int, backorder: bool) -> None:
        moves = self._moves()
        todo = self._move_ids([picking], OPEN)
        rest: list[tuple[int, float]] = []
        for move in todo:
            row = moves.table[move]
            left = float(row.get("product_uom_qty") or 0.0) - float(row.get("quantity") or 0.0)
            if left > ROUNDING:
                rest.append((move, left))
                moves.write_ids([move], {"product_uom_qty": float(row.get("quantity") or 0.0)})
        moves.action_done([m for m in todo if float(moves.table[m].get("quantity") or 0) > 0])
        empty = [m for m in todo if moves.table[m].get("state") != "done"]
        moves.action_cancel_moves(empty)
        self.write_ids([picking], {"date_done": self.env.now[:19]})
        recompute_picking_state(self.env, [picking])
        if rest and backorder:
            self._backorder(picking, rest)

    def _backorder(self, picking: int, rest: list[tuple[int, float]]) -> None:
        row = self.table[picking]
        keep = ("partner_id", "origin", "sale_id", "picking_type_id", "location_id")
        new = self.create_records(
            [
                {
                    **{k: row.get(k) or False for k in keep},
                    "location_dest_id": row["location_dest_id"],
                    "move_type": row.get("move_type") or "direct",
                    "backorder_id": picking,
                }
            ]
        )[0]
        moves = self._moves()
        copied = []
        for move, qty in rest:
            src = moves.table[move]
            fields_kept = (
                "name",
                "origin",
                "product_id",
                "product_uom",
                "location_id",
                "location_dest_id",
                "picking_type_id",
                "partner_id",
                "warehouse_id",
                "sale_line_id",
                "company_id",
            )
            copied += moves.create_records(
                [
                    {
                        **{k: src.get(k) or False for k in fields_kept},
                        "product_uom_qty": qty,
                        "picking_id": new,
                    }
                ]
            )
        moves.action_confirm_moves(copied)

    @api_records
    def action_cancel(self, ids: Any) -> bool:
        ids = _ids(ids)
        self.check_exists(ids)
        self._moves().action_cancel_moves(self._move_ids(ids))
        empty = [i for i in ids if not self._move_ids([i])]
        self.write_ids(
            [i for i in empty if self.table[i]["state"] != "cancel"], {"state": "cancel"}
        )
        return True


def _picking_type_code(env: Env, ids: list[int]) -> dict[int, Any]:
    pickings = env.store.tables["stock.picking"]
    types = env.store.tables["stock.picking.type"]
    return {
        i: types.get(pickings[i].get("picking_type_id") or 0, {}).get("code") or False for i in ids
    }


# -- sale orders ----------------------------------------------------------------------------------


def create_deliveries(env: Env, order_ids: list[int]) -> None:
    """``_action_launch_stock_rule``: one delivery per confirmed order for its goods (not
    services), from the warehouse's stock to the customers, confirmed and reserved."""
    orders = env.store.tables["sale.order"]
    lines = env.store.tables["sale.order.line"]
    warehouses = env["stock.warehouse"]
    pickings = env["stock.picking"]
    moves = env["stock.move"]
    assert isinstance(moves, StockMove)
    for order_id in order_ids:
        order = orders[order_id]
        order_lines = [
            (lid, lines[lid])
            for lid in sorted(env["sale.order.line"].ids_where("order_id", [order_id]))
        ]
        goods = [
            (lid, row)
            for lid, row in order_lines
            if row.get("product_id")
            and _is_goods(env, row["product_id"])
            and float(row.get("product_uom_qty") or 0.0) > 0
        ]
        if not goods:
            continue
        company = order.get("company_id") or 1
        found = warehouses.search_list([("company_id", "=", company)], limit=1)
        if not found:
            raise UserError("No warehouse could be found for the company of this order.")
        warehouse = warehouses.table[found[0]]
        out_type = warehouse.get("out_type_id")
        partner = order.get("partner_shipping_id") or order.get("partner_id")
        picking = pickings.create_records(
            [
                {
                    "picking_type_id": out_type,
                    "partner_id": partner,
                    "origin": order["name"],
                    "sale_id": order_id,
                    "scheduled_date": order.get("date_order") or env.now,
                    "company_id": company,
                }
            ]
        )[0]
        created = moves.create_records(
            [
                {
                    "name": row.get("name") or False,
                    "product_id": row["product_id"],
                    "product_uom_qty": float(row.get("product_uom_qty") or 0.0),
                    "product_uom": row.get("product_uom") or 1,
                    "picking_id": picking,
                    "sale_line_id": lid,
                    "warehouse_id": found[0],
                    "date": order.get("date_order") or env.now,
                    "company_id": company,
                }
                for lid, row in goods
            ]
        )
        moves.action_confirm_moves(created)


def _is_goods(env: Env, product_id: int) -> bool:
    products = env["product.product"]
    if product_id not in products.table:
        return False
    ptype = products.values([product_id], "type").get(product_id)
    return ptype in ("consu", "product")


def cancel_deliveries(env: Env, order_ids: list[int]) -> None:
    """Cancelling an order cancels its transfers that are not done (and their reservations)."""
    pickings = env["stock.picking"]
    assert isinstance(pickings, StockPicking)
    open_ids = [
        p
        for p in sorted(pickings.ids_where("sale_id", order_ids))
        if pickings.table[p].get("state") not in ("done", "cancel")
    ]
    if open_ids:
        pickings.action_cancel(open_ids)
