"""The emulator driven by third-party Odoo clients: OdooRPC and odoo-client-lib."""

from __future__ import annotations

import xmlrpc.client

import odoolib
import odoorpc
import pytest

from sandbox.odoo import RunningEmulator

from .conftest import API_KEY


def login(server: RunningEmulator) -> odoorpc.ODOO:
    client = odoorpc.ODOO("127.0.0.1", port=server.port)
    client.login("ferry", "admin", "admin")
    return client


def test_odoorpc_crud(odoo: RunningEmulator) -> None:
    client = login(odoo)
    assert client.version == "18.0"
    assert client.env.uid == 2
    assert client.env.user.login == "admin"
    partners = client.env["res.partner"]
    be = client.env["res.country"].search([("code", "=", "BE")])
    pid = partners.create({"name": "Acme", "email": "info@acme.test", "country_id": be[0]})
    record = partners.browse(pid)
    assert (record.name, record.email, record.country_id.code) == ("Acme", "info@acme.test", "BE")
    record.name = "Acme SA"
    assert partners.browse(pid).name == "Acme SA"
    assert partners.search([("name", "ilike", "acme sa")]) == [pid]
    record.unlink()
    assert partners.search([("id", "=", pid)]) == []


def test_odoorpc_rpc_error_carries_odoo_error(odoo: RunningEmulator) -> None:
    client = login(odoo)
    with pytest.raises(odoorpc.error.RPCError) as info:
        client.execute_kw("res.partner", "write", [[424242], {"name": "x"}])
    data = info.value.info["data"]
    assert data["name"] == "odoo.exceptions.MissingError"
    assert str(info.value) == (
        "Record does not exist or has been deleted.\n(Record: res.partner(424242,), User: 2)"
    )
    with pytest.raises(odoorpc.error.RPCError, match=r"Object res\.nothing doesn't exist"):
        client.execute("res.nothing", "search", [])


def test_odoorpc_login_refused(odoo: RunningEmulator) -> None:
    client = odoorpc.ODOO("127.0.0.1", port=odoo.port)
    with pytest.raises(odoorpc.error.RPCError, match="Wrong login ID or password"):
        client.login("ferry", "admin", "wrong")


def test_odoorpc_products_and_version_differences(
    odoo: RunningEmulator, odoo17: RunningEmulator
) -> None:
    products18 = login(odoo).env["product.product"]
    fields18 = products18.fields_get(attributes=["type", "selection"])
    assert [k for k, _ in fields18["type"]["selection"]] == ["consu", "service", "combo"]
    assert "is_storable" in fields18
    assert "detailed_type" not in fields18
    client17 = login(odoo17)
    fields17 = client17.env["product.product"].fields_get(attributes=["type"])
    assert "detailed_type" in fields17
    ids = client17.env["res.partner"].search([], limit=1)
    assert client17.execute("res.partner", "name_get", ids)[0][0] == ids[0]
    with pytest.raises(odoorpc.error.RPCError) as info:
        login(odoo).execute("res.partner", "name_get", ids)
    assert info.value.info["data"]["name"] == "builtins.AttributeError"
    assert str(info.value) == "The method 'res.partner.name_get' does not exist"


@pytest.mark.parametrize("protocol", ["xmlrpc", "jsonrpc"])
def test_odoolib_rpc_protocols(odoo: RunningEmulator, protocol: str) -> None:
    conn = odoolib.get_connection(
        hostname="127.0.0.1",
        protocol=protocol,
        port=odoo.port,
        database="ferry",
        login="admin",
        password="admin",
    )
    partners = conn.get_model("res.partner")
    pid = partners.create({"name": f"Via {protocol}"})
    assert partners.read(pid, ["name"]) == {"id": pid, "name": f"Via {protocol}"}
    assert partners.search_read([("id", "=", pid)], ["name"]) == [
        {"id": pid, "name": f"Via {protocol}"}
    ]
    assert partners.write([pid], {"email": "x@y.z"}) is True
    assert partners.search_count([("email", "=", "x@y.z")]) == 1
    assert conn.get_user_context()["uid"] == 2
    assert partners.unlink([pid]) is True


def test_odoolib_with_api_key(odoo: RunningEmulator) -> None:
    conn = odoolib.get_connection(
        hostname="127.0.0.1",
        protocol="jsonrpc",
        port=odoo.port,
        database="ferry",
        login="admin",
        password=API_KEY,
    )
    assert conn.get_model("res.currency").search([("name", "=", "EUR")]) != []


def test_odoolib_legacy_xmlrpc_string_faults(odoo: RunningEmulator) -> None:
    conn = odoolib.get_connection(
        hostname="127.0.0.1",
        protocol="xmlrpc",
        port=odoo.port,
        database="ferry",
        login="admin",
        password="admin",
    )
    sale = conn.get_model("sale.order")
    with pytest.raises(xmlrpc.client.Fault) as info:
        sale.create({"client_order_ref": "no partner"})
    code: object = info.value.faultCode
    assert isinstance(code, str)
    assert code.startswith("warning -- UserError\n\nThe operation cannot be")
    assert "Field: Customer (partner_id)" in code
    with pytest.raises(xmlrpc.client.Fault) as missing:
        conn.get_model("res.partner").write([999999], {"name": "x"})
    missing_code: object = missing.value.faultCode
    assert isinstance(missing_code, str)
    assert missing_code.startswith("warning -- MissingError\n\nRecord does not exist")


def test_odoolib_json2(odoo19: RunningEmulator) -> None:
    conn = odoolib.get_connection(
        hostname="127.0.0.1",
        protocol="json2",
        port=odoo19.port,
        database="ferry",
        password=API_KEY,
    )
    assert conn.get_user_context()["uid"] == 2
    partners = conn.get_model("res.partner")
    (pid,) = partners.create({"name": "Json Two"})
    assert partners.read(pid, ["name"]) == {"id": pid, "name": "Json Two"}
    assert partners.write([pid], {"email": "j2@x"}) is True
    assert partners.search([("email", "=", "j2@x")]) == [pid]
    assert partners.search_read([("id", "=", pid)], ["email"]) == [{"id": pid, "email": "j2@x"}]
    assert partners.unlink([pid]) is True
    bad = odoolib.get_connection(
        hostname="127.0.0.1",
        protocol="json2",
        port=odoo19.port,
        database="ferry",
        password="nope",
    )
    assert bad.check_login() is False
