"""A tiny Odoo behind ``httpx.MockTransport``: just the models and calls the sale order sink
uses, with a hook to fail a chosen call (to cut the applier between two of its calls)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from ferry.odoo import OdooClient
from sandbox.odoo.orm.domain import like_regex

URL = "http://odoo.test"
KEY = "0123456789abcdef0123456789abcdef01234567"


class Crash(Exception):
    """Raised by a hook: the call fails *after* Odoo committed it (the sink dies there)."""


def _like(pattern: str, value: Any) -> bool:
    """Odoo's ``=ilike``, with the emulator's translation of ``%`` and ``_``."""
    return isinstance(value, str) and like_regex(pattern, True, False).fullmatch(value) is not None


@dataclass
class MiniOdoo:
    tables: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    after: dict[tuple[str, str], Callable[[Any], None]] = field(default_factory=dict)
    api_key: str = KEY
    down: bool = False
    _next: int = 100

    def __post_init__(self) -> None:
        self.insert("res.country", {"code": "BE", "name": "Belgium"})
        self.insert("res.currency", {"name": "EUR", "active": True})
        usd = self.insert("res.currency", {"name": "USD", "active": True})
        self.insert("res.currency", {"name": "XAU", "active": False})
        # The company's default pricelist (18's res.company._get_default_pricelist_vals).
        self.insert(
            "product.pricelist",
            {"name": "Default", "currency_id": usd, "active": True, "company_id": 1},
        )
        for i in range(1, 6):
            self.insert("product.product", {"default_code": f"SKU-00{i}", "active": True})

    def insert(self, model: str, vals: dict[str, Any]) -> int:
        self._next += 1
        row = {"id": self._next, **vals}
        self.tables.setdefault(model, {})[self._next] = row
        if model == "sale.order":
            row.setdefault("state", "draft")
            row.setdefault("order_line", [])
            row.setdefault("name", f"S{self._next:05d}")
        return self._next

    def rows(self, model: str) -> list[dict[str, Any]]:
        return list(self.tables.get(model, {}).values())

    def currency_of(self, order: dict[str, Any]) -> str:
        """``sale.order.currency_id`` as Odoo computes it: the pricelist's currency (else the
        company's, USD here), as a code."""
        pricelist = self.tables.get("product.pricelist", {}).get(order.get("pricelist_id") or 0)
        if pricelist is None:
            return "USD"
        return str(self.tables["res.currency"][pricelist["currency_id"]]["name"])

    def client(self) -> OdooClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.handle))
        return OdooClient(URL, "ferry", "admin", self.api_key, protocol="jsonrpc", http=http)

    # -- the wire ----------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            return httpx.Response(503, text="down")
        body = json.loads(request.content)
        params = body["params"]
        service, method, args = params["service"], params["method"], params["args"]
        try:
            if service == "common":
                if method == "version":
                    result: Any = {"server_version": "17.0", "server_version_info": [17, 0]}
                else:
                    result = 2 if args[2] == KEY else False
            else:
                if args[2] != KEY:
                    return self._error("odoo.exceptions.AccessDenied", "Access Denied")
                model, name, margs, kwargs = args[3], args[4], args[5], args[6]
                self.calls.append((model, name))
                result = self._call(model, name, margs, kwargs)
                hook = self.after.get((model, name))
                if hook is not None:
                    hook(result)
        except Crash:
            return httpx.Response(503, text="the sink died here")
        except LookupError as exc:
            return self._error("odoo.exceptions.ValidationError", str(exc))
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": result})

    def _error(self, name: str, message: str) -> httpx.Response:
        error = {
            "code": 200,
            "message": "Odoo Server Error",
            "data": {"name": name, "message": message},
        }
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": 1, "error": error})

    def _call(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        context = kwargs.get("context") or {}
        if method == "search_read":
            found = self._search(model, kwargs.get("domain", []), context)
            if kwargs.get("limit"):
                found = found[: kwargs["limit"]]
            return [self._read(model, r, kwargs.get("fields")) for r in found]
        if method == "search":
            found = self._search(model, args[0], context)
            return [r["id"] for r in found[: kwargs.get("limit") or None]]
        if method == "read":
            table = self.tables.get(model, {})
            return [
                self._read(model, table[i], kwargs.get("fields")) for i in args[0] if i in table
            ]
        if method == "create":
            return self._create(model, args[0])
        if method == "write":
            for i in args[0]:
                self._write(model, i, args[1])
            return True
        if method == "unlink":
            for i in args[0]:
                self.tables[model].pop(i)
            return True
        if method == "action_cancel":
            for i in args[0]:
                row = self.tables[model][i]
                if row.get("locked"):
                    raise LookupError("You cannot cancel a locked order. Please unlock it first.")
                if row["state"] != "draft" and not context.get("disable_cancel_warning"):
                    return {"res_model": "sale.order.cancel", "type": "ir.actions.act_window"}
                row["state"] = "cancel"
            return True
        if method == "action_confirm":
            for i in args[0]:
                row = self.tables[model][i]
                if row["state"] not in ("draft", "sent"):
                    raise LookupError("not in a state requiring confirmation")
                row["state"] = "sale"
            return True
        raise LookupError(f"unknown method {model}.{method}")

    def _create(self, model: str, vals: dict[str, Any]) -> int:
        if model == "ir.model.data":
            for row in self.rows(model):
                if (row["module"], row["name"]) == (vals["module"], vals["name"]):
                    raise LookupError("duplicate key value violates unique constraint")
        lines = vals.pop("order_line", None)
        new_id = self.insert(model, dict(vals))
        if lines is not None:
            self._write(model, new_id, {"order_line": lines})
        return new_id

    def _write(self, model: str, rec_id: int, vals: dict[str, Any]) -> None:
        row = self.tables[model][rec_id]
        for key, value in vals.items():
            if key != "order_line":
                row[key] = value
                continue
            for command in value:
                if command[0] == 0:
                    line = self.insert("sale.order.line", {**command[2], "order_id": rec_id})
                    row["order_line"].append(line)
                elif command[0] == 1:
                    self.tables["sale.order.line"][command[1]].update(command[2])
                elif command[0] == 2:
                    self.tables["sale.order.line"].pop(command[1])
                    row["order_line"].remove(command[1])

    def _search(
        self, model: str, domain: list[Any], context: dict[str, Any]
    ) -> list[dict[str, Any]]:
        out = []
        for row in self.rows(model):
            if context.get("active_test", True) and row.get("active") is False:
                continue
            if all(self._match(row, term) for term in domain):
                out.append(row)
        return out

    @staticmethod
    def _match(row: dict[str, Any], term: list[Any]) -> bool:
        name, op, value = term
        have = row.get(name, False)
        if op == "=":
            return bool(have == value)
        if op == "in":
            return have in value
        if op == "=ilike":
            return _like(value, have)
        raise LookupError(f"operator {op}")

    @staticmethod
    def _read(model: str, row: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
        wanted = fields or list(row)
        out = {"id": row["id"]}
        for name in wanted:
            out[name] = row.get(name, False)
        return out
