from __future__ import annotations

import pytest

from sandbox.odoo.orm.model import Env
from sandbox.odoo.orm.order import OrderTerm, parse_order, sort_ids

from .conftest import Db


def test_parse_order() -> None:
    assert parse_order("write_date asc, id asc") == [
        OrderTerm("write_date", False),
        OrderTerm("id", False),
    ]
    assert parse_order("name DESC NULLS LAST") == [OrderTerm("name", True, False)]
    with pytest.raises(ValueError, match="Invalid order"):
        parse_order("name; drop table")


def test_sort_places_nulls_like_postgresql() -> None:
    values = [{1: "b", 2: False, 3: "a"}]
    assert sort_ids([1, 2, 3], parse_order("x"), values) == [3, 1, 2]
    assert sort_ids([1, 2, 3], parse_order("x desc"), values) == [2, 1, 3]
    assert sort_ids([1, 2, 3], parse_order("x desc nulls last"), values) == [1, 3, 2]


def test_search_order_offset_limit(db: Db) -> None:
    def run(env: Env) -> tuple[list[int], list[int], list[int]]:
        partners = env["res.partner"]
        ids = partners.create([{"name": n} for n in ("zed", "amy", "max")])
        dom = [("id", "in", ids)]
        return (
            partners.search(dom, order="name asc"),
            partners.search(dom, order="name desc", limit=1),
            partners.search(dom, offset=1, limit=1, order="id"),
        )

    by_name, last, middle = db.run(run)
    assert len(by_name) == 3
    assert last == [by_name[-1]]
    assert middle == [sorted(by_name)[1]]


def test_unknown_order_field(db: Db) -> None:
    with pytest.raises(ValueError, match="Invalid field 'nope'"):
        db.run(lambda env: env["res.partner"].search([], order="nope asc"))


def _order(env: Env) -> tuple[int, int]:
    partner = env["res.partner"].create({"name": "Customer"})
    product = env["product.product"].search([("default_code", "=", "SKU-001")])[0]
    order = env["sale.order"].create(
        {"partner_id": partner, "order_line": [(0, 0, {"product_id": product})]}
    )
    return order, product


def lines(env: Env, order: int) -> list[int]:
    return list(env["sale.order"].read([order], ["order_line"])[0]["order_line"])


def test_one2many_commands(db: Db) -> None:
    order, product = db.run(_order)

    def run(env: Env) -> None:
        so = env["sale.order"]
        (first,) = lines(env, order)
        so.write([order], {"order_line": [(0, 0, {"product_id": product, "price_unit": 5.0})]})
        first_two = lines(env, order)
        assert len(first_two) == 2
        so.write([order], {"order_line": [(1, first, {"product_uom_qty": 3})]})
        assert env["sale.order.line"].read([first], ["product_uom_qty"])[0]["product_uom_qty"] == 3
        so.write([order], {"order_line": [(2, first, 0)]})
        assert first not in env["sale.order.line"].table
        # (3) on a required inverse deletes the line, as Odoo does for ondelete=cascade
        second = lines(env, order)[0]
        so.write([order], {"order_line": [(3, second, 0)]})
        assert lines(env, order) == []
        so.write([order], {"order_line": [(0, 0, {"product_id": product}), (5, 0, 0)]})
        assert lines(env, order) == []
        new = env["sale.order.line"].create({"order_id": order, "product_id": product})
        so.write([order], {"order_line": [(6, 0, [new])]})
        assert lines(env, order) == [new]

    db.run(run)


def test_many2many_commands(db: Db) -> None:
    def run(env: Env) -> None:
        users = env["res.users"]
        company = env["res.company"].create({"name": "Second"})
        uid = users.create({"name": "U", "login": "u"})

        def companies() -> list[int]:
            return list(users.read([uid], ["company_ids"])[0]["company_ids"])

        assert companies() == [1]
        users.write([uid], {"company_ids": [(4, company, 0)]})
        assert companies() == [1, company]
        users.write([uid], {"company_ids": [(3, 1, 0)]})
        assert companies() == [company]
        users.write([uid], {"company_ids": [(6, 0, [1, company])]})
        assert companies() == [1, company]
        users.write([uid], {"company_ids": [(5, 0, 0)]})
        assert companies() == []
        users.write([uid], {"company_ids": [(0, 0, {"name": "Third"})]})
        (third,) = companies()
        assert env["res.company"].read([third], ["name"])[0]["name"] == "Third"
        users.write([uid], {"company_ids": [(2, third, 0)]})
        assert companies() == []
        assert third not in env["res.company"].table

    db.run(run)


def test_invalid_command(db: Db) -> None:
    order, _ = db.run(_order)
    with pytest.raises(ValueError, match="Invalid x2many command"):
        db.run(lambda env: env["sale.order"].write([order], {"order_line": [(9, 0, 0)]}))
