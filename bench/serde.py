"""Encode + decode throughput of the Avro serde against json.dumps/json.loads, in one run.

Run: ``python -m bench.serde [--seconds S]``. The baseline serialises the same dict with
``json.dumps(record, default=str)`` and parses it back with ``json.loads``; it is flattered, as
it turns decimals and timestamps into strings and never rebuilds them.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ferry.schemas import default_registry
from ferry.serde import ConfluentSerde, SingleObjectSerde

EVENT_TYPE = "shop.order.created"


def sample_order(lines: int = 3) -> dict[str, Any]:
    now = datetime(2024, 5, 1, 12, 30, 15, 123000, tzinfo=UTC)
    return {
        "order_id": "820982911946154508",
        "order_name": "#1001",
        "customer": {"email": "jon@example.com", "first_name": "Jon", "last_name": "Snow"},
        "currency": "EUR",
        "lines": [
            {
                "line_id": str(466157049 + i),
                "sku": f"SKU-{i:04d}",
                "title": f"Product {i}",
                "quantity": i + 1,
                "unit_price": Decimal("19.9900"),
            }
            for i in range(lines)
        ],
        "shipping_address": {
            "name": "Jon Snow",
            "address1": "Hauptstr. 1",
            "address2": None,
            "city": "Berlin",
            "zip": "10115",
            "province": None,
            "country_code": "DE",
        },
        "totals": {
            "subtotal": Decimal("119.9400"),
            "tax": Decimal("22.7900"),
            "shipping": Decimal("4.9900"),
            "total": Decimal("147.7200"),
        },
        "created_at": now,
        "updated_at": now,
        "source_delivery_id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "note": None,
        "tags": ["vip"],
        "taxes_included": False,
    }


def _rate(round_trip: Callable[[], object], seconds: float) -> float:
    """Round trips per second, measured for about ``seconds``."""
    for _ in range(200):  # warm caches
        round_trip()
    count, batch = 0, 500
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(batch):
            round_trip()
        count += batch
    return count / elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args(argv)

    record = sample_order()
    registry = default_registry()
    single = SingleObjectSerde(registry)
    latest = registry.latest(EVENT_TYPE)
    confluent = ConfluentSerde({1: (EVENT_TYPE, latest.version)}, registry)
    v1_bytes = single.encode(EVENT_TYPE, record, version=1)

    def avro_single() -> object:
        return single.decode(single.encode(EVENT_TYPE, record))

    def avro_confluent() -> object:
        return confluent.decode(confluent.encode(EVENT_TYPE, record))

    def avro_resolving() -> object:  # a v1 writer read by the v2 reader, plus a v2 encode
        single.encode(EVENT_TYPE, record)
        return single.decode(v1_bytes)

    def json_baseline() -> object:
        return json.loads(json.dumps(record, default=str))

    assert avro_single().record == record  # type: ignore[attr-defined]
    sizes = (len(single.encode(EVENT_TYPE, record)), len(json.dumps(record, default=str)))

    baseline = _rate(json_baseline, args.seconds)
    print(f"record: {EVENT_TYPE} v{latest.version}, {len(record['lines'])} lines")
    print(f"size: avro single-object {sizes[0]} B, json {sizes[1]} B")
    print(f"{'json dumps+loads (baseline)':<34} {baseline:>10,.0f} round trips/s")
    for name, fn in [
        ("avro single-object encode+decode", avro_single),
        ("avro confluent encode+decode", avro_confluent),
        ("avro encode + v1->v2 resolving read", avro_resolving),
    ]:
        rate = _rate(fn, args.seconds)
        print(f"{name:<34} {rate:>10,.0f} round trips/s  ratio to json {rate / baseline:.2f}x")


if __name__ == "__main__":
    main()
