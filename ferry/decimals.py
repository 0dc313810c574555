"""The schemas' money rule, ``decimal(18, 4)``, enforced in one place."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ferry.errors import ValidationError

__all__ = ["MONEY_PRECISION", "MONEY_SCALE", "money"]

MONEY_PRECISION = 18
MONEY_SCALE = 4
_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)  # 0.0001
_LIMIT = Decimal(10) ** (MONEY_PRECISION - MONEY_SCALE)  # 14 digits before the point


def money(value: Any, field: str) -> Decimal:
    """``value`` as an exact ``Decimal`` of scale 4 that fits ``decimal(18, 4)``.

    Raises :class:`ValidationError` naming ``field`` and the rule it broke: not a finite
    decimal, more than 4 decimal places, more than 14 digits before the point.
    """
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValidationError(field, "a finite decimal amount", value)
    if abs(value) >= _LIMIT:
        raise ValidationError(
            field,
            f"at most {MONEY_PRECISION - MONEY_SCALE} digits before the decimal point",
            str(value),
        )
    try:
        exact = value.quantize(_QUANTUM)
    except InvalidOperation:
        raise ValidationError(field, "a finite decimal amount", str(value)) from None
    if exact != value:
        raise ValidationError(field, f"at most {MONEY_SCALE} decimal places", str(value))
    return exact
