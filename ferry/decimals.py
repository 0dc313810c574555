"""The schemas' money rule, ``decimal(18, 4)``, enforced in one place; strict decimal text."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from ferry.errors import ValidationError

__all__ = [
    "DECIMAL_SYNTAX_RULE",
    "MAX_DECIMAL_CHARS",
    "MONEY_PRECISION",
    "MONEY_SCALE",
    "money",
    "parse_decimal",
]

MONEY_PRECISION = 18
MONEY_SCALE = 4
_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)  # 0.0001
_INTEGER_DIGITS = MONEY_PRECISION - MONEY_SCALE  # 14 digits before the point

DECIMAL_SYNTAX_RULE = "decimal string"
MAX_DECIMAL_CHARS = 100
# ASCII digits only (``[0-9]``, never ``\d``), an optional sign, fraction and exponent; no
# ``_``, no whitespace, no ``NaN``/``Infinity``, no ``.5`` or ``5.``.
_DECIMAL_TEXT = re.compile(r"[-+]?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]{1,9})?")


def parse_decimal(text: str, field: str) -> Decimal:
    """``text`` (``"19.99"``, ``"-3"``, ``"1.5e2"``) as a ``Decimal``, read strictly.

    Raises :class:`ValidationError` naming ``field`` and the rule ``decimal string`` for any
    other spelling (``"1_000"``, Arabic-Indic or full-width digits, inner or outer whitespace,
    ``"NaN"``, more than :data:`MAX_DECIMAL_CHARS` characters). The value is not range-checked:
    :func:`money` does that.
    """
    if len(text) > MAX_DECIMAL_CHARS or _DECIMAL_TEXT.fullmatch(text) is None:
        raise ValidationError(field, DECIMAL_SYNTAX_RULE, _shown(text))
    return Decimal(text)  # an exponent of at most 9 digits: a Decimal always holds it


def money(value: Any, field: str) -> Decimal:
    """``value`` as an exact ``Decimal`` of scale 4 that fits ``decimal(18, 4)``.

    Raises :class:`ValidationError` naming ``field`` and the rule it broke: not a finite
    decimal, more than 4 decimal places, more than 14 digits before the point. Never another
    exception, whatever the exponent (``1e999999999``): the checks read the exponent instead
    of computing with the value.
    """
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValidationError(field, "a finite decimal amount", _shown(value))
    if value and value.adjusted() >= _INTEGER_DIGITS:
        raise ValidationError(
            field, f"at most {_INTEGER_DIGITS} digits before the decimal point", _shown(value)
        )
    try:
        exact = value.quantize(_QUANTUM)
    except ArithmeticError:
        raise ValidationError(field, "a finite decimal amount", _shown(value)) from None
    if exact != value:
        raise ValidationError(field, f"at most {MONEY_SCALE} decimal places", _shown(value))
    return exact


def _shown(value: Any) -> str:
    if isinstance(value, int) and value.bit_length() > 200:  # str() fails past 4,300 digits
        return f"<an integer of {value.bit_length()} bits>"
    text = str(value)
    return text if len(text) <= 64 else text[:61] + "..."
