"""sale: quotations and orders (draft/sent/sale/cancel, locked) and their lines."""

from __future__ import annotations

from typing import Any

from ..exceptions import UserError
from ..orm import fields as f
from ..orm.fields import Field
from ..orm.model import BaseModel, Env, api_records
from .product import partner_pricelist
from .stock_picking import cancel_deliveries, create_deliveries

ORDER_STATES = [
    ("draft", "Quotation"),
    ("sent", "Quotation Sent"),
    ("sale", "Sales Order"),
    ("cancel", "Cancelled"),
]


def _ids(ids: Any) -> list[int]:
    return [ids] if isinstance(ids, int) else [int(i) for i in ids or []]


class SaleOrder(BaseModel):
    _name = "sale.order"
    _description = "Sales Order"
    _order = "date_order desc, id desc"

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "name": f.Char(
                "Order Reference", required=True, readonly=True, default="New", index=True
            ),
            "partner_id": f.Many2one("res.partner", "Customer", required=True, index=True),
            "partner_invoice_id": f.Many2one("res.partner", "Invoice Address"),
            "partner_shipping_id": f.Many2one("res.partner", "Delivery Address"),
            "client_order_ref": f.Char("Customer Reference", index=True),
            "origin": f.Char("Source Document"),
            "date_order": f.Datetime("Order Date", required=True, default=lambda env: env.now),
            "validity_date": f.Date("Expiration"),
            "state": f.Selection(ORDER_STATES, "Status", readonly=True, default="draft"),
            "locked": f.Boolean("Locked", default=False),
            "order_line": f.One2many("sale.order.line", "order_id", "Order Lines"),
            "note": f.Text("Terms and conditions"),
            "company_id": f.Many2one("res.company", "Company", default=1),
            "pricelist_id": f.Many2one("product.pricelist", "Pricelist"),
            "currency_id": f.Many2one("res.currency", "Currency", compute=_order_currency),
            "user_id": f.Many2one("res.users", "Salesperson", default=lambda env: env.uid),
            "amount_untaxed": f.Monetary("Untaxed Amount", compute=_amounts),
            "amount_tax": f.Monetary("Taxes", compute=_amounts_tax),
            "amount_total": f.Monetary("Total", compute=_amounts),
            "picking_ids": f.One2many("stock.picking", "sale_id", "Transfers"),
        }

    def prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        if vals.get("name", "New") in ("New", None, False, "/"):
            vals["name"] = f"S{self.env.store.next_value('sale.order'):05d}"
        partner = vals.get("partner_id")
        if partner:
            vals.setdefault("partner_invoice_id", partner)
            vals.setdefault("partner_shipping_id", partner)
        if "pricelist_id" not in vals:
            # Odoo precomputes it from the customer's property_product_pricelist; without a
            # property or country group that is the company's first active pricelist.
            vals["pricelist_id"] = partner_pricelist(self.env, vals.get("company_id"))
        return vals

    def before_unlink(self, ids: list[int]) -> None:
        for rec_id in ids:
            if self.table[rec_id].get("state") not in ("draft", "cancel"):
                raise UserError(
                    "You can not delete a sent quotation or a confirmed sales order. "
                    "You must first cancel it."
                )

    @api_records
    def action_confirm(self, ids: Any) -> bool:
        ids = _ids(ids)
        self.check_exists(ids)
        bad = [i for i in ids if self.table[i].get("state") not in ("draft", "sent")]
        if bad:
            names = ", ".join(str(self.table[i]["name"]) for i in bad)
            raise UserError(
                f"The following orders are not in a state requiring confirmation: {names}"
            )
        self.write_ids(ids, {"state": "sale", "date_order": self.env.now[:19]})
        create_deliveries(self.env, ids)
        return True

    @api_records
    def action_cancel(self, ids: Any) -> Any:
        ids = _ids(ids)
        self.check_exists(ids)
        if any(self.table[i].get("locked") for i in ids):
            raise UserError("You cannot cancel a locked order. Please unlock it first.")
        warn = not self.context.get("disable_cancel_warning") and any(
            self.table[i].get("state") != "draft" for i in ids
        )
        if warn:
            return {
                "name": "Cancel Sales Order",
                "view_mode": "form",
                "res_model": "sale.order.cancel",
                "view_id": 1001,
                "type": "ir.actions.act_window",
                "context": {"default_order_id": ids[0]},
                "target": "new",
            }
        cancel_deliveries(self.env, ids)
        self.write_ids(ids, {"state": "cancel"})
        return True

    @api_records
    def action_draft(self, ids: Any) -> bool:
        ids = _ids(ids)
        self.check_exists(ids)
        todo = [i for i in ids if self.table[i].get("state") in ("cancel", "sent")]
        self.write_ids(todo, {"state": "draft"})
        return True

    @api_records
    def action_lock(self, ids: Any) -> bool:
        self.write_ids(_ids(ids), {"locked": True})
        return True

    @api_records
    def action_unlock(self, ids: Any) -> bool:
        self.write_ids(_ids(ids), {"locked": False})
        return True


def _order_currency(env: Env, ids: list[int]) -> dict[int, Any]:
    """``_compute_currency_id``: the pricelist's currency, else the company's."""
    orders = env.store.tables["sale.order"]
    pricelists = env.store.tables["product.pricelist"]
    companies = env.store.tables["res.company"]
    out: dict[int, Any] = {}
    for i in ids:
        row = orders[i]
        pricelist = pricelists.get(row.get("pricelist_id") or 0, {})
        company = companies.get(row.get("company_id") or 1, {})
        out[i] = pricelist.get("currency_id") or company.get("currency_id") or False
    return out


