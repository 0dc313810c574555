"""Raw wire checks: JSON-RPC envelopes, 400s, XML-RPC faults, cooldown, JSON-2, sessions."""

from __future__ import annotations

import datetime as dt
import xmlrpc.client
from typing import Any

import httpx
import pytest

from sandbox.odoo import RunningEmulator

from .conftest import API_KEY


def rpc(server: RunningEmulator, service: str, method: str, *args: Any) -> dict[str, Any]:
    body = {
        "jsonrpc": "2.0",
        "method": "call",
        "id": 7,
        "params": {"service": service, "method": method, "args": list(args)},
    }
    response = httpx.post(f"{server.url}/jsonrpc", json=body)
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def kw(
    server: RunningEmulator,
    model: str,
    method: str,
    args: list[Any],
    kwargs: Any = None,
    password: str = "admin",
) -> dict[str, Any]:
    return rpc(
        server, "object", "execute_kw", "ferry", 2, password, model, method, args, kwargs or {}
    )


def test_version(odoo: RunningEmulator, odoo17: RunningEmulator) -> None:
    assert rpc(
        odoo,
        "common",
        "version",
    )["result"] == {
        "server_version": "18.0",
        "server_version_info": [18, 0, 0, "final", 0, ""],
        "server_serie": "18.0",
        "protocol_version": 1,
    }
    response = httpx.post(
        f"{odoo17.url}/web/webclient/version_info",
        json={"jsonrpc": "2.0", "method": "call", "params": {}, "id": 1},
    )
    assert response.json()["result"]["server_version_info"][0] == 17


def test_error_envelope(odoo: RunningEmulator) -> None:
    body = kw(odoo, "sale.order", "create", [{"client_order_ref": "x"}])
    assert set(body) == {"jsonrpc", "id", "error"}
    assert body["id"] == 7
    error = body["error"]
    assert (error["code"], error["message"]) == (200, "Odoo Server Error")
    data = error["data"]
    assert set(data) == {"name", "debug", "message", "arguments", "context"}
    assert data["name"] == "odoo.exceptions.ValidationError"
    assert data["message"].startswith("The operation cannot be completed:\n- Create/update:")
    assert data["arguments"] == [data["message"]]
    assert data["context"] == {}
    assert data["debug"].startswith("Traceback (most recent call last):")


@pytest.mark.parametrize(
    ("model", "method", "name", "message"),
    [
        ("res.nope", "search", "odoo.exceptions.UserError", "Object res.nope doesn't exist"),
        (
            "res.partner",
            "_private",
            "odoo.exceptions.AccessError",
            "Private methods (such as 'res.partner._private') cannot be called remotely.",
        ),
        (
            "res.partner",
            "frobnicate",
            "builtins.AttributeError",
            "The method 'res.partner.frobnicate' does not exist",
        ),
    ],
)
def test_dispatch_errors(
    odoo: RunningEmulator, model: str, method: str, name: str, message: str
) -> None:
    data = kw(odoo, model, method, [[]])["error"]["data"]
    assert (data["name"], data["message"]) == (name, message)


def test_attribute_error_wording_in_17(odoo17: RunningEmulator) -> None:
    data = kw(odoo17, "res.partner", "frobnicate", [[]])["error"]["data"]
    assert data["message"] == "The method 'frobnicate' does not exist on the model 'res.partner'"


