"""Who wrote what when: ``create_uid``/``write_uid`` are the caller of each transaction,
``create_date``/``write_date`` its start, also for writes done by business methods; how
domains compare those microsecond timestamps (as stored by PostgreSQL's ``now()``)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from sandbox.odoo.orm.model import Env
from sandbox.odoo.seed import ADMIN_UID, SUPERUSER_ID
from sandbox.odoo.service import call_kw

from .conftest import Db

T = TypeVar("T")


def demo_uid(db: Db) -> int:
    users = db.registry.store.tables["res.users"]
    return next(uid for uid, row in users.items() if row.get("login") == "demo")


def as_user(db: Db, uid: int, func: Callable[[Env], T], **context: Any) -> T:
    return db.registry.run(uid, context, func)


def clock(db: Db, *stamps: str) -> None:
    """Give the next transactions these start times (then keep the last one)."""
    values = itertools.chain(stamps, itertools.repeat(stamps[-1]))
    db.registry.now = lambda: next(values)  # type: ignore[method-assign]


def rpc(env: Env, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
    """A public method called as over RPC."""
    return call_kw(env, model, method, list(args), kwargs)


def sku(env: Env, code: str) -> int:
    return env["product.product"].search([("default_code", "=", code)])[0]


def test_demo_is_a_second_internal_user(db: Db) -> None:
    def read(env: Env) -> list[dict[str, Any]]:
        return env["res.users"].search_read(
            [("login", "in", ["admin", "demo"])], ["login", "name", "company_id", "share"]
        )

    rows = db.run(read)
    assert [(r["login"], r["name"], r["share"]) for r in rows] == [
        ("admin", "Administrator", False),
        ("demo", "Marc Demo", False),
    ]
    assert rows[0]["company_id"] == rows[1]["company_id"]
    assert demo_uid(db) not in (SUPERUSER_ID, ADMIN_UID)


def test_write_uid_and_create_uid_are_the_caller_of_each_call(db: Db) -> None:
    demo = demo_uid(db)
    clock(db, "2025-03-01 10:00:00.100000", "2025-03-01 10:00:05.200000")
    pid = db.run(lambda env: env["res.partner"].create({"name": "Shared"}))
    as_user(db, demo, lambda env: env["res.partner"].write([pid], {"phone": "+32 2 000 00 00"}))
    row = db.run(
        lambda env: env["res.partner"].read(
            [pid], ["create_uid", "write_uid", "create_date", "write_date"], load=None
        )[0]
    )
    assert (row["create_uid"], row["write_uid"]) == (ADMIN_UID, demo)
    assert (row["create_date"], row["write_date"]) == ("2025-03-01 10:00:00", "2025-03-01 10:00:05")


def test_business_methods_write_their_records(db: Db) -> None:
    """``action_confirm`` writes the order, creates the delivery and its moves and writes the
    quants it reserves; ``button_validate`` writes the transfer, the moves, the quants and the
    sale line; ``action_apply_inventory`` writes the quant: each record gets the caller and the
    transaction's time."""
    demo = demo_uid(db)
    clock(db, "2025-03-01 09:00:00.000001")

    def order(env: Env) -> int:
        partner = env["res.partner"].create({"name": "Buyer"})
        line = {"product_id": sku(env, "SKU-001"), "product_uom_qty": 3}
        return int(env["sale.order"].create({"partner_id": partner, "order_line": [(0, 0, line)]}))

    order_id = db.run(order)
    clock(db, "2025-03-01 09:10:00.500000")
    as_user(db, demo, lambda env: rpc(env, "sale.order", "action_confirm", [order_id]))

    def stamps(env: Env, model: str, domain: list[Any]) -> set[tuple[Any, Any]]:
        rows = env[model].search_read(domain, ["write_uid", "write_date"], load=None)
        return {(r["write_uid"], r["write_date"]) for r in rows}

    confirmed = (demo, "2025-03-01 09:10:00")

    def after_confirm(env: Env) -> dict[str, set[tuple[Any, Any]]]:
        quant = [("product_id", "=", sku(env, "SKU-001")), ("location_id.usage", "=", "internal")]
        return {
            "order": stamps(env, "sale.order", [("id", "=", order_id)]),
            "picking": stamps(env, "stock.picking", [("sale_id", "=", order_id)]),
            "moves": stamps(env, "stock.move", [("picking_id.sale_id", "=", order_id)]),
            "quant": stamps(env, "stock.quant", quant),
        }

    assert db.run(after_confirm) == {
        key: {confirmed} for key in ("order", "picking", "moves", "quant")
    }

    clock(db, "2025-03-01 09:20:00.250000")
    picking = db.run(lambda env: env["stock.picking"].search([("sale_id", "=", order_id)]))
    assert as_user(db, ADMIN_UID, lambda env: rpc(env, "stock.picking", "button_validate", picking))
    validated = (ADMIN_UID, "2025-03-01 09:20:00")
    after = db.run(after_confirm)
    assert after["picking"] == after["moves"] == after["quant"] == {validated}
    lines = db.run(lambda env: stamps(env, "sale.order.line", [("order_id", "=", order_id)]))
    assert lines == {validated}

    clock(db, "2025-03-01 09:30:00.000000")
    quant = db.run(
        lambda env: env["stock.quant"].search(
            [("product_id", "=", sku(env, "SKU-002")), ("location_id.usage", "=", "internal")]
        )
    )

    def count(env: Env) -> None:
        env["stock.quant"].write(quant, {"inventory_quantity": 80})
        rpc(env, "stock.quant", "action_apply_inventory", quant)

    as_user(db, demo, count, inventory_mode=True)
    assert db.run(lambda env: stamps(env, "stock.quant", [("id", "in", quant)])) == {
        (demo, "2025-03-01 09:30:00")
    }


