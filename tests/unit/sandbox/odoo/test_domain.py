from __future__ import annotations

from typing import Any

import pytest

from sandbox.odoo.orm import domain
from sandbox.odoo.orm.model import Env

from .conftest import Db


def _partners(env: Env) -> dict[str, int]:
    partners = env["res.partner"]
    be = partners.env["res.country"].search([("code", "=", "BE")])[0]
    fr = partners.env["res.country"].search([("code", "=", "FR")])[0]
    acme = partners.create({"name": "Acme", "is_company": True, "country_id": be, "ref": "A1"})
    return {
        "acme": acme,
        "alice": partners.create({"name": "Alice", "parent_id": acme, "email": "alice@acme.be"}),
        "bob": partners.create({"name": "Bob_1", "country_id": fr, "email": "BOB@x.fr"}),
        "carol": partners.create({"name": "Carol", "active": False}),
        "dave": partners.create({"name": "Dave", "parent_id": acme, "ref": "D%"}),
    }


def search(db: Db, dom: list[Any], **context: Any) -> set[str]:
    def run(env: Env) -> set[str]:
        ids = set(env["res.partner"].search(dom))
        names = env["res.partner"].read(sorted(ids), ["name"])
        return {row["name"] for row in names} - {
            "My Company",
            "Administrator",
            "OdooBot",
            "Marc Demo",
        }

    return db.run(run, context)


@pytest.fixture
def people(db: Db) -> Db:
    db.run(_partners)
    return db


def test_parse_implicit_and_and_prefix_operators() -> None:
    tree = domain.parse(["|", ("a", "=", 1), "!", ("b", "=", 2), ("c", "=", 3)])
    assert tree == (
        "&",
        ("|", ("leaf", ("a", "=", 1)), ("!", ("leaf", ("b", "=", 2)))),
        ("leaf", ("c", "=", 3)),
    )
    assert domain.parse([]) == ("true",)
    assert domain.parse([("a", "<>", 1)]) == ("leaf", ("a", "!=", 1))


@pytest.mark.parametrize("bad", [[("a", "~", 1)], ["&", ("a", "=", 1)], ["nonsense"]])
def test_parse_rejects_invalid_domains(bad: list[Any]) -> None:
    with pytest.raises(ValueError, match="Invalid"):
        domain.parse(bad)


def test_boolean_operators(people: Db) -> None:
    assert search(people, ["|", ("name", "=", "Alice"), ("name", "=", "Bob_1")]) == {
        "Alice",
        "Bob_1",
    }
    assert search(people, ["!", ("name", "ilike", "a")]) == {"Bob_1"}
    assert search(people, [("name", "ilike", "a"), ("parent_id", "!=", False)]) == {
        "Alice",
        "Dave",
    }


def test_like_family_wildcards_and_case(people: Db) -> None:
    assert search(people, [("name", "like", "lic")]) == {"Alice"}
    assert search(people, [("name", "like", "LIC")]) == set()
    assert search(people, [("name", "ilike", "LIC")]) == {"Alice"}
    assert search(people, [("email", "=like", "%@acme.be")]) == {"Alice"}
    assert search(people, [("email", "=ilike", "bob@%")]) == {"Bob_1"}
    # "_" is a wildcard in like patterns, as in SQL
    assert search(people, [("name", "=like", "Bob_1")]) == {"Bob_1"}
    # negative operators include unset values (SQL: ... OR field IS NULL)
    assert search(people, [("email", "not ilike", "acme")]) == {"Acme", "Bob_1", "Dave"}


def test_equality_null_semantics(people: Db) -> None:
    assert search(people, [("email", "=", False)]) == {"Acme", "Dave"}
    assert search(people, [("ref", "!=", "A1")]) == {"Alice", "Bob_1", "Dave"}
    assert search(people, [("ref", "<>", "A1")]) == {"Alice", "Bob_1", "Dave"}
    assert search(people, [("ref", "=?", False)]) == {"Acme", "Alice", "Bob_1", "Dave"}
    assert search(people, [("ref", "=?", "A1")]) == {"Acme"}


def test_in_and_not_in_with_false(people: Db) -> None:
    assert search(people, [("ref", "in", ["A1", False])]) == {"Acme", "Alice", "Bob_1"}
    assert search(people, [("ref", "not in", ["A1"])]) == {"Alice", "Bob_1", "Dave"}


def test_dotted_path_through_many2one(people: Db) -> None:
    assert search(people, [("country_id.code", "=", "FR")]) == {"Bob_1"}
    assert search(people, [("parent_id.country_id.code", "=", "BE")]) == {"Alice", "Dave"}
    assert search(people, [("parent_id", "any", [("ref", "=", "A1")])]) == {"Alice", "Dave"}
    # a string on a many2one is a name search on the comodel
    assert search(people, [("country_id", "=", "France")]) == {"Bob_1"}


def test_child_of_and_parent_of(people: Db) -> None:
    acme = people.run(lambda env: env["res.partner"].search([("name", "=", "Acme")])[0])
    alice = people.run(lambda env: env["res.partner"].search([("name", "=", "Alice")])[0])
    assert search(people, [("id", "child_of", acme)]) == {"Acme", "Alice", "Dave"}
    assert search(people, [("id", "parent_of", [alice])]) == {"Acme", "Alice"}


def test_active_test(people: Db) -> None:
    assert "Carol" not in search(people, [])
    assert "Carol" in search(people, [], active_test=False)
    assert search(people, [("active", "=", False)]) == {"Carol"}


def test_datetime_compared_with_a_date(people: Db) -> None:
    today = people.run(lambda env: env.now[:10])
    assert "Alice" in search(people, [("create_date", ">=", today)])
    # ``>`` a bare date means after the end of that day
    assert "Alice" not in search(people, [("create_date", ">", today)])
    assert "Alice" in search(people, [("create_date", "<=", today)])


def test_unknown_field_is_an_error(people: Db) -> None:
    with pytest.raises(ValueError, match=r"Invalid field res.partner.nope"):
        search(people, [("nope", "=", 1)])


def test_inactive_currencies_need_active_test_false(db: Db) -> None:
    def names(env: Env) -> list[str]:
        cur = env["res.currency"]
        return [r["name"] for r in cur.search_read([], ["name"])]

    assert sorted(db.run(names)) == ["EUR", "USD"]
    assert "GBP" in db.run(names, {"active_test": False})
