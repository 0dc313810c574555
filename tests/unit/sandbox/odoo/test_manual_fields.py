"""Custom fields through ``ir.model.fields``: created, used, refused, removed, persisted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox.odoo import EmulatorConfig, OdooEmulator
from sandbox.odoo.exceptions import AccessError, UserError, ValidationError
from sandbox.odoo.orm.model import Env
from sandbox.odoo.seed import ADMIN_UID

from .conftest import Db

FIELD = "x_ferry_version"


def add_field(env: Env, model: str = "sale.order", **vals: Any) -> int:
    model_id = env["ir.model"].search([("model", "=", model)])[0]
    values = {
        "model_id": model_id,
        "name": FIELD,
        "ttype": "char",
        "field_description": "Ferry version",
        **vals,
    }
    return int(env["ir.model.fields"].create(values))


def new_order(env: Env, **vals: Any) -> int:
    partner = env["res.partner"].create({"name": "Customer"})
    return int(env["sale.order"].create({"partner_id": partner, **vals}))


def test_ir_model_is_searchable_by_model_and_lists_its_fields(db: Db) -> None:
    def run(env: Env) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        models = env["ir.model"].search_read([("model", "=", "sale.order")], ["name", "state"])
        fields = env["ir.model.fields"].search_read(
            [("model", "=", "sale.order"), ("name", "=", "partner_id")],
            ["ttype", "relation", "state", "required", "model_id"],
        )
        return models, fields

    models, fields = db.run(run)
    assert models == [{"id": models[0]["id"], "name": "Sales Order", "state": "base"}]
    assert fields == [
        {
            "id": fields[0]["id"],
            "ttype": "many2one",
            "relation": "res.partner",
            "state": "base",
            "required": True,
            "model_id": [models[0]["id"], "Sales Order"],
        }
    ]


def test_a_custom_field_is_read_written_searched_and_described(db: Db) -> None:
    field_id = db.run(lambda env: add_field(env, index=True, copied=False))

    def run(env: Env) -> dict[str, Any]:
        orders = env["sale.order"]
        order = new_order(env, x_ferry_version="v1")
        other = new_order(env)
        found_v1 = orders.search([(FIELD, "=", "v1")])
        orders.write([order], {FIELD: "v2"})
        return {
            "read": orders.read([order, other], [FIELD]),
            "v1": found_v1,
            "v2": orders.search([(FIELD, "=", "v2")]),
            "in": orders.search([(FIELD, "in", ["v0", "v2"])]),
            "unset": orders.search([(FIELD, "=", False), ("id", "in", [order, other])]),
            "described": orders.fields_get([FIELD]),
            "row": env["ir.model.fields"].search_read(
                [("model", "=", "sale.order"), ("name", "=", FIELD)],
                ["ttype", "state", "index", "copied", "display_name"],
            ),
            "ids": (order, other),
        }

    out = db.run(run)
    order, other = out["ids"]
    assert out["read"] == [{"id": order, FIELD: "v2"}, {"id": other, FIELD: False}]
    assert out["v1"] == [order]
    assert out["v2"] == out["in"] == [order]
    assert out["unset"] == [other]
    described = out["described"][FIELD]
    assert (described["type"], described["string"], described["manual"]) == (
        "char",
        "Ferry version",
        True,
    )
    assert out["row"] == [
        {
            "id": field_id,
            "ttype": "char",
            "state": "manual",
            "index": True,
            "copied": False,
            "display_name": "Ferry version (Sales Order)",
        }
    ]


@pytest.mark.parametrize(
    ("ttype", "value", "read"),
    [
        ("integer", "7", 7),
        ("float", 2.5, 2.5),
        ("boolean", 1, True),
        ("text", "long", "long"),
        ("datetime", "2026-01-02T03:04:05", "2026-01-02 03:04:05"),
        ("date", "2026-01-02", "2026-01-02"),
    ],
)
def test_custom_field_types(db: Db, ttype: str, value: Any, read: Any) -> None:
    db.run(lambda env: add_field(env, name="x_value", ttype=ttype))

    def run(env: Env) -> tuple[Any, list[int]]:
        order = new_order(env, x_value=value)
        got = env["sale.order"].read([order], ["x_value"])[0]["x_value"]
        return got, env["sale.order"].search([("x_value", "=", read)])

    got, found = db.run(run)
    assert got == read
    assert len(found) == 1


def test_unset_custom_values_read_like_odoo(db: Db) -> None:
    def add(env: Env) -> None:
        for name, ttype in (("x_count", "integer"), ("x_ok", "boolean"), ("x_at", "datetime")):
            add_field(env, name=name, ttype=ttype)

    db.run(add)
    order = db.run(new_order)
    row = db.run(lambda env: env["sale.order"].read([order], ["x_count", "x_ok", "x_at"])[0])
    assert (row["x_count"], row["x_ok"], row["x_at"]) == (0, False, False)


@pytest.mark.parametrize(
    ("vals", "error", "message"),
    [
        (
            {"name": "ferry_version"},
            ValidationError,
            "The operation cannot be completed: Custom fields must have a name that starts "
            "with 'x_'!",
        ),
        (
            {"name": "X_upper"},
            ValidationError,
            "The operation cannot be completed: Custom fields must have a name that starts "
            "with 'x_'!",
        ),
        (
            {"name": "x_two words"},
            ValidationError,
            "Field names can only contain characters, digits and underscores (up to 63).",
        ),
        ({"ttype": "color"}, ValueError, "Wrong value for ir.model.fields.ttype: 'color'"),
        ({"ttype": "many2one"}, UserError, "does not emulate custom fields of type 'many2one'"),
    ],
)
def test_bad_custom_fields_are_refused_like_odoo(
    db: Db, vals: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        db.run(lambda env: add_field(env, **vals))
    assert message in str(info.value)
    found = db.run(lambda env: env["ir.model.fields"].search_count([("state", "=", "manual")]))
    assert found == 0


def test_a_name_is_unique_per_model(db: Db) -> None:
    db.run(add_field)
    with pytest.raises(ValidationError) as info:
        db.run(add_field)
    assert str(info.value) == (
        "The operation cannot be completed: Field names must be unique per model."
    )
    db.run(lambda env: add_field(env, model="res.partner"))  # another model: fine


def test_the_model_is_mandatory(db: Db) -> None:
    # as PostgreSQL reports it: the first NOT NULL column in the table's order, ``model``
    with pytest.raises(ValidationError, match=r"Field: Model Name \(model\)"):
        db.run(
            lambda env: env["ir.model.fields"].create(
                {"name": FIELD, "ttype": "char", "field_description": "x"}
            )
        )


def test_unlink_drops_the_field_and_its_values(db: Db) -> None:
    field_id = db.run(add_field)
    order = db.run(lambda env: new_order(env, x_ferry_version="v1"))
    db.run(lambda env: env["ir.model.fields"].unlink([field_id]))
    with pytest.raises(ValueError, match="Invalid field"):
        db.run(lambda env: env["sale.order"].search([(FIELD, "=", "v1")]))
    assert FIELD not in db.run(lambda env: env["sale.order"].fields_get())
    assert FIELD not in db.registry.store.tables["sale.order"][order]
    db.run(add_field)  # the name is free again, the old value gone
    assert db.run(lambda env: env["sale.order"].read([order], [FIELD]))[0][FIELD] is False


def test_base_fields_are_neither_altered_nor_removed(db: Db) -> None:
    def base(env: Env) -> int:
        fields = env["ir.model.fields"]
        return fields.search([("model", "=", "sale.order"), ("name", "=", "name")])[0]

    field_id = db.run(base)
    with pytest.raises(UserError, match="Properties of base fields cannot be altered"):
        db.run(lambda env: env["ir.model.fields"].write([field_id], {"required": False}))
    with pytest.raises(UserError, match="This column contains module data"):
        db.run(lambda env: env["ir.model.fields"].unlink([field_id]))


def test_write_renames_and_redescribes_a_custom_field(db: Db) -> None:
    field_id = db.run(add_field)
    order = db.run(lambda env: new_order(env, x_ferry_version="v1"))
    with pytest.raises(UserError, match="Changing the type of a field"):
        db.run(lambda env: env["ir.model.fields"].write([field_id], {"ttype": "integer"}))
    db.run(
        lambda env: env["ir.model.fields"].write(
            [field_id], {"name": "x_stamp", "field_description": "Stamp"}
        )
    )
    row = db.run(lambda env: env["sale.order"].read([order], ["x_stamp"]))[0]
    assert row["x_stamp"] == "v1"
    assert db.run(lambda env: env["sale.order"].fields_get(["x_stamp"]))["x_stamp"]["string"] == (
        "Stamp"
    )
    with pytest.raises(ValidationError, match="must have a name that starts with 'x_'"):
        db.run(lambda env: env["ir.model.fields"].write([field_id], {"name": "stamp"}))


def test_a_rolled_back_creation_leaves_no_field(db: Db) -> None:
    def run(env: Env) -> None:
        add_field(env)
        raise UserError("later failure")

    with pytest.raises(UserError):
        db.run(run)
    assert FIELD not in db.run(lambda env: env["sale.order"].fields_get())
    db.run(add_field)
    assert FIELD in db.run(lambda env: env["sale.order"].fields_get())


def test_delegating_models_carry_their_parents_custom_fields(db: Db) -> None:
    db.run(lambda env: add_field(env, model="product.template", name="x_origin"))

    def run(env: Env) -> list[dict[str, Any]]:
        products = env["product.product"]
        products.create({"name": "Custom", "x_origin": "EU"})
        return products.search_read([("x_origin", "=", "EU")], ["x_origin", "product_tmpl_id"])

    rows = db.run(run)
    assert [r["x_origin"] for r in rows] == ["EU"]


def test_custom_fields_survive_a_restart(tmp_path: Path) -> None:
    config = EmulatorConfig(data_dir=tmp_path)
    first = OdooEmulator(config)
    call = first.services.call
    model_id = call(ADMIN_UID, "ir.model", "search", [[("model", "=", "sale.order")]], {})[0]
    call(
        ADMIN_UID,
        "ir.model.fields",
        "create",
        [{"model_id": model_id, "name": FIELD, "ttype": "char", "field_description": "V"}],
        {},
    )
    partner = call(ADMIN_UID, "res.partner", "create", [{"name": "C"}], {})
    order = call(ADMIN_UID, "sale.order", "create", [{"partner_id": partner, FIELD: "v9"}], {})
    first.close()

    again = OdooEmulator(EmulatorConfig(data_dir=tmp_path))
    try:
        found = again.services.call(
            ADMIN_UID, "sale.order", "search_read", [[(FIELD, "=", "v9")], [FIELD]], {}
        )
        assert found == [{"id": order, FIELD: "v9"}]
    finally:
        again.close()


def test_reset_removes_custom_fields() -> None:
    emulator = OdooEmulator(EmulatorConfig())
    model_id = emulator.services.call(
        ADMIN_UID, "ir.model", "search", [[("model", "=", "sale.order")]], {}
    )[0]
    emulator.services.call(
        ADMIN_UID,
        "ir.model.fields",
        "create",
        [{"model_id": model_id, "name": FIELD, "ttype": "char", "field_description": "V"}],
        {},
    )
    emulator.reset()
    described = emulator.services.call(ADMIN_UID, "sale.order", "fields_get", [], {})
    assert FIELD not in described
    emulator.close()


def test_only_settings_users_change_fields(db: Db) -> None:
    demo = db.run(lambda env: env["res.users"].search([("login", "=", "demo")])[0])
    field_id = db.run(add_field)

    def as_demo(func: Any) -> Any:
        return db.registry.run(demo, {}, func)

    with pytest.raises(AccessError) as info:
        as_demo(lambda env: add_field(env, name="x_other"))
    assert str(info.value) == (
        "You are not allowed to create 'Fields' (ir.model.fields) records.\n\n"
        "This operation is allowed for the following groups:\n\t- Administration/Settings\n\n"
        "Contact your administrator to request access if necessary."
    )
    with pytest.raises(AccessError, match="not allowed to modify 'Fields'"):
        as_demo(lambda env: env["ir.model.fields"].write([field_id], {"field_description": "x"}))
    with pytest.raises(AccessError, match="not allowed to delete 'Fields'"):
        as_demo(lambda env: env["ir.model.fields"].unlink([field_id]))
    rows = as_demo(lambda env: env["ir.model.fields"].read([field_id], ["name"]))
    assert rows == [{"id": field_id, "name": FIELD}]
