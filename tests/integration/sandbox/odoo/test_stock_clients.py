"""Change capture against the emulator, through third-party clients (OdooRPC, odoo-client-lib):
the demo user's writes, stock quantities moved by counts, reservations and deliveries,
``write_date`` ordering, and automation webhooks on quants and products."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import odoolib
import odoorpc
import pytest

from sandbox.odoo import RunningEmulator

WAIT_SECONDS = 5.0


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    """Poll ``condition`` until it returns something truthy (or fail after a while)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class Hooks:
    """An HTTP receiver for the emulator's automation webhooks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bodies: list[dict[str, Any]] = []
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                with hooks._lock:
                    hooks._bodies.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/odoo"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self, model: str) -> list[dict[str, Any]]:
        with self._lock:
            return [b for b in self._bodies if b["_model"] == model]

    def wait(self, model: str, match: Callable[[dict[str, Any]], bool], what: str) -> Any:
        return wait_for(lambda: [b for b in self.bodies(model) if match(b)], what)


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    receiver = Hooks()
    yield receiver
    receiver.server.shutdown()


def rpc_as(server: RunningEmulator, login: str, password: str) -> odoorpc.ODOO:
    client = odoorpc.ODOO("127.0.0.1", port=server.port)
    client.login("ferry", login, password)
    return client


def lib_as(
    server: RunningEmulator, login: str, password: str, protocol: str = "xmlrpc"
) -> odoolib.Connection:
    return odoolib.get_connection(
        hostname="127.0.0.1",
        protocol=protocol,
        port=server.port,
        database="ferry",
        login=login,
        password=password,
    )


def new_key(server: RunningEmulator, login: str) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/__sandbox__/users/{login}/api_key")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def product_id(client: odoorpc.ODOO, code: str) -> int:
    found: list[int] = client.env["product.product"].search([("default_code", "=", code)])
    return found[0]


def quantities(client: odoorpc.ODOO, code: str, **context: Any) -> dict[str, float]:
    products = client.env["product.product"].with_context(**context)
    rows: list[dict[str, Any]] = products.read(
        [product_id(client, code)], ["qty_available", "free_qty", "virtual_available"]
    )
    return {k: v for k, v in rows[0].items() if k != "id"}


def test_demo_user_gets_fresh_api_keys_from_the_control_route(odoo: RunningEmulator) -> None:
    first, second = new_key(odoo, "demo"), new_key(odoo, "demo")
    assert first["login"] == "demo"
    assert re.fullmatch(r"[0-9a-f]{40}", first["key"])
    assert first["key"] != second["key"]
    assert first["uid"] == second["uid"] != 2
    for key in (first["key"], second["key"]):
        conn = lib_as(odoo, "demo", key, "jsonrpc")
        assert conn.get_user_context()["uid"] == first["uid"]
    # the password works too; someone else's key does not
    assert rpc_as(odoo, "demo", "demo").env.uid == first["uid"]
    with pytest.raises(odoorpc.error.RPCError):
        rpc_as(odoo, "admin", first["key"])
    missing = httpx.post(f"{odoo.url}/__sandbox__/users/nobody/api_key")
    assert missing.status_code == 404
    assert new_key(odoo, "admin")["uid"] == 2


@pytest.mark.parametrize("fixture", ["odoo17", "odoo"])
def test_write_uid_is_the_demo_user(fixture: str, request: pytest.FixtureRequest) -> None:
    server: RunningEmulator = request.getfixturevalue(fixture)
    demo = new_key(server, "demo")
    as_demo = lib_as(server, "demo", demo["key"])
    products = as_demo.get_model("product.product")
    (pid,) = products.search([("default_code", "=", "SKU-003")])
    assert products.write([pid], {"list_price": 42.5}) is True
    admin = rpc_as(server, "admin", "admin")
    row = admin.env["product.product"].read(
        [pid], ["write_uid", "create_uid", "write_date", "list_price"]
    )[0]
    assert row["write_uid"] == [demo["uid"], "Marc Demo"]
    assert row["create_uid"][0] != demo["uid"]
    assert row["list_price"] == 42.5
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row["write_date"])
    # and admin's own write is admin's
    admin.env["product.product"].write([pid], {"list_price": 43.0})
    assert admin.env["product.product"].read([pid], ["write_uid"])[0]["write_uid"][0] == 2


def test_demo_over_json2(odoo19: RunningEmulator) -> None:
    demo = new_key(odoo19, "demo")
    conn = odoolib.get_connection(
        hostname="127.0.0.1",
        protocol="json2",
        port=odoo19.port,
        database="ferry",
        password=demo["key"],
    )
    assert conn.get_user_context()["uid"] == demo["uid"]
    partners = conn.get_model("res.partner")
    (pid,) = partners.create({"name": "From Marc"})
    assert partners.read(pid, ["create_uid"])["create_uid"][0] == demo["uid"]


def test_a_count_moves_on_hand_and_free_quantities(odoo: RunningEmulator) -> None:
    client = rpc_as(odoo, "admin", "admin")
    assert quantities(client, "SKU-001") == {
        "qty_available": 100.0,
        "free_qty": 100.0,
        "virtual_available": 100.0,
    }
    warehouse = client.env["stock.warehouse"].search_read([], ["lot_stock_id", "name"])[0]
    quants = client.env["stock.quant"].with_context(inventory_mode=True)
    quant = quants.create(
        {
            "product_id": product_id(client, "SKU-001"),
            "location_id": warehouse["lot_stock_id"][0],
            "inventory_quantity": 120,
        }
    )
    assert client.env["stock.quant"].read([quant], ["inventory_diff_quantity"])[0][
        "inventory_diff_quantity"
    ] == pytest.approx(20.0)
    quants.action_apply_inventory([quant])
    expected = {"qty_available": 120.0, "free_qty": 120.0, "virtual_available": 120.0}
    assert quantities(client, "SKU-001") == expected
    # by warehouse (18 reads ``warehouse_id``), by id or by name; by location
    assert quantities(client, "SKU-001", warehouse_id=warehouse["id"]) == expected
    assert quantities(client, "SKU-001", warehouse_id=warehouse["name"]) == expected
    assert quantities(client, "SKU-001", location="WH/Stock") == expected
    assert quantities(client, "SKU-001", location="Partners/Customers")["qty_available"] == 0
    row = client.env["stock.quant"].read([quant], ["quantity", "inventory_quantity_set"])[0]
    assert (row["quantity"], row["inventory_quantity_set"]) == (120.0, False)


def test_17_reads_the_warehouse_context_key(odoo17: RunningEmulator) -> None:
    client = rpc_as(odoo17, "admin", "admin")
    warehouse = client.env["stock.warehouse"].search([])[0]
    assert quantities(client, "SKU-002", warehouse=warehouse)["qty_available"] == 100.0
    assert quantities(client, "SKU-002", warehouse=warehouse + 99)["qty_available"] == 0.0


@pytest.mark.parametrize("protocol", ["xmlrpc", "jsonrpc"])
def test_reservation_lowers_free_qty_then_validation_lowers_on_hand(
    odoo: RunningEmulator, protocol: str
) -> None:
    conn = lib_as(odoo, "admin", "admin", protocol)
    products = conn.get_model("product.product")
    (pid,) = products.search([("default_code", "=", "SKU-004")])

    def stock() -> tuple[float, float]:
        row = products.read(pid, ["qty_available", "free_qty"], context={"warehouse_id": 1})
        return row["qty_available"], row["free_qty"]

    assert stock() == (100.0, 100.0)
    partner = conn.get_model("res.partner").create({"name": "Shop customer"})
    orders = conn.get_model("sale.order")
    order = orders.create(
        {"partner_id": partner, "order_line": [(0, 0, {"product_id": pid, "product_uom_qty": 12})]}
    )
    assert orders.action_confirm([order]) is True
    assert stock() == (100.0, 88.0)
    pickings = conn.get_model("stock.picking")
    (picking,) = pickings.search([("sale_id", "=", order)])
    assert pickings.read(picking, ["state"])["state"] == "assigned"
    assert pickings.button_validate([picking]) is True
    assert pickings.read(picking, ["state"])["state"] == "done"
    assert stock() == (88.0, 88.0)


def test_write_date_order_within_one_second(odoo: RunningEmulator) -> None:
    """``write_date`` reads back at whole seconds but sorts at the stored microseconds: two
    writes in one second sort by when they happened; only records written by one call share
    a ``write_date`` exactly, and then the ids break the tie."""
    conn = lib_as(odoo, "admin", "admin")
    products = conn.get_model("product.product")
    low = products.search([("default_code", "=", "SKU-001")])[0]
    high = products.search([("default_code", "=", "SKU-005")])[0]
    assert low < high

    def stamps() -> dict[int, str]:
        rows = products.read([low, high], ["write_date"])
        return {r["id"]: r["write_date"] for r in rows}

    def two_writes_in_one_second() -> dict[int, str] | None:
        products.write([high], {"list_price": 11.0})
        products.write([low], {"list_price": 12.0})
        found = stamps()
        return found if found[low] == found[high] else None

    second = wait_for(two_writes_in_one_second, "two writes within one second")[low]

    def ordered(domain: list[Any]) -> list[int]:
        rows = odoo_search_read(conn, "product.product", domain)
        return [r["id"] for r in rows if r["id"] in (low, high)]

    assert ordered([("write_date", ">=", second)]) == [high, low]
    # one call: one write_date for both
    products.write([high, low], {"list_price": 13.0})
    both = stamps()
    assert both[low] == both[high]
    assert ordered([("write_date", ">=", both[low])]) == [low, high]


def odoo_search_read(
    conn: odoolib.Connection, model: str, domain: list[Any]
) -> list[dict[str, Any]]:
    conn.check_login(False)
    rows: list[dict[str, Any]] = conn.get_service("object").execute_kw(
        "ferry",
        conn.user_id,
        conn.password,
        model,
        "search_read",
        [domain],
        {"fields": ["write_date", "write_uid"], "order": "write_date asc, id asc"},
    )
    return rows


def test_quants_polled_by_write_date(odoo: RunningEmulator) -> None:
    """A change-capture poll: ``search_read`` on ``stock.quant`` with ``write_date >=`` a
    watermark, ordered by ``write_date, id``, finds the quants a delivery touched."""
    conn = lib_as(odoo, "admin", "admin", "jsonrpc")
    before = odoo_search_read(conn, "stock.quant", [])
    watermark = max(r["write_date"] for r in before)
    partner = conn.get_model("res.partner").create({"name": "Poller"})
    (pid,) = conn.get_model("product.product").search([("default_code", "=", "SKU-002")])
    orders = conn.get_model("sale.order")
    order = orders.create(
        {"partner_id": partner, "order_line": [(0, 0, {"product_id": pid, "product_uom_qty": 3})]}
    )
    orders.action_confirm([order])
    changed = odoo_search_read(conn, "stock.quant", [("write_date", ">=", watermark)])
    # in write_date order; within one second by the stored microseconds, not by id
    stamps = [r["write_date"] for r in changed]
    assert stamps == sorted(stamps)
    # rows of the watermark's own second come again (the poller dedupes on (id, write_date));
    # the quant the reservation wrote is the newest
    quants = conn.get_model("stock.quant")
    newest = quants.read(changed[-1]["id"], ["product_id", "reserved_quantity", "write_date"])
    assert (newest["product_id"][0], newest["reserved_quantity"]) == (pid, 3.0)
    assert newest["write_date"] >= watermark


def test_webhooks_for_quant_and_product_changes(odoo: RunningEmulator, hooks: Hooks) -> None:
    for model, fields in (
        ("stock.quant", ["product_id", "location_id", "quantity", "reserved_quantity"]),
        ("product.product", ["default_code", "lst_price"]),
    ):
        response = httpx.post(
            f"{odoo.url}/__sandbox__/webhooks",
            json={"model": model, "url": hooks.url, "fields": fields, "name": "Ferry"},
        )
        assert response.status_code == 200
    admin = rpc_as(odoo, "admin", "admin")
    sku = product_id(admin, "SKU-003")
    stock = admin.env["stock.warehouse"].search_read([], ["lot_stock_id"])[0]["lot_stock_id"][0]
    quants = admin.env["stock.quant"].with_context(inventory_mode=True)
    quant = quants.create({"product_id": sku, "location_id": stock, "inventory_quantity": 40})
    quants.action_apply_inventory([quant])
    counted = hooks.wait(
        "stock.quant",
        lambda b: b["_id"] == quant and b["quantity"] == 40.0,
        "the counted quant's webhook",
    )[0]
    assert counted["_action"].startswith("Ferry(#")
    assert (counted["product_id"], counted["location_id"]) == (sku, stock)

    partner = admin.env["res.partner"].create({"name": "Hooked buyer"})
    order = admin.env["sale.order"].create(
        {"partner_id": partner, "order_line": [(0, 0, {"product_id": sku, "product_uom_qty": 5})]}
    )
    admin.env["sale.order"].action_confirm([order])
    hooks.wait(
        "stock.quant",
        lambda b: b["_id"] == quant and b["reserved_quantity"] == 5.0,
        "the reservation's webhook",
    )

    demo = new_key(odoo, "demo")
    as_demo = lib_as(odoo, "demo", demo["key"], "jsonrpc").get_model("product.product")
    as_demo.write([sku], {"lst_price": 55.0})
    hooks.wait(
        "product.product",
        lambda b: b["_id"] == sku and b["lst_price"] == 55.0,
        "the product write's webhook",
    )
    created = as_demo.create({"name": "Desk Mat", "default_code": "SKU-006"})
    body = hooks.wait("product.product", lambda b: b["_id"] == created, "the product create")[0]
    assert body == {
        "_action": body["_action"],
        "_id": created,
        "_model": "product.product",
        "default_code": "SKU-006",
        "id": created,
        "lst_price": 1.0,
    }
    # on-hand changes are not product writes: no product webhook for the count
    assert all(b["_id"] != sku or b["lst_price"] == 55.0 for b in hooks.bodies("product.product"))
