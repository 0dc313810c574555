"""account: journal entries/invoices and payments (18 payments have their own state)."""

from __future__ import annotations

from typing import Any

from ..exceptions import UserError
from ..orm import fields as f
from ..orm.fields import Field
from ..orm.model import BaseModel, api_records

MOVE_TYPES = [
    ("entry", "Journal Entry"),
    ("out_invoice", "Customer Invoice"),
    ("out_refund", "Customer Credit Note"),
    ("in_invoice", "Vendor Bill"),
    ("in_refund", "Vendor Credit Note"),
    ("out_receipt", "Sales Receipt"),
    ("in_receipt", "Purchase Receipt"),
]
PREFIX = {
    "entry": "MISC",
    "out_invoice": "INV",
    "out_refund": "RINV",
    "in_invoice": "BILL",
    "in_refund": "RBILL",
    "out_receipt": "RCPT",
    "in_receipt": "PREC",
}


def _ids(ids: Any) -> list[int]:
    return [ids] if isinstance(ids, int) else [int(i) for i in ids or []]


class AccountMove(BaseModel):
    _name = "account.move"
    _description = "Journal Entry"
    _order = "date desc, name desc, id desc"

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        payment_states = [
            ("not_paid", "Not Paid"),
            ("in_payment", "In Payment"),
            ("paid", "Paid"),
            ("partial", "Partially Paid"),
            ("reversed", "Reversed"),
            ("invoicing_legacy", "Invoicing App Legacy"),
        ]
        if major >= 18:
            payment_states.insert(5, ("blocked", "Blocked"))
        return {
            "name": f.Char("Number", default="/"),
            "ref": f.Char("Reference"),
            "move_type": f.Selection(MOVE_TYPES, "Type", required=True, default="entry"),
            "state": f.Selection(
                [("draft", "Draft"), ("posted", "Posted"), ("cancel", "Cancelled")],
                "Status",
                required=True,
                readonly=True,
                default="draft",
            ),
            "payment_state": f.Selection(payment_states, "Payment Status", default="not_paid"),
            "partner_id": f.Many2one("res.partner", "Partner", ondelete="restrict"),
            "date": f.Date("Date", default=lambda env: env.now[:10]),
            "invoice_date": f.Date("Invoice/Bill Date"),
            "invoice_date_due": f.Date("Due Date"),
            "invoice_origin": f.Char("Origin"),
            "amount_total": f.Monetary("Total"),
            "amount_residual": f.Monetary("Amount Due"),
            "currency_id": f.Many2one("res.currency", "Currency"),
            "company_id": f.Many2one("res.company", "Company", default=1),
        }

    @api_records
    def action_post(self, ids: Any) -> bool:
        ids = _ids(ids)
        self.check_exists(ids)
        for rec_id in ids:
            row = self.table[rec_id]
            if row["state"] == "posted":
                raise UserError(f"The entry {row['name']} (id {rec_id}) is already posted.")
            vals: dict[str, Any] = {"state": "posted"}
            if row.get("name") in ("/", False, None):
                year = self.env.now[:4]
                seq = self.env.store.next_value(f"account.move.{row['move_type']}.{year}")
                vals["name"] = f"{PREFIX[row['move_type']]}/{year}/{seq:05d}"
            if row["move_type"] != "entry" and not row.get("invoice_date"):
                vals["invoice_date"] = self.env.now[:10]
            self.write_ids([rec_id], vals)
        return False

    @api_records
    def button_draft(self, ids: Any) -> bool:
        self.write_ids(_ids(ids), {"state": "draft"})
        return True

    @api_records
    def button_cancel(self, ids: Any) -> bool:
        self.write_ids(_ids(ids), {"state": "cancel"})
        return True


class AccountPayment(BaseModel):
    _name = "account.payment"
    _description = "Payments"
    _order = "date desc, name desc"

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        if major >= 18:
            states = [
                ("draft", "Draft"),
                ("in_process", "In Process"),
                ("paid", "Paid"),
                ("canceled", "Canceled"),
                ("rejected", "Rejected"),
            ]
        else:
            states = [("draft", "Draft"), ("posted", "Posted"), ("cancel", "Cancelled")]
        fields = {
            "name": f.Char("Number", default="/"),
            "state": f.Selection(states, "Status", required=True, default="draft"),
            "payment_type": f.Selection(
                [("outbound", "Send"), ("inbound", "Receive")],
                "Payment Type",
                required=True,
                default="inbound",
            ),
            "partner_type": f.Selection(
                [("customer", "Customer"), ("supplier", "Vendor")],
                "Partner Type",
                default="customer",
            ),
            "partner_id": f.Many2one("res.partner", "Customer/Vendor"),
            "amount": f.Monetary("Amount"),
            "currency_id": f.Many2one("res.currency", "Currency"),
            "date": f.Date("Date", default=lambda env: env.now[:10]),
            "company_id": f.Many2one("res.company", "Company", default=1),
        }
        fields["memo" if major >= 18 else "ref"] = f.Char("Memo")
        return fields

    @api_records
    def action_post(self, ids: Any) -> None:
        ids = _ids(ids)
        self.check_exists(ids)
        posted = "in_process" if self.env.major >= 18 else "posted"
        for rec_id in ids:
            row = self.table[rec_id]
            if row["state"] != "draft":
                raise UserError("Only a draft payment can be posted.")
            year = self.env.now[:4]
            seq = self.env.store.next_value(f"account.payment.{year}")
            self.write_ids([rec_id], {"state": posted, "name": f"PBNK1/{year}/{seq:05d}"})

    @api_records
    def action_cancel(self, ids: Any) -> None:
        state = "canceled" if self.env.major >= 18 else "cancel"
        self.write_ids(_ids(ids), {"state": state})
