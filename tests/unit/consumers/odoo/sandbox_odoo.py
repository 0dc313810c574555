"""The sandbox Odoo in this process: its ASGI app behind ``httpx``, counting the model calls
it is sent. A call can be held back: the client times out at once, and the call runs (and
commits) only when the test says so (a transaction Odoo commits after the client gave up)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from ferry.odoo import OdooClient
from sandbox.odoo import EmulatorConfig, OdooEmulator, create_app
from sandbox.odoo.seed import ADMIN_UID

URL = "http://odoo.test"
KEY = "0123456789abcdef0123456789abcdef01234567"

Call = tuple[str, str]


def model_call(request: httpx.Request) -> Call | None:
    """``(model, method)`` of an ``object.execute_kw`` request over JSON-RPC."""
    if request.url.path != "/jsonrpc":
        return None
    params = json.loads(request.content).get("params", {})
    if (params.get("service"), params.get("method")) != ("object", "execute_kw"):
        return None
    args = params["args"]
    return str(args[3]), str(args[4])


class SandboxOdoo(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.emulator = OdooEmulator(EmulatorConfig(api_keys=[KEY]))
        self._app = httpx.ASGITransport(app=create_app(self.emulator))
        self.calls: list[Call] = []
        self.hold: dict[Call, int] = {}  # the next N such calls are held back
        self.held: list[httpx.Request] = []
        self.before: dict[Call, Callable[[], None]] = {}  # runs once, just before such a call

    def client(self, key: str = KEY) -> OdooClient:
        http = httpx.AsyncClient(transport=self)
        return OdooClient(URL, "ferry", "admin", key, protocol="jsonrpc", http=http)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        call = model_call(request)
        if call is not None:
            self.calls.append(call)
            hook = self.before.pop(call, None)
            if hook is not None:
                hook()
            if self.hold.get(call, 0) > 0:
                self.hold[call] -= 1
                self.held.append(request)
                raise httpx.ReadTimeout("timed out waiting for Odoo's answer", request=request)
        return await self._app.handle_async_request(request)

    async def run_held(self) -> None:
        """The held calls run now (their transactions commit; nobody reads the answers)."""
        held, self.held = self.held, []
        for request in held:
            again = httpx.Request(
                request.method, request.url, headers=request.headers, content=request.content
            )
            response = await self._app.handle_async_request(again)
            await response.aread()
            assert "error" not in json.loads(response.content), response.content

    def count(self, model: str | None = None, method: str | None = None) -> int:
        return sum(
            1
            for m, name in self.calls
            if (model is None or m == model) and (method is None or name == method)
        )

    def writes(self) -> list[Call]:
        reads = {"search_read", "read", "search", "search_count", "fields_get"}
        return [call for call in self.calls if call[1] not in reads]

    def rows(self, model: str) -> list[dict[str, Any]]:
        return [{"id": i, **row} for i, row in self.emulator.store.tables[model].items()]

    def sale_orders_of(self, external_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """The sale orders each ``ferry.<name>`` points at, and any other order carrying its
        stamp (there should be none)."""
        links = {
            f"{r['module']}.{r['name']}": r["res_id"]
            for r in self.rows("ir.model.data")
            if r["model"] == "sale.order"
        }
        orders = self.rows("sale.order")
        out: dict[str, list[dict[str, Any]]] = {}
        for xmlid in external_ids:
            stamped = [
                o for o in orders if str(o.get("x_ferry_version") or "").startswith(xmlid + "@")
            ]
            linked = [o for o in orders if o["id"] == links.get(xmlid)]
            out[xmlid] = linked + [o for o in stamped if o not in linked]
        return out

    def run(self, func: Callable[[Any], Any]) -> Any:
        """``func(env)`` in one transaction, as the admin (another writer, an operator)."""
        return self.emulator.registry.run(ADMIN_UID, {}, func)

    def add_products(self, codes: Sequence[str]) -> list[int]:
        vals = [{"name": f"Product {code}", "default_code": code} for code in codes]
        ids: list[int] = self.run(lambda env: env["product.product"].create(vals))
        return ids

    def close(self) -> None:
        self.emulator.close()
