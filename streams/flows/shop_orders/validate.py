"""The rules a ``shop.order.created`` record must meet before it becomes an Odoo sale order.

Pure: no I/O. :func:`problems` checks every rule and returns every failure; :func:`validate_order`
raises one :class:`ferry.errors.ValidationError` that names the first failure (its ``field``,
``rule`` and ``value`` go to the ``ferry.error.field`` header of the dead letter) and lists the
others in its message, so an operator fixes a source once instead of once per rule.

The rules:

=================================  ==============================================================
field                              rule
=================================  ==============================================================
``order_id``                       1-64 letters, digits, ``_`` or ``-`` (it becomes part of an
                                   Odoo external id, ``ferry.shop_order_<order_id>``)
``order_name``                     not empty
``currency``                       a currency code of :mod:`streams.reference.currencies`
``customer.email``                 present, and well-formed: ``local@domain.tld``, no spaces, at
                                   most 254 characters (a shape check; deliverability is not
                                   the stream's business)
``shipping_address.country_code``  an assigned ISO 3166-1 alpha-2 code, upper case (when the
                                   order has a shipping address at all)
``lines``                          at least one line
``lines[i].sku``                   ``^[A-Z0-9][A-Z0-9._-]{1,63}$``: 2-64 upper-case letters,
                                   digits, ``.``, ``_`` or ``-``, starting with a letter or digit
                                   (it becomes the Odoo product's internal reference)
``lines[i].title``                 not empty (it becomes the order line's description)
``lines[i].quantity``              greater than zero
``lines[i].unit_price``            zero or more
``totals.subtotal``                equals the sum of quantity x unit price within one minor
                                   unit of the currency (0.01 EUR, 1 JPY, 0.001 KWD): a shop that
                                   rounds each line to cents still passes, a wrong total does not
``totals.tax``, ``totals.shipping`` zero or more
``totals.total``                   equals subtotal + tax + shipping within one minor unit, or
                                   subtotal + shipping when ``taxes_included`` (the schema has no
                                   discount field, so nothing else may be in it)
``updated_at``                     not before ``created_at``
=================================  ==============================================================

The totals rules are skipped when the currency is unknown (there is no minor unit to compare
with) or a part they add up is itself invalid; that part is reported instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeGuard

from ferry.errors import ValidationError
from streams.reference.countries import is_country_code
from streams.reference.currencies import is_currency_code, minor_unit

__all__ = [
    "EMAIL_PATTERN",
    "ORDER_ID_PATTERN",
    "SKU_PATTERN",
    "Problem",
    "problems",
    "validate_order",
]

SKU_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._-]{1,63}$")
ORDER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_EMAIL_MAX = 254

# Rule texts: each names what the value must be, so the message reads
# ``<field>: <rule> (got <value>)``.
MUST_BE_ORDER_ID = "must be 1-64 letters, digits, _ or -"
MUST_NOT_BE_EMPTY = "must not be empty"
MUST_BE_CURRENCY = "must be an ISO 4217 currency code"
MUST_BE_PRESENT = "must be present"
MUST_BE_EMAIL = "must be a well-formed e-mail address"
MUST_BE_COUNTRY = "must be an ISO 3166-1 alpha-2 country code"
MUST_HAVE_LINES = "must have at least one line"
MUST_BE_SKU = "must match " + SKU_PATTERN.pattern
MUST_BE_POSITIVE = "must be positive"
MUST_NOT_BE_NEGATIVE = "must not be negative"
MUST_BE_LINE_SUM = "must equal the sum of quantity x unit price"
MUST_BE_TOTAL_SUM = (
    "must equal subtotal + tax + shipping (subtotal + shipping when taxes are included)"
)
MUST_NOT_PRECEDE_CREATION = "must not be before created_at"


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule."""

    field: str
    rule: str
    value: Any
    detail: str | None = None

    def __str__(self) -> str:
        return str(self.error())

    def error(self) -> ValidationError:
        return ValidationError(self.field, self.rule, self.value, self.detail)


def _is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    """A decoded record is a dict: the exact type check first, the ABC's only for others."""
    return type(value) is dict or isinstance(value, Mapping)


def _blank(value: object) -> bool:
    return not isinstance(value, str) or not value.strip()


def _money(value: object) -> Decimal | None:
    return value if isinstance(value, Decimal) and value.is_finite() else None


def _check_identity(record: Mapping[str, Any], found: list[Problem]) -> None:
    order_id = record.get("order_id")
    if not isinstance(order_id, str) or not ORDER_ID_PATTERN.match(order_id):
        found.append(Problem("order_id", MUST_BE_ORDER_ID, order_id))
    if _blank(record.get("order_name")):
        found.append(Problem("order_name", MUST_NOT_BE_EMPTY, record.get("order_name")))


def _check_customer(record: Mapping[str, Any], found: list[Problem]) -> None:
    customer = record.get("customer")
    email = customer.get("email") if _is_mapping(customer) else None
    if email is None or (isinstance(email, str) and not email.strip()):
        found.append(Problem("customer.email", MUST_BE_PRESENT, email))
    elif not isinstance(email, str) or len(email) > _EMAIL_MAX or not EMAIL_PATTERN.match(email):
        found.append(Problem("customer.email", MUST_BE_EMAIL, email))


