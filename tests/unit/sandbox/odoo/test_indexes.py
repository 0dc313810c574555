"""Field indexes: searches give exactly what a scan of every row gives (order, limit, offset,
archived rows, errors), and the indexes follow every change, a rollback's included."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from sandbox.odoo.exceptions import UserError
from sandbox.odoo.orm import plan
from sandbox.odoo.orm.domain import match_leaf
from sandbox.odoo.orm.index import FieldIndex
from sandbox.odoo.orm.model import Env
from sandbox.odoo.orm.plan import like_literal

from .conftest import Db


@contextmanager
def without_indexes(db: Db) -> Iterator[None]:
    """The store as it was before indexes: every lookup scans."""
    store = db.registry.store
    saved, store.indexes = store.indexes, {}
    try:
        yield
    finally:
        store.indexes = saved


def populate(env: Env) -> dict[str, Any]:
    partners = env["res.partner"]
    emails = [
        "john@x.example",
        "JOHN@X.example",
        "john_doe@x.example",
        "johnxdoe@x.example",
        "\u017fam@x.example",  # a long s: matches "sam" case-insensitively
        "sam@x.example",
        "élise@x.example",
        "Élise@x.example",
        "",
    ]
    pids = [partners.create({"name": f"P{n}", "email": e or False}) for n, e in enumerate(emails)]
    partners.write([pids[1]], {"active": False})
    products = env["product.product"]
    codes = ["A-1", "a-1", "B-2", "B-2", "C_3"]
    prods = [products.create({"name": f"Prod {c}", "default_code": c}) for c in codes]
    products.write([prods[3]], {"active": False})
    orders = env["sale.order"]
    refs = ["R1", "R2", "R2", False, "r1", "R3"]
    oids = [
        orders.create(
            {
                "partner_id": pids[n % 4],
                "client_order_ref": ref,
                "order_line": [(0, 0, {"product_id": prods[n % 3]})],
            }
        )
        for n, ref in enumerate(refs)
    ]
    imd = env["ir.model.data"]
    for n, oid in enumerate(oids):
        imd.create({"module": "ferry", "name": f"order_{n}", "model": "sale.order", "res_id": oid})
    imd.create({"module": "other", "name": "order_1", "model": "res.partner", "res_id": oids[1]})
    return {"partners": pids, "products": prods, "orders": oids}


DOMAINS: list[tuple[str, list[Any]]] = [
    ("ir.model.data", [("module", "=", "ferry"), ("name", "=", "order_1")]),
    ("ir.model.data", [("name", "in", ["order_1", "order_4", "nope"])]),
    ("ir.model.data", [("model", "=", "sale.order"), ("res_id", "in", [1, 2, 3])]),
    ("ir.model.data", [("res_id", "=", 0)]),
    ("ir.model.data", [("res_id", "=", False)]),
    ("ir.model.data", [("res_id", "=", "2")]),
    ("product.product", [("default_code", "=", "A-1")]),
    ("product.product", [("default_code", "in", ["A-1", "B-2", "nope"])]),
    ("product.product", [("default_code", "=ilike", "a-1")]),
    ("product.product", [("default_code", "=like", "C\\_3")]),
    ("product.product", [("default_code", "=like", "C_3")]),
    ("product.product", [("default_code", "=", False)]),
    ("product.product", [("default_code", "!=", "A-1")]),
    ("product.product", [("active", "in", [True, False]), ("default_code", "=", "B-2")]),
    ("product.template", [("default_code", "=", "B-2")]),
    ("product.template", [("default_code", "in", ["A-1", "C_3"])]),
    ("res.partner", [("email", "=ilike", "JOHN@x.example")]),
    ("res.partner", [("email", "=ilike", "john\\_doe@x.example")]),
    ("res.partner", [("email", "=ilike", "john_doe@x.example")]),
    ("res.partner", [("email", "=ilike", "sam@X.example")]),
    ("res.partner", [("email", "=ilike", "ÉLISE@x.example")]),
    ("res.partner", [("email", "=ilike", "%@x.example")]),
    ("res.partner", [("email", "=ilike", "")]),
    ("res.partner", [("email", "=", "john@x.example")]),
    ("res.partner", [("email", "not in", ["john@x.example"])]),
    ("sale.order", [("client_order_ref", "=", "R2")]),
    ("sale.order", [("client_order_ref", "in", ["R1", "R3", "nope"])]),
    ("sale.order", [("client_order_ref", "=", False)]),
    ("sale.order", [("client_order_ref", "=?", False)]),
    ("sale.order", [("client_order_ref", "=?", "R1")]),
    ("sale.order", ["|", ("client_order_ref", "=", "R1"), ("client_order_ref", "=", "R3")]),
    ("sale.order", ["!", ("client_order_ref", "=", "R2")]),
    ("sale.order", [("partner_id", "in", [3, 4])]),
    ("sale.order", [("partner_id", "=", "P1")]),
    ("sale.order", [("partner_id.email", "=ilike", "john@x.example")]),
    ("sale.order", [("order_line.product_id.default_code", "=", "A-1")]),
    ("sale.order", [("id", "in", [1, 3, 99999])]),
    ("sale.order", [("id", "=", "2")]),
    ("sale.order", [("client_order_ref", "=", "R2"), ("id", "in", [3])]),
    ("sale.order.line", [("order_id", "in", [1, 2])]),
]


def _search(db: Db, model: str, dom: list[Any], **kw: Any) -> Any:
    context = kw.pop("context", None)
    return db.run(
        lambda env: (
            env[model].search(dom, **kw),
            env[model].search_count(dom),
            env[model].search_read(dom, ["id"], offset=1, limit=2),
        ),
        context,
    )


@pytest.mark.parametrize(("model", "dom"), DOMAINS)
@pytest.mark.parametrize("version", ["17.0", "19.0"])
def test_indexed_searches_answer_what_a_scan_answers(
    version: str, model: str, dom: list[Any]
) -> None:
    db = Db(version)
    db.run(populate)
    for kw in ({}, {"order": "id desc", "limit": 2}, {"context": {"active_test": False}}):
        indexed = _search(db, model, dom, **dict(kw))
        with without_indexes(db):
            scanned = _search(db, model, dom, **dict(kw))
        assert indexed == scanned


@pytest.mark.parametrize("version", ["17.0", "18.0", "19.0"])
def test_write_date_ranges_answer_what_a_scan_answers(version: str) -> None:
    db = Db(version)
    for n in range(6):  # one transaction each: six write dates
        name = f"W{n}"
        db.run(lambda env: env["res.partner"].create({"name": name}))  # noqa: B023
    stamps = sorted(
        {str(r["write_date"]) for r in db.registry.store.tables["res.partner"].values()}
    )
    middle = stamps[len(stamps) // 2]
    day = middle[:10]
    rights: list[Any] = [
        middle,
        middle[:19],
        day,
        dt.datetime.fromisoformat(middle[:19]),
        dt.date.fromisoformat(day),
    ]
    for operator in ("<", "<=", ">", ">="):
        for right in rights:
            dom = [("write_date", operator, right)]
            indexed = _search(db, "res.partner", dom, order="write_date asc, id asc")
            with without_indexes(db):
                scanned = _search(db, "res.partner", dom, order="write_date asc, id asc")
            assert indexed == scanned, (operator, right)


def test_errors_are_the_same(db: Db) -> None:
    for dom in (
        [("nope", "=", 1), ("default_code", "=", "SKU-001")],
        [("default_code", "=", "SKU-001"), ("nope", "=", 1)],
    ):
        with pytest.raises(ValueError, match="Invalid field"):
            db.run(lambda env: env["product.product"].search(dom))  # noqa: B023


def test_indexes_follow_rolled_back_changes(db: Db) -> None:
    def create_then_fail(env: Env) -> None:
        env["sale.order"].create({"partner_id": 3, "client_order_ref": "GONE"})
        raise UserError("rolled back")

    with pytest.raises(UserError):
        db.run(create_then_fail)
    assert db.run(lambda env: env["sale.order"].search([("client_order_ref", "=", "GONE")])) == []

    order = db.run(lambda env: env["sale.order"].create({"partner_id": 3, "client_order_ref": "A"}))

    def rename_then_fail(env: Env) -> None:
        env["sale.order"].write([order], {"client_order_ref": "B"})
        raise UserError("rolled back")

    with pytest.raises(UserError):
        db.run(rename_then_fail)
    found = db.run(
        lambda env: (
            env["sale.order"].search([("client_order_ref", "=", "A")]),
            env["sale.order"].search([("client_order_ref", "=", "B")]),
        )
    )
    assert found == ([order], [])
    db.run(lambda env: env["sale.order"].unlink([order]))
    assert db.run(lambda env: env["sale.order"].search([("client_order_ref", "=", "A")])) == []


def test_a_failed_load_row_leaves_no_trace_in_the_indexes(db: Db) -> None:
    result = db.run(
        lambda env: env["res.partner"].load(
            ["id", "name", "email"],
            [["ferry.p1", "One", "one@x.example"], ["ferry.p2", "", "two@x.example"]],
        )
    )
    assert result["ids"] is False
    found = db.run(
        lambda env: (
            env["res.partner"].search([("email", "=ilike", "ONE@x.example")]),
            env["ir.model.data"].search([("name", "=", "p1")]),
        )
    )
    assert found == ([], [])


def test_unique_constraints_hold_across_rollbacks(db: Db) -> None:
    def register(env: Env, name: str) -> int:
        return int(
            env["ir.model.data"].create(
                {"module": "ferry", "name": name, "model": "res.partner", "res_id": 3}
            )
        )

    def register_then_fail(env: Env) -> None:
        register(env, "taken")
        raise UserError("rolled back")

    with pytest.raises(UserError):
        db.run(register_then_fail)
    first = db.run(lambda env: register(env, "taken"))  # free again after the rollback
    with pytest.raises(Exception, match="ir_model_data_module_name_uniq_index"):
        db.run(lambda env: register(env, "taken"))
    found = db.run(lambda env: env["ir.model.data"].search([("name", "=", "taken")]))
    assert found == [first]


def test_a_custom_field_indexed_on_request(db: Db) -> None:
    def add(env: Env) -> int:
        model_id = env["ir.model"].search([("model", "=", "sale.order")])[0]
        return int(
            env["ir.model.fields"].create(
                {
                    "model_id": model_id,
                    "name": "x_ferry_version",
                    "ttype": "char",
                    "field_description": "V",
                }
            )
        )

    store = db.registry.store
    field = db.run(add)
    assert store.index("sale.order", "x_ferry_version") is None
    order = db.run(lambda env: env["sale.order"].create({"partner_id": 3, "x_ferry_version": "v1"}))
    db.run(lambda env: env["ir.model.fields"].write([field], {"index": True}))
    assert store.index("sale.order", "x_ferry_version") is not None  # built from the rows
    found = db.run(lambda env: env["sale.order"].search([("x_ferry_version", "=", "v1")]))
    assert found == [order]
    db.run(lambda env: env["sale.order"].write([order], {"x_ferry_version": "v2"}))
    found = db.run(lambda env: env["sale.order"].search([("x_ferry_version", "in", ["v1", "v2"])]))
    assert found == [order]
    db.run(lambda env: env["ir.model.fields"].unlink([field]))
    assert store.index("sale.order", "x_ferry_version") is None


def test_field_index_lookups() -> None:
    index = FieldIndex(folded=True)
    for rec_id, value in enumerate(["Ann@X", "ann@x", "Änn@x", None, False, 0, "bob"], start=1):
        index.add(rec_id, value)
    assert index.equal(["ann@x", "nope"]) == {2}
    assert index.equal([0]) == {6}
    assert index.probe_folded("ANN@X").fetch() == {1, 2, 3}  # non-ASCII values: candidates
    index.remove(2, "ann@x")
    index.add(2, "carl")
    assert index.probe_folded("ann@x").fetch() == {1, 3}
    assert index.probe_equal(["carl", "bob"]).size == 2
    for rec_id in (8, 9, 9):  # one row, then two, then the same again
        index.add(rec_id, "dup")
    assert index.equal(["dup"]) == {8, 9}
    assert index.probe_equal(["dup"]).size == 2
    index.remove(8, "dup")
    assert index.equal(["dup"]) == {9}
    assert index.probe_folded("DUP").fetch() == {3, 9}
    index.remove(9, "dup")
    assert index.equal(["dup"]) == set()
    assert index.probe_equal(["dup"]).size == 0


def test_ordered_index_bounds() -> None:
    index = FieldIndex(ordered=True)
    for rec_id, value in enumerate(["a", "b", "b", "c"], start=1):
        index.add(rec_id, value)
    assert index.probe_range("b", True, None, False).fetch() == {2, 3, 4}
    assert index.probe_range("b", False, None, False).fetch() == {4}
    assert index.probe_range(None, False, "b", True).fetch() == {1, 2, 3}
    assert index.probe_range(None, False, "b", False).fetch() == {1}
    assert index.probe_range("a", False, "c", False).fetch() == {2, 3}
    index.remove(2, "b")
    assert index.probe_range("b", True, "b", True).size == 1


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [("abc", "abc"), ("a\\_b", "a_b"), ("a\\%", "a%"), ("a_b", None), ("%b", None), ("a\\", "a")],
)
def test_like_literal(pattern: str, literal: str | None) -> None:
    assert like_literal(pattern) == literal


SINK_LOOKUPS: list[tuple[str, list[Any]]] = [
    ("ir.model.data", [("module", "=", "ferry"), ("name", "=", "order_7")]),
    ("ir.model.data", [("name", "in", ["order_7", "order_8"])]),
    ("ir.model.data", [("model", "=", "sale.order"), ("res_id", "=", 7)]),
    ("product.product", [("default_code", "=", "SKU-001")]),
    ("product.product", [("default_code", "in", ["SKU-001", "SKU-002"])]),
    ("product.template", [("default_code", "in", ["SKU-001", "SKU-002"])]),
    ("res.partner", [("email", "=ilike", "customer7@x.example")]),
    ("sale.order", [("client_order_ref", "=", "REF-7")]),
    ("sale.order", [("client_order_ref", "in", ["REF-7", "REF-8"])]),
    ("sale.order", [("write_date", ">=", "2999-01-01 00:00:00")]),
    ("sale.order.line", [("order_id", "in", [7, 8])]),
]


@pytest.mark.parametrize(("model", "dom"), SINK_LOOKUPS)
def test_lookups_look_at_the_matching_rows_only(
    db: Db, model: str, dom: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fill(env: Env) -> None:
        for n in range(300):
            partner = env["res.partner"].create(
                {"name": f"C{n}", "email": f"customer{n}@x.example"}
            )
            order = env["sale.order"].create(
                {
                    "partner_id": partner,
                    "client_order_ref": f"REF-{n}",
                    "order_line": [(0, 0, {"product_id": 1})],
                }
            )
            env["ir.model.data"].create(
                {"module": "ferry", "name": f"order_{n}", "model": "sale.order", "res_id": order}
            )

    db.run(fill)
    looked_at: list[int] = []

    def spy(model: Any, leaf: Any, ids: set[int]) -> set[int]:
        looked_at.append(len(ids))
        return match_leaf(model, leaf, ids)

    monkeypatch.setattr(plan, "match_leaf", spy)
    found = db.run(lambda env: env[model].search(dom))
    assert looked_at
    assert max(looked_at) <= 4, looked_at
    monkeypatch.undo()
    with without_indexes(db):
        assert db.run(lambda env: env[model].search(dom)) == found
