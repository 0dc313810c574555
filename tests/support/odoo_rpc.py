"""A plain JSON-RPC reader of the sandbox Odoo, independent of Ferry's own client."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

_ids = itertools.count(1)


class OdooReader:
    def __init__(self, url: str, api_key: str, database: str = "ferry", login: str = "admin"):
        self._url = url.rstrip("/") + "/jsonrpc"
        self._key = api_key
        self._db = database
        self._login = login
        self._uid: int | None = None
        self._http = httpx.Client(timeout=10.0)

    def close(self) -> None:
        self._http.close()

    def _call(self, service: str, method: str, *args: Any) -> Any:
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": next(_ids),
            "params": {"service": service, "method": method, "args": list(args)},
        }
        reply = self._http.post(self._url, json=body).json()
        if "error" in reply:
            raise RuntimeError(reply["error"]["data"]["message"])
        return reply.get("result")

    def execute_kw(
        self, model: str, method: str, args: list[Any], kwargs: dict[str, Any] | None = None
    ) -> Any:
        if self._uid is None:
            self._uid = self._call("common", "login", self._db, self._login, self._key)
            assert self._uid, "the sandbox Odoo refused the API key"
        return self._call(
            "object",
            "execute_kw",
            self._db,
            self._uid,
            self._key,
            model,
            method,
            args,
            kwargs or {},
        )

    def sale_orders_by_xmlid(self, names: list[str]) -> dict[str, dict[str, Any]]:
        """Sale orders found through their ``ferry.<name>`` external ids, by name."""
        if not names:
            return {}
        links = self.execute_kw(
            "ir.model.data",
            "search_read",
            [[["module", "=", "ferry"], ["model", "=", "sale.order"], ["name", "in", names]]],
            {"fields": ["name", "res_id"]},
        )
        by_id = {link["res_id"]: link["name"] for link in links}
        orders = self.execute_kw(
            "sale.order",
            "read",
            [list(by_id)],
            {"fields": ["state", "client_order_ref", "partner_id", "order_line", "amount_total"]},
        )
        return {by_id[o["id"]]: o for o in orders}

    def count(self, model: str, domain: list[Any]) -> int:
        return int(self.execute_kw(model, "search_count", [domain]))