def _check_address(record: Mapping[str, Any], found: list[Problem]) -> None:
    address = record.get("shipping_address")
    if _is_mapping(address):
        code = address.get("country_code")
        if not is_country_code(code):
            found.append(Problem("shipping_address.country_code", MUST_BE_COUNTRY, code))


def _check_lines(record: Mapping[str, Any], found: list[Problem]) -> Decimal | None:
    """Check every line; return the exact sum of quantity x unit price when all are valid."""
    lines = record.get("lines")
    listed = type(lines) is list or (isinstance(lines, Sequence) and not isinstance(lines, str))
    if not listed or not lines:
        shown = len(lines) if isinstance(lines, Sequence) else lines
        found.append(Problem("lines", MUST_HAVE_LINES, shown))
        return None
    assert isinstance(lines, Sequence)
    total: Decimal | None = Decimal(0)
    for i, line in enumerate(lines):
        if not _is_mapping(line):
            found.append(Problem(f"lines[{i}]", "must be a line record", line))
            total = None
            continue
        sku = line.get("sku")
        if type(sku) is not str or not SKU_PATTERN.match(sku):
            found.append(Problem(f"lines[{i}].sku", MUST_BE_SKU, sku))
        if _blank(line.get("title")):
            found.append(Problem(f"lines[{i}].title", MUST_NOT_BE_EMPTY, line.get("title")))
        quantity = line.get("quantity")
        count = quantity if type(quantity) is int else None
        if count is None or count <= 0:
            found.append(Problem(f"lines[{i}].quantity", MUST_BE_POSITIVE, quantity))
            count = None
        price = _money(line.get("unit_price"))
        if price is None or price < 0:
            found.append(
                Problem(f"lines[{i}].unit_price", MUST_NOT_BE_NEGATIVE, line.get("unit_price"))
            )
        if total is not None and count is not None and price is not None and price >= 0:
            total += count * price
        else:
            total = None
    return total


def _check_totals(
    record: Mapping[str, Any], line_sum: Decimal | None, found: list[Problem]
) -> None:
    totals = record.get("totals")
    if not _is_mapping(totals):
        found.append(Problem("totals", MUST_BE_PRESENT, totals))
        return
    parts: dict[str, Decimal | None] = {}
    for name in ("subtotal", "tax", "shipping", "total"):
        amount = _money(totals.get(name))
        if amount is None or amount < 0:
            found.append(Problem(f"totals.{name}", MUST_NOT_BE_NEGATIVE, totals.get(name)))
            amount = None
        parts[name] = amount
    currency = record.get("currency")
    if not is_currency_code(currency):
        return  # reported by the currency rule; no minor unit to compare with
    assert isinstance(currency, str)
    unit = minor_unit(currency)
    subtotal = parts["subtotal"]
    if subtotal is not None and line_sum is not None and abs(subtotal - line_sum) > unit:
        found.append(
            Problem(
                "totals.subtotal",
                MUST_BE_LINE_SUM,
                subtotal,
                f"the lines add up to {line_sum} {currency}, allowed difference {unit}",
            )
        )
    tax, shipping, total = parts["tax"], parts["shipping"], parts["total"]
    if subtotal is not None and tax is not None and shipping is not None and total is not None:
        # With taxes included, the tax is inside the subtotal already (Shopify's rule).
        expected = subtotal + shipping + (0 if record.get("taxes_included") else tax)
        if abs(total - expected) > unit:
            found.append(
                Problem(
                    "totals.total",
                    MUST_BE_TOTAL_SUM,
                    total,
                    f"expected {expected} {currency}, allowed difference {unit}",
                )
            )


def _check_times(record: Mapping[str, Any], found: list[Problem]) -> None:
    created, updated = record.get("created_at"), record.get("updated_at")
    if isinstance(created, datetime) and isinstance(updated, datetime) and updated < created:
        found.append(
            Problem("updated_at", MUST_NOT_PRECEDE_CREATION, updated, f"created_at is {created}")
        )


def problems(record: Mapping[str, Any]) -> list[Problem]:
    """Every rule ``record`` breaks, in the order of the record's fields (empty when valid)."""
    found: list[Problem] = []
    _check_identity(record, found)
    _check_customer(record, found)
    currency = record.get("currency")
    if not is_currency_code(currency):
        found.append(Problem("currency", MUST_BE_CURRENCY, currency))
    line_sum = _check_lines(record, found)
    _check_address(record, found)
    _check_totals(record, line_sum, found)
    _check_times(record, found)
    return found


def validate_order(record: Mapping[str, Any]) -> None:
    """Raise a :class:`ValidationError` naming the first broken rule and listing all others."""
    found = problems(record)
    if not found:
        return
    first = found[0]
    if len(found) == 1:
        raise first.error()
    others = "; ".join(str(p) for p in found[1:])
    more = f"{len(found) - 1} more problem{'s' if len(found) > 2 else ''}: {others}"
    detail = f"{first.detail}; {more}" if first.detail else more
    raise ValidationError(first.field, first.rule, first.value, detail)
