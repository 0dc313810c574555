"""The rules a ``carrier.parcel.scanned`` record must meet."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ferry.errors import ValidationError

__all__ = ["validate_scan"]

DEPOT = re.compile(r"^[A-Z]{3}-[0-9]$")


def validate_scan(record: Mapping[str, Any]) -> None:
    if record["weight_g"] <= 0:
        raise ValidationError("weight_g", "greater than zero", record["weight_g"])
    if not DEPOT.match(record["depot"]):
        raise ValidationError("depot", "three capitals, a dash, a digit", record["depot"])