def _line_subtotal(row: dict[str, Any]) -> float:
    qty = float(row.get("product_uom_qty") or 0.0)
    price = float(row.get("price_unit") or 0.0)
    discount = float(row.get("discount") or 0.0)
    return round(qty * price * (1 - discount / 100.0), 2)


def _amounts(env: Env, ids: list[int]) -> dict[int, Any]:
    totals = dict.fromkeys(ids, 0.0)
    lines = env.store.tables["sale.order.line"]
    for line in sorted(env["sale.order.line"].ids_where("order_id", ids)):
        row = lines[line]
        oid = row.get("order_id")
        if oid in totals:
            totals[oid] = round(totals[oid] + _line_subtotal(row), 2)
    return totals


def _amounts_tax(env: Env, ids: list[int]) -> dict[int, Any]:
    return dict.fromkeys(ids, 0.0)


class SaleOrderLine(BaseModel):
    _name = "sale.order.line"
    _description = "Sales Order Line"
    _order = "order_id, sequence, id"

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "order_id": f.Many2one(
                "sale.order", "Order Reference", required=True, ondelete="cascade"
            ),
            "sequence": f.Integer("Sequence", default=10),
            "name": f.Text("Description", required=True),
            "product_id": f.Many2one("product.product", "Product", ondelete="restrict"),
            "product_uom_qty": f.Float("Quantity", default=1.0),
            "product_uom": f.Many2one("uom.uom", "Unit of Measure", default=1),
            "price_unit": f.Float("Unit Price"),
            "discount": f.Float("Discount (%)"),
            "price_subtotal": f.Monetary("Subtotal", compute=_line_subtotals),
            "price_total": f.Monetary("Total", compute=_line_subtotals),
            "qty_delivered": f.Float("Delivery Quantity"),
            "move_ids": f.One2many("stock.move", "sale_line_id", "Stock Moves"),
            "state": f.Selection(ORDER_STATES, "Order Status", compute=_line_state),
        }

    def prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        product_id = vals.get("product_id")
        if product_id:
            product = self.env["product.product"]
            if product_id in product.table:
                if not vals.get("name"):
                    vals["name"] = product.display_names([product_id])[product_id]
                if "price_unit" not in vals:
                    vals["price_unit"] = product.values([product_id], "list_price")[product_id]
        return vals

    def _touch_orders(self, ids: list[int]) -> None:
        orders = {self.table[i].get("order_id") for i in ids if i in self.table}
        store = self.env.store
        for oid in orders:
            if oid in store.tables["sale.order"]:
                # the order's stored totals are recomputed: Odoo writes the order
                store.update(
                    "sale.order", oid, {"write_uid": self.env.uid, "write_date": self.env.now}
                )

    def after_create(self, ids: list[int]) -> None:
        self._touch_orders(ids)

    def after_write(self, ids: list[int], vals: dict[str, Any]) -> None:
        self._touch_orders(ids)

    def _order_of(self, line_id: int) -> dict[str, Any]:
        order_id = self.table[line_id].get("order_id") or 0
        return dict(self.env.store.tables["sale.order"].get(order_id) or {})

    def before_write(self, ids: list[int], vals: dict[str, Any]) -> None:
        """Odoo's rules for the lines of a confirmed order (``sale``, ``sale_stock``)."""
        confirmed = [i for i in ids if self._order_of(i).get("state") == "sale"]
        if "product_id" in vals and any(
            self.table[i].get("product_id") != vals["product_id"] for i in confirmed
        ):
            raise UserError("You cannot modify the product of this order line.")
        locked = [i for i in confirmed if self._order_of(i).get("locked")]
        protected = [k for k in _PROTECTED if k in vals and k in self.fields_map]
        if locked and protected:
            labels = "\n".join(self.fields_map[k].string for k in protected)
            raise UserError(
                f"It is forbidden to modify the following fields in a locked order:\n{labels}"
            )
        if "product_uom_qty" in vals:
            qty = float(vals["product_uom_qty"] or 0.0)
            goods = [i for i in confirmed if not self._is_service(i)]
            delivered = max(
                (float(self.table[i].get("qty_delivered") or 0.0) for i in goods), default=0.0
            )
            if qty < delivered:
                raise UserError(
                    "The ordered quantity of a sale order line cannot be decreased below the "
                    "amount already delivered. Instead, create a return in your inventory."
                )

    def _is_service(self, line_id: int) -> bool:
        product_id = self.table[line_id].get("product_id")
        products = self.env.store.tables["product.product"]
        template_id = (products.get(product_id or 0) or {}).get("product_tmpl_id")
        template = self.env.store.tables["product.template"].get(template_id or 0) or {}
        return template.get("type") == "service"

    def before_unlink(self, ids: list[int]) -> None:
        if any(self._order_of(i).get("state") == "sale" for i in ids):
            raise UserError(
                "Once a sales order is confirmed, you can't remove one of its lines (we need to "
                "track if something gets invoiced or delivered).\nSet the quantity to 0 instead."
            )
        self._touch_orders(ids)


# Odoo's sale.order.line._get_protected_fields: what a locked order's lines keep.
_PROTECTED = (
    "product_id",
    "name",
    "price_unit",
    "product_uom",
    "product_uom_qty",
    "tax_id",
    "analytic_distribution",
)


def _line_subtotals(env: Env, ids: list[int]) -> dict[int, Any]:
    table = env.store.tables["sale.order.line"]
    return {i: _line_subtotal(table[i]) for i in ids}


def _line_state(env: Env, ids: list[int]) -> dict[int, Any]:
    lines = env.store.tables["sale.order.line"]
    orders = env.store.tables["sale.order"]
    return {i: orders.get(lines[i].get("order_id") or 0, {}).get("state", False) for i in ids}
