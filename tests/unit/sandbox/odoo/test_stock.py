"""Stock: the warehouse, quantities by context, reservations, validation, inventory counts."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.odoo.exceptions import UserError, ValidationError
from sandbox.odoo.orm.model import Env
from sandbox.odoo.seed import ON_HAND, upgrade
from sandbox.odoo.service import call_kw

from .conftest import Db

QTY_FIELDS = ["qty_available", "free_qty", "virtual_available", "incoming_qty", "outgoing_qty"]


def rpc(env: Env, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
    """A public method called as over RPC."""
    return call_kw(env, model, method, list(args), kwargs)


def sku(env: Env, code: str) -> int:
    return env["product.product"].search([("default_code", "=", code)])[0]


def qty(db: Db, code: str, **context: Any) -> dict[str, float]:
    def read(env: Env) -> dict[str, float]:
        row = env["product.product"].read([sku(env, code)], QTY_FIELDS)[0]
        return {k: row[k] for k in QTY_FIELDS}

    return db.run(read, context)


def order(db: Db, *lines: tuple[str, float], confirm: bool = True) -> int:
    def create(env: Env) -> int:
        partner = env["res.partner"].create({"name": "Buyer"})
        commands = [(0, 0, {"product_id": sku(env, c), "product_uom_qty": q}) for c, q in lines]
        oid = int(env["sale.order"].create({"partner_id": partner, "order_line": commands}))
        if confirm:
            rpc(env, "sale.order", "action_confirm", [oid])
        return oid

    return db.run(create)


def picking_of(db: Db, order_id: int) -> dict[str, Any]:
    def read(env: Env) -> dict[str, Any]:
        found = env["stock.picking"].search([("sale_id", "=", order_id)])
        assert len(found) == 1
        return env["stock.picking"].read(
            found, ["name", "state", "location_id", "location_dest_id", "move_ids"], load=None
        )[0]

    return db.run(read)


def moves(db: Db, picking: int) -> list[dict[str, Any]]:
    return db.run(
        lambda env: env["stock.move"].search_read(
            [("picking_id", "=", picking)], ["state", "product_uom_qty", "quantity"]
        )
    )


def count(db: Db, code: str, quantity: float) -> None:
    """Count ``quantity`` of the product in WH/Stock and apply it (inventory mode)."""

    def run(env: Env) -> None:
        stock = env["stock.warehouse"].search_read([], ["lot_stock_id"], load=None)[0]
        quant = env["stock.quant"].create(
            {
                "product_id": sku(env, code),
                "location_id": stock["lot_stock_id"],
                "inventory_quantity": quantity,
            }
        )
        rpc(env, "stock.quant", "action_apply_inventory", [quant])

    db.run(run, {"inventory_mode": True})


def test_the_warehouse_and_its_locations(db: Db) -> None:
    def read(env: Env) -> dict[str, Any]:
        wh = env["stock.warehouse"].search_read(
            [], ["name", "code", "view_location_id", "lot_stock_id", "out_type_id"]
        )
        locations = env["stock.location"].search_read(
            [("usage", "in", ["internal", "view"])], ["complete_name", "usage"]
        )
        return {"wh": wh, "locations": {r["complete_name"]: r["usage"] for r in locations}}

    found = db.run(read)
    (wh,) = found["wh"]
    assert (wh["name"], wh["code"]) == ("My Company", "WH")
    assert wh["view_location_id"][1] == "WH"
    assert wh["lot_stock_id"][1] == "WH/Stock"
    assert wh["out_type_id"][1] == "My Company: Delivery Orders"
    assert found["locations"]["WH/Stock"] == "internal"
    assert found["locations"]["WH"] == "view"


def test_seeded_products_are_storable_with_stock(db: Db, db17: Db) -> None:
    for database in (db, db17):
        for code in ("SKU-001", "SKU-005"):
            assert qty(database, code) == {
                "qty_available": ON_HAND,
                "free_qty": ON_HAND,
                "virtual_available": ON_HAND,
                "incoming_qty": 0.0,
                "outgoing_qty": 0.0,
            }


@pytest.mark.parametrize(
    ("version", "key", "ignored"),
    [("17.0", "warehouse", "warehouse_id"), ("18.0", "warehouse_id", "warehouse")],
)
def test_warehouse_context_key_per_version(version: str, key: str, ignored: str) -> None:
    db = Db(version)
    db.run(lambda env: env["stock.warehouse"].create({"name": "Second", "code": "WH2"}))
    count(db, "SKU-001", 100)  # WH/Stock stays at 100
    db.run(
        lambda env: env["stock.quant"].create(
            {
                "product_id": sku(env, "SKU-001"),
                "location_id": env["stock.location"].search([("complete_name", "=", "WH2/Stock")])[
                    0
                ],
                "inventory_quantity": 7,
            }
        ),
        {"inventory_mode": True},
    )
    db.run(
        lambda env: rpc(
            env,
            "stock.quant",
            "action_apply_inventory",
            env["stock.quant"].search([("inventory_quantity_set", "=", True)]),
        )
    )
    assert qty(db, "SKU-001")["qty_available"] == 107  # every warehouse of the company
    assert qty(db, "SKU-001", **{key: "Second"})["qty_available"] == 7  # by name (ilike)
    wh2 = db.run(lambda env: env["stock.warehouse"].search([("code", "=", "WH2")])[0])
    assert qty(db, "SKU-001", **{key: wh2})["qty_available"] == 7  # by id
    assert qty(db, "SKU-001", **{ignored: wh2})["qty_available"] == 107  # not read
    assert qty(db, "SKU-001", location="WH2/Stock")["qty_available"] == 7
    # a location outside the given warehouse counts nothing
    assert qty(db, "SKU-001", location="WH2/Stock", **{key: "My Company"})["qty_available"] == 0


def test_19_also_reads_the_search_panel_keys() -> None:
    db = Db("19.0")
    wh = db.run(lambda env: env["stock.warehouse"].search([])[0])
    assert qty(db, "SKU-002", search_warehouse=wh)["qty_available"] == ON_HAND
    assert qty(db, "SKU-002", search_location="Customers")["qty_available"] == 0
    assert qty(db, "SKU-002", warehouse_id=wh + 100)["qty_available"] == 0


def test_reservation_lowers_free_qty_and_validation_lowers_on_hand(db: Db) -> None:
    order_id = order(db, ("SKU-001", 30), ("SKU-002", 5))
    picking = picking_of(db, order_id)
    assert picking["state"] == "assigned"
    assert picking["name"] == "WH/OUT/00001"
    assert [m["state"] for m in moves(db, picking["id"])] == ["assigned", "assigned"]
    assert qty(db, "SKU-001") == {
        "qty_available": 100.0,
        "free_qty": 70.0,
        "virtual_available": 70.0,
        "incoming_qty": 0.0,
        "outgoing_qty": 30.0,
    }
    reserved = db.run(
        lambda env: env["stock.quant"].search_read(
            [("product_id", "=", sku(env, "SKU-001")), ("location_id.usage", "=", "internal")],
            ["quantity", "reserved_quantity", "available_quantity"],
        )
    )
    assert [(r["quantity"], r["reserved_quantity"], r["available_quantity"]) for r in reserved] == [
        (100.0, 30.0, 70.0)
    ]

    assert db.run(lambda env: rpc(env, "stock.picking", "button_validate", [picking["id"]]))
    assert picking_of(db, order_id)["state"] == "done"
    assert qty(db, "SKU-001") == {
        "qty_available": 70.0,
        "free_qty": 70.0,
        "virtual_available": 70.0,
        "incoming_qty": 0.0,
        "outgoing_qty": 0.0,
    }

    def delivered(env: Env) -> dict[str, Any]:
        lines = env["sale.order.line"].search_read([("order_id", "=", order_id)], ["qty_delivered"])
        customers = env["stock.quant"].search_read(
            [("product_id", "=", sku(env, "SKU-001")), ("location_id.usage", "=", "customer")],
            ["quantity", "reserved_quantity"],
        )
        return {"lines": [r["qty_delivered"] for r in lines], "customers": customers}

    found = db.run(delivered)
    assert found["lines"] == [30.0, 5.0]
    assert [(r["quantity"], r["reserved_quantity"]) for r in found["customers"]] == [(30.0, 0.0)]


def test_partial_availability_asks_for_a_backorder(db: Db) -> None:
    order_id = order(db, ("SKU-003", 130))
    picking = picking_of(db, order_id)
    assert picking["state"] == "assigned"
    assert [(m["state"], m["quantity"]) for m in moves(db, picking["id"])] == [
        ("partially_available", 100.0)
    ]
    assert qty(db, "SKU-003")["free_qty"] == 0.0
    assert qty(db, "SKU-003")["virtual_available"] == -30.0

    wizard = db.run(lambda env: rpc(env, "stock.picking", "button_validate", [picking["id"]]))
    assert wizard["res_model"] == "stock.backorder.confirmation"
    assert picking_of(db, order_id)["state"] == "assigned"

    assert db.run(
        lambda env: rpc(env, "stock.picking", "button_validate", [picking["id"]]),
        {"skip_backorder": True},
    )

    def pickings(env: Env) -> list[dict[str, Any]]:
        return env["stock.picking"].search_read(
            [("sale_id", "=", order_id)], ["state", "backorder_id"], order="id", load=None
        )

    done, backorder = db.run(pickings)
    assert (done["state"], backorder["state"], backorder["backorder_id"]) == (
        "done",
        "confirmed",
        done["id"],
    )
    assert moves(db, backorder["id"])[0]["product_uom_qty"] == 30.0
    assert qty(db, "SKU-003")["qty_available"] == 0.0
    # new stock is reserved for the waiting backorder at once
    count(db, "SKU-003", 50)
    assert qty(db, "SKU-003")["free_qty"] == 20.0
    assert moves(db, backorder["id"])[0]["state"] == "assigned"


def test_no_backorder_when_asked(db: Db) -> None:
    order_id = order(db, ("SKU-004", 120))
    picking = picking_of(db, order_id)["id"]
    context = {"skip_backorder": True, "picking_ids_not_to_backorder": [picking]}
    assert db.run(lambda env: rpc(env, "stock.picking", "button_validate", [picking]), context)
    states = db.run(
        lambda env: env["stock.picking"].search_read([("sale_id", "=", order_id)], ["state"])
    )
    assert [s["state"] for s in states] == ["done"]


@pytest.mark.parametrize("version", ["17.0", "18.0"])
def test_nothing_reserved_waits_and_cannot_be_validated(version: str) -> None:
    db = Db(version)
    count(db, "SKU-005", 0)
    order_id = order(db, ("SKU-005", 2))
    picking = picking_of(db, order_id)["id"]
    assert picking_of(db, order_id)["state"] == "confirmed"
    assert qty(db, "SKU-005")["virtual_available"] == -2.0
    with pytest.raises(UserError, match="no quantities are reserved"):
        db.run(lambda env: rpc(env, "stock.picking", "button_validate", [picking]))


def test_19_zero_quantity_message() -> None:
    db = Db("19.0")
    count(db, "SKU-005", 0)
    picking = picking_of(db, order(db, ("SKU-005", 2)))
    with pytest.raises(UserError, match="Transfer trouble alert!"):
        db.run(lambda env: rpc(env, "stock.picking", "button_validate", [picking["id"]]))


def test_cancelling_the_order_releases_the_reservation(db: Db) -> None:
    order_id = order(db, ("SKU-001", 10))
    assert qty(db, "SKU-001")["free_qty"] == 90.0
    db.run(
        lambda env: rpc(env, "sale.order", "action_cancel", [order_id]),
        {"disable_cancel_warning": True},
    )
    assert picking_of(db, order_id)["state"] == "cancel"
    assert qty(db, "SKU-001")["free_qty"] == 100.0
    picking = picking_of(db, order(db, ("SKU-001", 1)))["id"]
    db.run(lambda env: rpc(env, "stock.picking", "button_validate", [picking]))
    with pytest.raises(UserError, match="set to 'Done'"):
        db.run(lambda env: rpc(env, "stock.picking", "action_cancel", [picking]))


def test_services_make_no_delivery_and_consumables_skip_quants(db: Db) -> None:
    def products(env: Env) -> None:
        env["product.product"].create({"name": "Setup", "default_code": "SRV", "type": "service"})
        env["product.product"].create({"name": "Tape", "default_code": "CON", "type": "consu"})

    db.run(products)
    assert (
        db.run(
            lambda env: env["stock.picking"].search_count([("sale_id", "=", order(db, ("SRV", 1)))])
        )
        == 0
    )
    picking = picking_of(db, order(db, ("CON", 4)))
    assert picking["state"] == "assigned"
    assert db.run(lambda env: rpc(env, "stock.picking", "button_validate", [picking["id"]]))
    assert (
        db.run(lambda env: env["stock.quant"].search_count([("product_id", "=", sku(env, "CON"))]))
        == 0
    )
    assert qty(db, "CON")["qty_available"] == 0.0


def test_inventory_count_writes_the_quant_and_an_inventory_move(db: Db) -> None:
    count(db, "SKU-002", 80)

    def read(env: Env) -> dict[str, Any]:
        product = sku(env, "SKU-002")
        quants = env["stock.quant"].search_read(
            [("product_id", "=", product)],
            ["location_id", "quantity", "inventory_quantity", "inventory_quantity_set", "user_id"],
            order="location_id",
            load=None,
        )
        locations = env["stock.location"].read(
            [q["location_id"] for q in quants], ["usage"], load=None
        )
        usage = {r["id"]: r["usage"] for r in locations}
        last = env["stock.move"].search_read(
            [("product_id", "=", product), ("is_inventory", "=", True)],
            ["name", "state", "product_uom_qty", "location_dest_id"],
            order="id desc",
            limit=1,
            load=None,
        )[0]
        return {"quants": {usage[q["location_id"]]: q for q in quants}, "move": last}

    found = db.run(read)
    stock, loss = found["quants"]["internal"], found["quants"]["inventory"]
    assert (stock["quantity"], stock["inventory_quantity"], stock["inventory_quantity_set"]) == (
        80.0,
        0.0,
        False,
    )
    assert stock["user_id"] is False
    assert loss["quantity"] == -80.0  # -100 seeded, +20 lost
    assert (found["move"]["name"], found["move"]["state"], found["move"]["product_uom_qty"]) == (
        "Product Quantity Updated",
        "done",
        20.0,
    )
    assert found["move"]["location_dest_id"] == loss["location_id"]
    assert qty(db, "SKU-002")["qty_available"] == 80.0


def test_inventory_quantity_auto_apply_and_outdated_counts(db: Db) -> None:
    def quant(env: Env) -> int:
        found = env["stock.quant"].search(
            [("product_id", "=", sku(env, "SKU-001")), ("location_id.usage", "=", "internal")]
        )
        return int(found[0])

    qid = db.run(quant)
    db.run(
        lambda env: env["stock.quant"].write([qid], {"inventory_quantity_auto_apply": 60}),
        {"inventory_mode": True},
    )
    assert qty(db, "SKU-001")["qty_available"] == 60.0
    # a count, then the quantity moves before it is applied: Odoo asks what to do
    db.run(lambda env: env["stock.quant"].write([qid], {"inventory_quantity": 55}))
    order(db, ("SKU-001", 1))
    picking = db.run(lambda env: env["stock.picking"].search([], order="id desc", limit=1))
    db.run(lambda env: rpc(env, "stock.picking", "button_validate", picking))
    wizard = db.run(lambda env: rpc(env, "stock.quant", "action_apply_inventory", [qid]))
    assert wizard["res_model"] == "stock.inventory.conflict"
    assert wizard["context"]["default_quant_to_fix_ids"] == [qid]


def test_quant_rules(db: Db) -> None:
    def setup(env: Env) -> dict[str, int]:
        locations = env["stock.location"]
        return {
            "view": locations.search([("complete_name", "=", "WH")])[0],
            "stock": locations.search([("complete_name", "=", "WH/Stock")])[0],
            "service": int(env["product.product"].create({"name": "S", "type": "service"})),
            "sku": sku(env, "SKU-001"),
        }

    ids = db.run(setup)
    with pytest.raises(ValidationError, match="consumables or services"):
        db.run(
            lambda env: env["stock.quant"].create(
                {"product_id": ids["service"], "location_id": ids["stock"], "quantity": 1}
            )
        )
    with pytest.raises(ValidationError, match='location of type "view"'):
        db.run(
            lambda env: env["stock.quant"].create(
                {"product_id": ids["sku"], "location_id": ids["view"], "quantity": 1}
            )
        )
    with pytest.raises(UserError, match="creation is restricted"):
        db.run(
            lambda env: env["stock.quant"].create(
                {
                    "product_id": ids["sku"],
                    "location_id": ids["stock"],
                    "inventory_quantity": 1,
                    "reserved_quantity": 1,
                }
            ),
            {"inventory_mode": True},
        )
    quant = db.run(lambda env: env["stock.quant"].search([("product_id", "=", ids["sku"])])[:1])
    with pytest.raises(UserError, match="editing is restricted"):
        db.run(
            lambda env: env["stock.quant"].write(quant, {"location_id": ids["view"]}),
            {"inventory_mode": True},
        )


def test_deleting_a_quant_counts_it_at_zero_first(db: Db) -> None:
    def delete(env: Env) -> None:
        quant = env["stock.quant"].search(
            [("product_id", "=", sku(env, "SKU-004")), ("location_id.usage", "=", "internal")]
        )
        env["stock.quant"].unlink(quant)

    db.run(delete)
    assert qty(db, "SKU-004")["qty_available"] == 0.0
    loss = db.run(
        lambda env: env["stock.quant"].search_read(
            [("product_id", "=", sku(env, "SKU-004")), ("location_id.usage", "=", "inventory")],
            ["quantity"],
        )
    )
    assert [q["quantity"] for q in loss] == [0.0]  # -100 seeded, +100 back


def test_upgrade_brings_an_older_database_up_to_date(db: Db) -> None:
    store = db.registry.store
    store.begin()
    for model in ("stock.warehouse", "stock.picking.type", "stock.quant", "stock.move"):
        for rec_id in list(store.tables[model]):
            store.delete(model, rec_id)
    for uid, row in list(store.tables["res.users"].items()):
        if row["login"] == "demo":
            store.delete("res.users", uid)
            store.delete("res.partner", row["partner_id"])
    added = ("user_demo", "partner_demo", "warehouse0", "picking_type_in", "picking_type_out")
    for imd, row in list(store.tables["ir.model.data"].items()):
        if row["name"] in added:
            store.delete("ir.model.data", imd)
    view = next(i for i, r in store.tables["stock.location"].items() if r["name"] == "WH")
    store.update("stock.location", view, {"complete_name": "Physical Locations/WH"})
    store.commit()
    db.registry.invalidate()

    db.registry.run(1, {}, upgrade)
    assert qty(db, "SKU-001")["qty_available"] == ON_HAND
    found = db.run(lambda env: env["res.users"].search_count([("login", "=", "demo")]))
    assert found == 1
    wh = db.run(lambda env: env["stock.warehouse"].search_read([], ["view_location_id"]))
    assert wh[0]["view_location_id"] == [view, "WH"]
    db.registry.run(1, {}, upgrade)  # idempotent
    assert db.run(lambda env: env["stock.warehouse"].search_count([])) == 1
    assert qty(db, "SKU-001")["qty_available"] == ON_HAND
