"""Reconciliation: does the target hold what the source says? (``ferry reconcile``)

For a flow into Odoo sale orders: the latest source record of each key is read from the flow's
source topic and put through the flow's own validation and mapping, which gives the command
the sink was to apply (external id, lines, cancelled or not). Odoo is then read by external id,
and each order is judged:

- ``missing``: the source has it (valid), Odoo has no order under its external id;
- ``different``: Odoo's order differs (its state, or its lines: product, quantity, unit price);
- ``unexpected``: Odoo has an order under a Ferry external id that no source record explains.

Records that fail validation are dead letters (``ferry dlq``), not mismatches. ``--repair``
replays the latest source record of each missing or different order through the normal path;
the sink's version guard decides (a change made in Odoo, the owner of sale orders, to an order
whose source did not change is reported, not overwritten).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import ConsumerRecord

from ferry.errors import FerryError
from ferry.flow import Flow
from ferry.kafka import KafkaTarget
from ferry.odoo.client import OdooClient
from ferry.reconcile import Job, Mismatch, Report, latest_records
from ferry.serde import Serde

__all__ = [
    "Expected",
    "Found",
    "expected_orders",
    "judge",
    "odoo_external_ids",
    "odoo_orders",
    "reconcile",
]

MODULE = "ferry"
EVENT_TYPE = "odoo.sale_order.upsert"
CHUNK = 500

Line = tuple[str, float, float]  # product code, quantity, unit price


@dataclass(frozen=True, slots=True)
class Expected:
    external_id: str
    state: str  # "sale" or "cancel"
    lines: tuple[Line, ...]
    record: ConsumerRecord[bytes, bytes]


@dataclass(frozen=True, slots=True)
class Found:
    external_id: str
    state: str
    lines: tuple[Line, ...]


def _lines(order_lines: Iterable[dict[str, Any]]) -> tuple[Line, ...]:
    return tuple(
        sorted(
            (
                str(line["default_code"]),
                round(float(line["product_uom_qty"]), 3),
                round(float(line["price_unit"]), 4),
            )
            for line in order_lines
            if float(line["product_uom_qty"]) > 0
        )
    )


async def expected_orders(
    kafka: KafkaTarget, flow: Flow, serde: Serde, *, since: datetime | None = None
) -> tuple[dict[str, Expected], int]:
    """External id → what Odoo should hold, from the latest valid source record per key; and
    the number of keys whose latest record fails validation or mapping."""
    expected: dict[str, Expected] = {}
    invalid = 0
    async for want in _expected(kafka, flow, serde, since=since):
        if want is None:
            invalid += 1
        else:
            expected[want.external_id] = want
    return expected, invalid


async def _expected(
    kafka: KafkaTarget, flow: Flow, serde: Serde, *, since: datetime | None = None
) -> AsyncIterator[Expected | None]:
    """What Odoo should hold for each key's latest source record, one at a time; ``None`` for
    a record that fails validation or mapping."""
    async for record in latest_records(kafka, flow.source.topic, since=since):
        try:
            decoded = serde.decode(record.value)
            flow.validate(decoded.record)
            command = flow.map(decoded.record)
        except (FerryError, ArithmeticError, ValueError):
            yield None
            continue
        if command is None:
            continue
        lines = _lines(command["order_lines"])
        state = "cancel" if command.get("cancel") else "sale"
        yield Expected(str(command["external_id"]), state, lines, record)


async def odoo_orders(
    odoo: OdooClient, external_ids: Sequence[str] | None = None
) -> dict[str, Found]:
    """Ferry's sale orders in Odoo (those of ``external_ids``, or all under module ferry),
    read ``CHUNK`` at a time: memory holds the compact :class:`Found` of each order and one
    chunk of Odoo's rows."""
    found: dict[str, Found] = {}
    async for rows in _external_ids(odoo, external_ids):
        await _read_orders(odoo, {int(r["res_id"]): f"{MODULE}.{r['name']}" for r in rows}, found)
    return found


async def odoo_external_ids(odoo: OdooClient) -> set[str]:
    """The external id of every Ferry sale order in Odoo, read ``CHUNK`` at a time."""
    found: set[str] = set()
    async for rows in _external_ids(odoo, None):
        found.update(f"{MODULE}.{r['name']}" for r in rows)
    return found


