"""A stand-in Odoo for reading Ferry's sale orders: ``search_read`` only, in memory."""

from __future__ import annotations

from typing import Any

from consumers.odoo.reconcile import Line

__all__ = ["OdooOrders"]


class OdooOrders:
    """``search_read`` over ``count`` of Ferry's sale orders, as the sandbox answers it.

    Order ``n`` (from 0) has the external id ``ferry.shop_order_<prefix><n>`` (``ir.model.data``
    row ``10 + n``), the id ``1000 + n``, state ``sale`` and ``lines`` (product ``k + 1`` for
    line ``k``). ``ir.model.data`` is read by id after the last seen (``limit`` rows at most)
    or by name; ``calls`` keeps each read's model and limit, ``details_of`` the order ids whose
    state was read.
    """

    def __init__(self, count: int, lines: list[Line], *, prefix: str = "") -> None:
        self.count = count
        self.lines = lines
        self.prefix = prefix
        self.calls: list[tuple[str, int | None]] = []
        self.details_of: list[int] = []

    def _row(self, n: int) -> dict[str, Any]:
        return {"id": 10 + n, "name": f"shop_order_{self.prefix}{n}", "res_id": 1000 + n}

    async def search_read(
        self,
        model: str,
        domain: Any = (),
        fields: Any = None,
        *,
        limit: int | None = None,
        order: str | None = None,
        **_: Any,
    ) -> list[dict[str, Any]]:
        self.calls.append((model, limit))
        where = {clause[0]: clause[2] for clause in domain}
        if model == "ir.model.data":
            if "name" in where:
                numbers = (name.removeprefix(f"shop_order_{self.prefix}") for name in where["name"])
                found = sorted(int(n) for n in numbers if n.isdigit())
                return [self._row(n) for n in found if n < self.count]
            first = max(int(where["id"]) - 9, 0)  # row 10 + n: n from first on
            last = self.count if limit is None else min(first + limit, self.count)
            return [self._row(n) for n in range(first, last)]
        if model == "sale.order":
            self.details_of.extend(where["id"])
            return [{"id": i, "state": "sale"} for i in where["id"]]
        if model == "sale.order.line":
            return [
                {"order_id": [i, ""], "product_id": [k + 1, ""], "product_uom_qty": quantity,
                 "price_unit": price}
                for i in where["order_id"]
                for k, (_, quantity, price) in enumerate(self.lines)
            ]  # fmt: skip
        return [{"id": k + 1, "default_code": code} for k, (code, _, _) in enumerate(self.lines)]
