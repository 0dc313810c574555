"""What Odoo lets change on the lines of a confirmed order, and what it refuses with its own
words (``sale``, ``sale_stock``)."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.odoo.exceptions import UserError
from sandbox.odoo.orm.model import Env
from sandbox.odoo.service import call_kw

from .conftest import Db


def sku(env: Env, code: str) -> int:
    return int(env["product.product"].search([("default_code", "=", code)], limit=1)[0])


def confirmed_order(db: Db, qty: float = 4) -> tuple[int, int]:
    def make(env: Env) -> tuple[int, int]:
        partner = env["res.partner"].create({"name": "Buyer"})
        line = {"product_id": sku(env, "SKU-001"), "product_uom_qty": qty}
        order = int(env["sale.order"].create({"partner_id": partner, "order_line": [(0, 0, line)]}))
        call_kw(env, "sale.order", "action_confirm", [[order]], {})
        [line_id] = env["sale.order.line"].search([("order_id", "=", order)])
        return order, int(line_id)

    return db.run(make)


def write_order(db: Db, order: int, vals: dict[str, Any]) -> None:
    db.run(lambda env: env["sale.order"].write([order], vals))


def lines(db: Db, order: int) -> list[tuple[str, float]]:
    def read(env: Env) -> list[tuple[str, float]]:
        ids = env["sale.order.line"].search([("order_id", "=", order)])
        rows = env["sale.order.line"].read(ids, ["product_id", "product_uom_qty"])
        return sorted((str(r["product_id"][1]), float(r["product_uom_qty"])) for r in rows)

    return db.run(read)


def test_quantities_prices_and_new_lines_may_change_on_a_confirmed_order(db: Db) -> None:
    order, line = confirmed_order(db)
    new = {"product_id": db.run(lambda env: sku(env, "SKU-002")), "product_uom_qty": 2}
    write_order(db, order, {"order_line": [(1, line, {"product_uom_qty": 0}), (0, 0, new)]})
    assert [qty for _, qty in lines(db, order)] == [0.0, 2.0]


def test_a_confirmed_line_cannot_be_removed_or_change_its_product(db: Db) -> None:
    order, line = confirmed_order(db)
    with pytest.raises(UserError, match=r"you can't remove one of its lines .*\nSet the quantity"):
        write_order(db, order, {"order_line": [(2, line, 0)]})
    other = db.run(lambda env: sku(env, "SKU-002"))
    with pytest.raises(UserError, match=r"You cannot modify the product of this order line\."):
        write_order(db, order, {"order_line": [(1, line, {"product_id": other})]})
    assert [qty for _, qty in lines(db, order)] == [4.0]


def test_never_below_what_was_delivered(db: Db) -> None:
    order, line = confirmed_order(db)
    db.run(lambda env: env["sale.order.line"].write([line], {"qty_delivered": 3}))
    with pytest.raises(UserError, match="cannot be decreased below the amount already delivered"):
        write_order(db, order, {"order_line": [(1, line, {"product_uom_qty": 2})]})
    write_order(db, order, {"order_line": [(1, line, {"product_uom_qty": 3})]})
    assert [qty for _, qty in lines(db, order)] == [3.0]


def test_a_locked_order_keeps_its_lines(db: Db) -> None:
    order, line = confirmed_order(db)
    db.run(lambda env: call_kw(env, "sale.order", "action_lock", [[order]], {}))
    with pytest.raises(UserError, match="forbidden to modify the following fields in a locked"):
        write_order(db, order, {"order_line": [(1, line, {"price_unit": 1.0})]})


def test_a_draft_order_may_do_anything_with_its_lines(db: Db) -> None:
    def make(env: Env) -> int:
        partner = env["res.partner"].create({"name": "Buyer"})
        line = {"product_id": sku(env, "SKU-001"), "product_uom_qty": 1}
        return int(env["sale.order"].create({"partner_id": partner, "order_line": [(0, 0, line)]}))

    order = db.run(make)
    [line] = db.run(lambda env: env["sale.order.line"].search([("order_id", "=", order)]))
    write_order(db, order, {"order_line": [(2, int(line), 0)]})
    assert lines(db, order) == []
