from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from sandbox.odoo.exceptions import MissingError, SerializationFailure, ValidationError
from sandbox.odoo.models import ALL_MODELS
from sandbox.odoo.orm.load import xmlid_lookup
from sandbox.odoo.orm.model import Env
from sandbox.odoo.orm.registry import Registry
from sandbox.odoo.seed import SUPERUSER_ID, seed
from sandbox.odoo.store import Store

from .conftest import Db

FIELDS = ["id", "name", "email", "country_id/id"]


def load(db: Db, rows: list[list[Any]]) -> dict[str, Any]:
    return db.run(lambda env: env["res.partner"].load(FIELDS, rows))


def test_load_creates_then_updates_by_xmlid(db: Db) -> None:
    first = load(db, [["ferry.p1", "One", "1@x", "base.be"], ["ferry.p2", "Two", "", "base.fr"]])
    assert first["messages"] == []
    assert first["nextrow"] == 0
    ids = first["ids"]
    assert len(ids) == 2
    again = load(db, [["ferry.p1", "One bis", "1@y", "base.de"]])
    assert again["ids"] == [ids[0]]
    row = db.run(lambda env: env["res.partner"].read([ids[0]], ["name", "country_id"])[0])
    assert row["name"] == "One bis"
    assert row["country_id"][1] == "Germany"
    found = db.run(lambda env: xmlid_lookup(env["ir.model.data"], "ferry", "p1"))
    assert found is not None
    assert found[:2] == ("res.partner", ids[0])


def test_load_is_all_or_nothing(db: Db) -> None:
    before = db.run(lambda env: env["res.partner"].search_count([]))
    result = load(
        db,
        [
            ["ferry.ok", "Fine", "", "base.be"],
            ["ferry.bad", "Broken", "", "base.nowhere"],
            ["ferry.nameless", "", "", ""],
        ],
    )
    assert result["ids"] is False
    assert [m["record"] for m in result["messages"]] == [1, 2]
    assert result["messages"][0]["type"] == "error"
    assert (
        "No matching record found for external id 'base.nowhere'"
        in (result["messages"][0]["message"])
    )
    assert result["messages"][1]["message"] == "Contacts require a name"
    assert db.run(lambda env: env["res.partner"].search_count([])) == before
    assert db.run(lambda env: xmlid_lookup(env["ir.model.data"], "ferry", "ok")) is None


def test_unlink_deletes_the_external_id(db: Db) -> None:
    (pid,) = load(db, [["ferry.gone", "Gone", "", ""]])["ids"]
    db.run(lambda env: env["res.partner"].unlink([pid]))
    assert db.run(lambda env: xmlid_lookup(env["ir.model.data"], "ferry", "gone")) is None
    with pytest.raises(MissingError, match=r"\(Record: res.partner\(\d+,\), User: 2\)"):
        db.run(lambda env: env["res.partner"].write([pid], {"name": "x"}))
    assert db.run(lambda env: env["res.partner"].read([pid], ["name"])) == []


def test_external_id_unique_per_module_and_name(db: Db) -> None:
    vals = {"module": "ferry", "name": "dup", "model": "res.partner", "res_id": 1}
    db.run(lambda env: env["ir.model.data"].create(vals))
    with pytest.raises(ValidationError, match=r"^The operation cannot be completed: duplicate key"):
        db.run(lambda env: env["ir.model.data"].create(vals))


def test_unique_barcode(db: Db) -> None:
    with pytest.raises(ValidationError) as info:
        db.run(lambda env: env["product.product"].create({"name": "X", "barcode": "4006381333931"}))
    assert str(info.value) == (
        "The operation cannot be completed: A barcode can only be assigned to one product !"
    )


def test_write_date_is_the_transaction_start_for_every_record(db: Db) -> None:
    def run(env: Env) -> list[dict[str, Any]]:
        ids = env["res.partner"].create([{"name": f"P{i}"} for i in range(50)])
        time.sleep(0.01)
        env["res.partner"].write(ids[:10], {"email": "late@x"})
        return env["res.partner"].read(ids, ["create_date", "write_date"])

    rows = db.run(run)
    stamps = {r["write_date"] for r in rows} | {r["create_date"] for r in rows}
    assert len(stamps) == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", stamps.pop())


def test_each_transaction_and_each_retry_gets_a_new_now(db: Db) -> None:
    seen: list[str] = []

    def run(env: Env) -> int:
        seen.append(env.now)
        time.sleep(0.002)
        return int(env["res.partner"].create({"name": "Retried"}))

    db.failures = 2
    pid = db.run(run)
    assert len(seen) == 3
    assert len(set(seen)) == 3
    stored = db.registry.store.tables["res.partner"][pid]["write_date"]
    assert stored == seen[-1]
    # only the last attempt's effects remain
    assert db.run(lambda env: env["res.partner"].search_count([("name", "=", "Retried")])) == 1


def test_serialization_failure_gives_up_after_five_attempts(db: Db) -> None:
    db.failures = 5
    with pytest.raises(SerializationFailure):
        db.run(lambda env: env["res.partner"].create({"name": "Never"}))
    assert db.run(lambda env: env["res.partner"].search_count([("name", "=", "Never")])) == 0


def test_rollback_restores_rows_and_indexes(db: Db) -> None:
    def fail(env: Env) -> None:
        env["res.partner"].create({"name": "Ghost"})
        env["product.product"].create({"name": "Y", "barcode": "B-1"})
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        db.run(fail)
    assert db.run(lambda env: env["res.partner"].search_count([("name", "=", "Ghost")])) == 0
    db.run(lambda env: env["product.product"].create({"name": "Y", "barcode": "B-1"}))


def test_sqlite_store_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "odoo.sqlite3"
    registry = Registry(ALL_MODELS, Store(path), "18.0")
    registry.run(SUPERUSER_ID, {}, seed)
    pid = registry.run(2, {}, lambda env: env["res.partner"].create({"name": "Kept"}))
    registry.store.close()
    again = Registry(ALL_MODELS, Store(path), "18.0")
    assert again.run(2, {}, lambda env: env["res.partner"].read([pid], ["name"])) == [
        {"id": pid, "name": "Kept"}
    ]
    assert again.run(2, {}, lambda env: env["res.partner"].create({"name": "Next"})) == pid + 1


def test_load_repeated_xmlid_in_one_batch_updates_the_first(db: Db) -> None:
    result = load(db, [["ferry.same", "First", "", ""], ["ferry.same", "Second", "", ""]])
    assert result["messages"] == []
    first, second = result["ids"]
    assert first == second
    assert db.run(lambda env: env["res.partner"].read([first], ["name"]))[0]["name"] == "Second"


def test_load_names_the_row_that_breaks_a_unique_constraint(db: Db) -> None:
    rows = [["ferry.p_a", "A", "BC-1"], ["ferry.p_b", "B", "BC-2"], ["ferry.p_c", "C", "BC-1"]]
    result = db.run(lambda env: env["product.product"].load(["id", "name", "barcode"], rows))
    assert result["ids"] is False
    assert [(m["record"], m["message"]) for m in result["messages"]] == [
        (2, "The operation cannot be completed: A barcode can only be assigned to one product !")
    ]
    assert db.run(lambda env: env["product.product"].search_count([("name", "=", "A")])) == 0
