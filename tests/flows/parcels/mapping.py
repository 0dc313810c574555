"""``carrier.parcel.scanned`` → ``ledger.parcel.record``: grams become kilograms."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ferry.decimals import money

__all__ = ["scan_to_record"]


def scan_to_record(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "parcel_id": record["parcel_id"],
        "weight_kg": money(Decimal(record["weight_g"]) / 1000, "weight_g"),
        "depot": record["depot"],
        "version": record["scanned_at"],
    }
