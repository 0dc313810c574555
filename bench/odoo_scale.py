"""Time per order as the Odoo emulator fills up: ``--orders`` sale orders (100,000 by default)
stored through the emulator's service layer (``object.execute_kw``, what every transport
calls) the way the Odoo sink writes them, one order at a time:

- the order's external id in ``ir.model.data`` by (module, name), then ``sale.order`` by
  ``client_order_ref`` (the sink's crash window);
- the products by ``default_code in [...]``;
- the customer by its external id, else by e-mail (``=ilike``), else created with its
  external id (every other order is a new customer, the others order again);
- ``sale.order`` created with 1-3 lines, its external id registered, the order confirmed
  (which creates its delivery).

Prints the time per order of the first and of the last ``--window`` orders (1,000) and their
ratio: the first orders are the baseline measured in the same run, so a ratio near 1 means the
time per order stays flat as the data grows (goal: at most 1.2). A full garbage collection runs,
untimed, before each of the two windows: Python's collections of the oldest generation come in
bursts (each time the heap grew by a quarter), and one landing in a window would say more about
where it fell than about the time per order.

Run: ``python -m bench.odoo_scale [--orders N] [--products P] [--version V] [--data-dir DIR]``.
In memory unless ``--data-dir`` (an empty directory) is given: then every call also commits to
SQLite.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import random
import time
from pathlib import Path
from typing import Any

from sandbox.odoo import EmulatorConfig, OdooEmulator
from sandbox.odoo.seed import ADMIN_UID

MODULE = "ferry"
GOAL = 1.2
LOOKUP_FIELDS = ["module", "name", "model", "res_id"]
ORDER_FIELDS = ["id", "name", "state", "origin", "order_line"]


class Sink:
    """Writes orders as the Odoo sink does, through ``Services.dispatch``."""

    def __init__(self, emulator: OdooEmulator, products: int) -> None:
        self.emulator = emulator
        self.database = emulator.config.database
        self.password = emulator.config.admin_password
        self.codes = [f"BENCH-{n:05d}" for n in range(products)]

    def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        params = [self.database, ADMIN_UID, self.password, model, method, list(args), kwargs]
        return self.emulator.services.dispatch("object", "execute_kw", params, "127.0.0.1")

    def create_products(self) -> None:
        goods = {"type": "consu"} if self.emulator.registry.major >= 18 else {}
        for start in range(0, len(self.codes), 500):
            rows = [
                {"name": f"Bench product {code}", "default_code": code, "list_price": 10.0, **goods}
                for code in self.codes[start : start + 500]
            ]
            self.call("product.product", "create", rows)

    def xmlid(self, name: str) -> dict[str, Any] | None:
        rows = self.call(
            "ir.model.data",
            "search_read",
            [("module", "=", MODULE), ("name", "=", name)],
            LOOKUP_FIELDS,
            limit=1,
        )
        return rows[0] if rows else None

    def register(self, model: str, name: str, res_id: int) -> None:
        self.call(
            "ir.model.data",
            "create",
            {"module": MODULE, "name": name, "model": model, "res_id": res_id},
        )

    def partner(self, email: str) -> int:
        name = "partner_" + hashlib.sha256(email.encode()).hexdigest()[:24]
        known = self.xmlid(name)
        if known is not None:
            return int(known["res_id"])
        rows = self.call(
            "res.partner",
            "search_read",
            [("email", "=ilike", email.replace("_", r"\_"))],
            ["id"],
            order="id asc",
            limit=1,
        )
        if rows:
            return int(rows[0]["id"])
        partner_id = int(self.call("res.partner", "create", {"name": email, "email": email}))
        self.register("res.partner", name, partner_id)
        return partner_id

    def order(self, n: int, customer: int, codes: list[str]) -> None:
        name, ref = f"shop_order_{n}", f"SHOP-{n}"
        if self.xmlid(name) is not None:
            raise RuntimeError(f"{MODULE}.{name} exists already")
        found = self.call(
            "sale.order",
            "search_read",
            [("client_order_ref", "=", ref)],
            ORDER_FIELDS,
            order="id asc",
        )
        if found:
            raise RuntimeError(f"an order {ref} exists already")
        rows = self.call(
            "product.product",
            "search_read",
            [("default_code", "in", sorted(set(codes)))],
            ["id", "default_code"],
            order="id asc",
        )
        products = {str(r["default_code"]): int(r["id"]) for r in rows}
        partner_id = self.partner(f"customer{customer}@bench.example")
        lines = [
            (
                0,
                0,
                {"product_id": products[c], "name": c, "product_uom_qty": 1.0, "price_unit": 9.5},
            )
            for c in codes
        ]
        order_id = int(
            self.call(
                "sale.order",
                "create",
                {
                    "partner_id": partner_id,
                    "client_order_ref": ref,
                    "origin": f"{MODULE}.{name}@2026-01-01T00:00:00Z",
                    "order_line": lines,
                },
            )
        )
        self.register("sale.order", name, order_id)
        self.call("sale.order", "action_confirm", [order_id])


def run(args: argparse.Namespace) -> float:
    """Store the orders; print the figures; return the ratio last / first."""
    data_dir: Path | None = args.data_dir
    emulator = OdooEmulator(EmulatorConfig(version=args.version, data_dir=data_dir))
    try:
        sink = Sink(emulator, args.products)
        sink.create_products()
        rng = random.Random(42)
        window = min(args.window, args.orders // 2) or 1
        where = f"SQLite in {data_dir.name}/" if data_dir else "in memory"
        print(
            f"Odoo {args.version} emulator, service layer, {where}: {args.orders:,} orders, "
            f"{args.products:,} products, 1-3 lines, window of {window:,} orders",
            flush=True,
        )
        step = max(args.orders // 10, window)
        times: list[float] = []
        for n in range(args.orders):
            customer = n // 2 if n % 2 == 0 else rng.randrange(n // 2 + 1)
            codes = rng.sample(sink.codes, rng.randint(1, 3))
            if n in (0, args.orders - window):
                gc.collect()
            start = time.perf_counter()
            sink.order(n, customer, codes)
            times.append(time.perf_counter() - start)
            if (n + 1) % step == 0 and n + 1 >= window:
                recent = sum(times[-window:]) / window
                print(f"  after {n + 1:>9,} orders: {recent * 1000:7.3f} ms/order", flush=True)
    finally:
        emulator.close()
    first = sum(times[:window]) / window
    last = sum(times[-window:]) / window
    ratio = last / first
    print(f"first {window:,} orders: {first * 1000:7.3f} ms/order")
    print(f"last {window:,} orders:  {last * 1000:7.3f} ms/order")
    print(f"ratio last / first: {ratio:.2f} (goal <= {GOAL})")
    print(f"total: {sum(times):.1f} s for {args.orders:,} orders")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--window", type=int, default=1000, help="orders at each end")
    parser.add_argument("--version", default="18.0", choices=("17.0", "18.0", "19.0"))
    parser.add_argument("--data-dir", type=Path, default=None, help="an empty directory")
    parser.add_argument(
        "--max-ratio", type=float, default=None, help="exit 1 if last / first is above it"
    )
    args = parser.parse_args()
    ratio = run(args)
    return 1 if args.max_ratio is not None and ratio > args.max_ratio else 0


if __name__ == "__main__":
    raise SystemExit(main())