async def _external_ids(
    odoo: OdooClient, external_ids: Sequence[str] | None
) -> AsyncIterator[list[dict[str, Any]]]:
    """Ferry's ``ir.model.data`` rows of sale orders, a chunk at a time (all of them in id
    order, each chunk after the last id seen; or those named in ``external_ids``)."""
    domain: list[Any] = [["module", "=", MODULE], ["model", "=", "sale.order"]]
    if external_ids is None:
        last = 0
        while True:
            rows = await odoo.search_read(
                "ir.model.data",
                [*domain, ["id", ">", last]],
                ["name", "res_id"],
                limit=CHUNK,
                order="id",
            )
            if rows:
                yield rows
            if len(rows) < CHUNK:
                return
            last = max(int(r["id"]) for r in rows)
    else:
        names = [e.split(".", 1)[1] for e in external_ids]
        for start in range(0, len(names), CHUNK):
            chunk = [*domain, ["name", "in", names[start : start + CHUNK]]]
            rows = await odoo.search_read("ir.model.data", chunk, ["name", "res_id"])
            if rows:
                yield rows


async def _read_orders(odoo: OdooClient, by_id: dict[int, str], found: dict[str, Found]) -> None:
    """Put the :class:`Found` of each order of ``by_id`` (order id → external id) in ``found``."""
    chunk_ids = sorted(by_id)
    orders = await odoo.search_read("sale.order", [["id", "in", chunk_ids]], ["state"])
    lines = await odoo.search_read(
        "sale.order.line",
        [["order_id", "in", chunk_ids]],
        ["order_id", "product_id", "product_uom_qty", "price_unit"],
    )
    products = sorted({int(line["product_id"][0]) for line in lines if line.get("product_id")})
    codes = {
        int(p["id"]): str(p.get("default_code") or "")
        for p in (
            await odoo.search_read("product.product", [["id", "in", products]], ["default_code"])
            if products
            else []
        )
    }
    per_order: dict[int, list[dict[str, Any]]] = {}
    for line in lines:
        product = line.get("product_id")
        code = codes.get(int(product[0]), "") if product else ""
        per_order.setdefault(int(line["order_id"][0]), []).append({**line, "default_code": code})
    for order in orders:
        external_id = by_id[int(order["id"])]
        found[external_id] = Found(
            external_id, str(order["state"]), _lines(per_order.get(int(order["id"]), []))
        )


def judge(
    flow: str,
    expected: dict[str, Expected],
    found: dict[str, Found],
    invalid: int,
    *,
    all_of_target: bool,
) -> Report:
    report = Report(flow, checked=len(expected), invalid=invalid)
    for external_id, want in sorted(expected.items()):
        have = found.get(external_id)
        if have is None:
            report.mismatches.append(Mismatch("missing", external_id, "no sale order", want.record))
        elif have.state != want.state:
            report.mismatches.append(
                Mismatch(
                    "different",
                    external_id,
                    f"state {have.state}, expected {want.state}",
                    want.record,
                )
            )
        elif have.lines != want.lines:
            detail = f"lines {list(have.lines)}, expected {list(want.lines)}"
            report.mismatches.append(Mismatch("different", external_id, detail, want.record))
    if all_of_target:
        for external_id in sorted(set(found) - set(expected)):
            report.mismatches.append(
                Mismatch("unexpected", external_id, "no source record explains it")
            )
    return report


async def reconcile(job: Job) -> Report | None:
    """The flow's source against Odoo's sale orders (None for a flow into anything else).

    The source is judged ``CHUNK`` orders at a time against those orders read from Odoo, so
    memory holds one chunk of source records and of Odoo's orders, and the mismatches, never
    every order. A run that covers all of Odoo's side (to find ``unexpected`` orders) also
    holds the external id of each of Ferry's orders there, and nothing more of them."""
    if job.flow.target.event_type != EVENT_TYPE:
        return None
    odoo = job.target.odoo
    unexplained = await odoo_external_ids(odoo) if job.since is None else None
    report = Report(job.flow.name)
    chunk: dict[str, Expected] = {}

    async def judge_chunk() -> None:
        found = await odoo_orders(odoo, sorted(chunk))
        part = judge(job.flow.name, chunk, found, 0, all_of_target=False)
        report.checked += part.checked
        report.mismatches += part.mismatches
        if unexplained is not None:
            unexplained.difference_update(chunk)  # what is left is unexpected
        chunk.clear()

    async for want in _expected(job.kafka, job.flow, job.serde, since=job.since):
        if want is None:
            report.invalid += 1
            continue
        chunk[want.external_id] = want
        if len(chunk) >= CHUNK:
            await judge_chunk()
    if chunk:
        await judge_chunk()
    if unexplained is not None:
        for external_id in sorted(unexplained):
            report.mismatches.append(
                Mismatch("unexpected", external_id, "no source record explains it")
            )
    return report