def _two_writes(db: Db) -> tuple[int, int]:
    """Two partners; the higher id is written first, both within the second 12:00:07."""
    ids = db.run(lambda env: env["res.partner"].create([{"name": "Low"}, {"name": "High"}]))
    low, high = ids
    clock(db, "2025-03-01 12:00:07.100000", "2025-03-01 12:00:07.900000")
    db.run(lambda env: env["res.partner"].write([high], {"ref": "first"}))
    db.run(lambda env: env["res.partner"].write([low], {"ref": "second"}))
    return low, high


@pytest.mark.parametrize("version", ["17.0", "18.0"])
def test_17_and_18_compare_the_stored_microseconds(version: str) -> None:
    db = Db(version)
    low, high = _two_writes(db)

    def search(dom: list[Any], order: str = "write_date asc, id asc") -> list[int]:
        full = [("id", "in", [low, high]), *dom]
        return db.run(lambda env: env["res.partner"].search(full, order=order))

    # both read back as 12:00:07, yet they sort by their true time, not by id
    assert search([]) == [high, low]
    assert search([("write_date", "=", "2025-03-01 12:00:07")]) == []
    assert search([("write_date", ">", "2025-03-01 12:00:07")]) == [high, low]
    assert search([("write_date", "<=", "2025-03-01 12:00:07")]) == []
    assert search([("write_date", ">=", "2025-03-01 12:00:07")]) == [high, low]


def test_19_compares_datetimes_at_whole_seconds() -> None:
    db = Db("19.0")
    low, high = _two_writes(db)

    def search(dom: list[Any]) -> list[int]:
        full = [("id", "in", [low, high]), *dom]
        return db.run(lambda env: env["res.partner"].search(full, order="write_date, id"))

    assert search([]) == [high, low]
    assert search([("write_date", "=", "2025-03-01 12:00:07")]) == [high, low]
    assert search([("write_date", "in", ["2025-03-01 12:00:07"])]) == [high, low]
    assert search([("write_date", "!=", "2025-03-01 12:00:07")]) == []
    assert search([("write_date", ">", "2025-03-01 12:00:07")]) == []
    assert search([("write_date", ">", "2025-03-01 12:00:06")]) == [high, low]
    assert search([("write_date", "<=", "2025-03-01 12:00:07")]) == [high, low]
    assert search([("write_date", "<", "2025-03-01 12:00:07")]) == []
    assert search([("write_date", ">=", "2025-03-01 12:00:07")]) == [high, low]
    # a date steps by a day
    assert search([("write_date", ">", "2025-03-01")]) == []
    assert search([("write_date", "<=", "2025-03-01")]) == [high, low]
    assert search([("write_date", ">=", "2025-03-01")]) == [high, low]


def test_one_call_writes_every_record_at_the_same_time_and_ids_break_the_tie(db: Db) -> None:
    ids = db.run(lambda env: env["res.partner"].create([{"name": "A"}, {"name": "B"}]))
    clock(db, "2025-03-01 13:00:00.300000")
    db.run(lambda env: env["res.partner"].write(list(reversed(ids)), {"ref": "same"}))
    rows = db.run(
        lambda env: env["res.partner"].search_read(
            [("id", "in", ids), ("write_date", ">=", "2025-03-01 13:00:00")],
            ["write_date"],
            order="write_date asc, id asc",
        )
    )
    assert [r["id"] for r in rows] == sorted(ids)
    assert {r["write_date"] for r in rows} == {"2025-03-01 13:00:00"}