def test_result_is_omitted_when_the_method_returns_none(odoo: RunningEmulator) -> None:
    product = kw(odoo, "product.product", "search", [[("default_code", "=", "SKU-001")]])
    quant = kw(
        odoo,
        "stock.quant",
        "create",
        [{"product_id": product["result"][0], "location_id": 8, "inventory_quantity": 12}],
        {"context": {"inventory_mode": True}},
    )
    body = kw(odoo, "stock.quant", "action_apply_inventory", [[quant["result"]]])
    assert "result" not in body
    assert "error" not in body
    qty = kw(odoo, "product.product", "read", [product["result"], ["qty_available"]])
    assert qty["result"][0]["qty_available"] == 12.0
    # XML-RPC cannot marshal None: a code 1 fault with the traceback
    proxy = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/object")
    with pytest.raises(xmlrpc.client.Fault) as info:
        proxy.execute_kw(
            "ferry", 2, "admin", "stock.quant", "action_apply_inventory", [[quant["result"]]]
        )
    assert info.value.faultCode == 1
    assert "cannot marshal None" in info.value.faultString


def test_bad_content_type_and_bad_json(odoo: RunningEmulator) -> None:
    response = httpx.post(
        f"{odoo.url}/jsonrpc", content=b"{}", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 400
    response = httpx.post(
        f"{odoo.url}/jsonrpc", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.text) == (400, "Invalid JSON data")


def test_xmlrpc_fault_codes(odoo: RunningEmulator) -> None:
    proxy = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/object")
    common = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/common")
    assert common.login("ferry", "admin", "admin") == 2
    assert common.login("ferry", "admin", "bad") is False
    cases: list[tuple[tuple[Any, ...], int, str]] = [
        (("ferry", 2, "bad", "res.partner", "search", [[]]), 3, "Access Denied"),
        (("ferry", 2, "admin", "res.partner", "_x", [[]]), 4, "Private methods"),
        (
            ("ferry", 2, "admin", "res.partner", "write", [[99999], {"name": "x"}]),
            2,
            "Record does not exist",
        ),
        (("ferry", 2, "admin", "res.partner", "frobnicate", [[]]), 1, "Traceback"),
    ]
    for args, code, text in cases:
        with pytest.raises(xmlrpc.client.Fault) as info:
            proxy.execute_kw(*args)
        assert info.value.faultCode == code
        assert info.value.faultString.startswith(text)


def test_legacy_xmlrpc_access_denied_is_a_string_code(odoo: RunningEmulator) -> None:
    proxy = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/object")
    with pytest.raises(xmlrpc.client.Fault) as info:
        proxy.execute_kw("ferry", 2, "bad", "res.partner", "search", [[]])
    fault: tuple[object, object] = (info.value.faultCode, info.value.faultString)
    assert fault == ("AccessDenied", "Access Denied")


def test_login_cooldown(odoo: RunningEmulator) -> None:
    for _ in range(5):
        assert rpc(odoo, "common", "login", "ferry", "admin", "wrong")["result"] is False
    # even the right password is refused during the cooldown
    assert rpc(odoo, "common", "login", "ferry", "admin", "admin")["result"] is False
    data = kw(odoo, "res.partner", "search", [[]])["error"]["data"]
    assert data["name"] == "odoo.exceptions.AccessDenied"
    assert data["message"] == "Too many login failures, please wait a bit before trying again."
    odoo.emulator.auth.reset_cooldown()
    assert rpc(odoo, "common", "login", "ferry", "admin", "admin")["result"] == 2


def test_api_key_and_wrong_credentials(odoo: RunningEmulator) -> None:
    assert rpc(odoo, "common", "authenticate", "ferry", "admin", API_KEY, {})["result"] == 2
    assert "result" in kw(odoo, "res.partner", "search", [[]], password=API_KEY)
    data = kw(odoo, "res.partner", "search", [[]], password="")["error"]["data"]
    assert (data["name"], data["message"]) == ("odoo.exceptions.AccessDenied", "Access Denied")


def test_many2one_read_forms_and_datetimes(odoo: RunningEmulator) -> None:
    rows = kw(
        odoo,
        "res.partner",
        "search_read",
        [[("id", "=", 3)]],
        {"fields": ["company_id", "write_date"]},
    )["result"]
    assert rows[0]["company_id"] == [1, "My Company"]
    assert len(rows[0]["write_date"]) == 19
    bare = kw(odoo, "res.partner", "read", [[3], ["company_id"]], {"load": None})["result"]
    assert bare == [{"id": 3, "company_id": 1}]


def test_session_routes(odoo: RunningEmulator) -> None:
    with httpx.Client(base_url=odoo.url) as client:
        expired = client.post(
            "/web/dataset/call_kw",
            json={
                "jsonrpc": "2.0",
                "params": {"model": "res.partner", "method": "search", "args": [[]], "kwargs": {}},
            },
        )
        assert expired.json()["error"]["code"] == 100
        auth = client.post(
            "/web/session/authenticate",
            json={
                "jsonrpc": "2.0",
                "params": {"db": "ferry", "login": "admin", "password": "admin"},
            },
        )
        assert auth.json()["result"]["uid"] == 2
        assert "session_id" in auth.cookies
        result = client.post(
            "/web/dataset/call_kw/res.partner/search_count",
            json={
                "jsonrpc": "2.0",
                "params": {
                    "model": "res.partner",
                    "method": "search_count",
                    "args": [[]],
                    "kwargs": {},
                },
            },
        )
        assert result.json()["result"] >= 2


def test_json2_status_codes(odoo19: RunningEmulator, odoo: RunningEmulator) -> None:
    headers = {"Authorization": f"bearer {API_KEY}", "X-Odoo-Database": "ferry"}
    url = f"{odoo19.url}/json/2"
    ok = httpx.post(
        f"{url}/res.partner/search_read",
        headers=headers,
        json={"domain": [["id", "=", 3]], "fields": ["name"]},
    )
    assert ok.status_code == 200
    assert ok.json() == [{"id": 3, "name": "Administrator"}]
    unauthorized = httpx.post(
        f"{url}/res.partner/search", json={"domain": []}, headers={"Authorization": "bearer nope"}
    )
    assert unauthorized.status_code == 401
    assert set(unauthorized.json()) == {"name", "message", "arguments", "context", "debug"}
    missing = httpx.post(
        f"{url}/res.partner/write", headers=headers, json={"ids": [99999], "vals": {"name": "x"}}
    )
    assert missing.status_code == 404
    assert missing.json()["name"] == "odoo.exceptions.MissingError"
    invalid = httpx.post(
        f"{url}/sale.order/create", headers=headers, json={"vals_list": [{"note": "x"}]}
    )
    assert invalid.status_code == 422
    assert invalid.json()["name"] == "odoo.exceptions.ValidationError"
    assert httpx.post(f"{url}/res.nope/search", headers=headers, json={}).status_code == 404
    assert (
        httpx.post(
            f"{url}/res.partner/search", headers=headers, json={"ids": [1], "domain": []}
        ).status_code
        == 422
    )
    assert (
        httpx.post(f"{url}/res.partner/search", headers=headers, json={"bogus": 1}).status_code
        == 422
    )
    assert httpx.post(f"{url}/res.partner/_private", headers=headers, json={}).status_code == 403
    # JSON-2 exists from 19.0 only
    assert (
        httpx.post(
            f"{odoo.url}/json/2/res.partner/search", headers=headers, json={"domain": []}
        ).status_code
        == 404
    )


def test_xmlrpc_datetimes_in_domains(odoo: RunningEmulator) -> None:
    proxy = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/object", use_datetime=True)
    pid = proxy.execute_kw("ferry", 2, "admin", "res.partner", "create", [{"name": "XML"}])
    since = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=5)
    found = proxy.execute_kw(
        "ferry",
        2,
        "admin",
        "res.partner",
        "search",
        [[("write_date", ">=", since), ("id", "=", pid)]],
    )
    assert found == [pid]
    rows: Any = proxy.execute_kw(
        "ferry", 2, "admin", "res.partner", "read", [[pid], ["write_date"]]
    )
    assert isinstance(rows[0]["write_date"], str)
    assert len(rows[0]["write_date"]) == 19
