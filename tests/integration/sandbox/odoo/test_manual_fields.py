"""A custom field on sale.order through the wire, as Ferry creates its own at start:
``ir.model`` by ``model``, ``ir.model.fields`` created, then the field used like any other."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

import httpx
import pytest

from sandbox.odoo import RunningEmulator

from .conftest import API_KEY

FIELD = "x_ferry_version"


class JsonRpc:
    def __init__(self, server: RunningEmulator) -> None:
        self.url = f"{server.url}/jsonrpc"

    def __call__(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        params = {
            "service": "object",
            "method": "execute_kw",
            "args": ["ferry", 2, "admin", model, method, list(args), kwargs],
        }
        body = httpx.post(self.url, json={"jsonrpc": "2.0", "method": "call", "params": params})
        reply = body.json()
        if "error" in reply:
            raise RuntimeError(reply["error"]["data"]["name"], reply["error"]["data"]["message"])
        return reply.get("result")


def the_field_lifecycle(call: Any) -> None:
    model_id = call("ir.model", "search", [("model", "=", "sale.order")])[0]
    lookup = [("model", "=", "sale.order"), ("name", "=", FIELD)]
    assert call("ir.model.fields", "search_read", lookup, ["name"]) == []
    field_id = call(
        "ir.model.fields",
        "create",
        {
            "model_id": model_id,
            "name": FIELD,
            "ttype": "char",
            "field_description": "Ferry version",
            "index": True,
            "copied": False,
        },
    )
    rows = call("ir.model.fields", "search_read", lookup, ["name", "ttype", "state"])
    assert rows == [{"id": field_id, "name": FIELD, "ttype": "char", "state": "manual"}]
    partner = call("res.partner", "create", {"name": "Wire customer"})
    order = call("sale.order", "create", {"partner_id": partner, FIELD: "shop@1"})
    call("sale.order", "write", [order], {FIELD: "shop@2"})
    assert call("sale.order", "search", [(FIELD, "=", "shop@2")]) == [order]
    assert call("sale.order", "search", [(FIELD, "=", "shop@1")]) == []
    assert call("sale.order", "read", [order], [FIELD]) == [{"id": order, FIELD: "shop@2"}]
    assert call("sale.order", "fields_get", [FIELD], ["type", "manual"]) == {
        FIELD: {"type": "char", "manual": True}
    }


def test_json_rpc(odoo: RunningEmulator, odoo17: RunningEmulator) -> None:
    for server in (odoo, odoo17):
        call = JsonRpc(server)
        the_field_lifecycle(call)
        with pytest.raises(RuntimeError) as info:
            call(
                "ir.model.fields",
                "create",
                {"model_id": 1, "name": "ferry_version", "ttype": "char", "field_description": "V"},
            )
        assert info.value.args == (
            "odoo.exceptions.ValidationError",
            "The operation cannot be completed: Custom fields must have a name that starts "
            "with 'x_'!",
        )


def test_json2(odoo19: RunningEmulator) -> None:
    headers = {"Authorization": f"bearer {API_KEY}", "X-Odoo-Database": "ferry"}

    def call(model: str, method: str, *args: Any) -> Any:
        names = {
            "search": ["domain"],
            "search_read": ["domain", "fields"],
            "create": ["vals_list"],
            "write": ["ids", "vals"],
            "read": ["ids", "fields"],
            "fields_get": ["allfields", "attributes"],
        }[method]
        response = httpx.post(
            f"{odoo19.url}/json/2/{model}/{method}",
            headers=headers,
            json=dict(zip(names, args, strict=True)),
        )
        assert response.status_code == 200, response.text
        return response.json()

    the_field_lifecycle(lambda *args: call(*args)[0] if args[1] == "create" else call(*args))
    twice = httpx.post(
        f"{odoo19.url}/json/2/ir.model.fields/create",
        headers=headers,
        json={
            "vals_list": [
                {
                    "model_id": call("ir.model", "search", [("model", "=", "sale.order")])[0],
                    "name": FIELD,
                    "ttype": "char",
                    "field_description": "Again",
                }
            ]
        },
    )
    assert twice.status_code == 422
    assert twice.json()["message"] == (
        "The operation cannot be completed: Field names must be unique per model."
    )


def test_xml_rpc(odoo: RunningEmulator) -> None:
    proxy = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/object", allow_none=True)

    def call(model: str, method: str, *args: Any) -> Any:
        return proxy.execute_kw("ferry", 2, "admin", model, method, list(args))

    the_field_lifecycle(call)
