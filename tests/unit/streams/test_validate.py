from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from ferry.errors import ValidationError
from streams.flows.shop_orders.validate import SKU_PATTERN, problems, validate_order
from streams.reference.countries import COUNTRY_CODES
from streams.reference.currencies import CURRENCY_CODES, MINOR_UNITS, minor_unit

from .orders import CREATED, order


def only_problem(record: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validate_order(record)
    found = problems(record)
    assert len(found) == 1, [str(p) for p in found]
    return caught.value


def with_line(index: int, **changes: Any) -> dict[str, Any]:
    record = order()
    record["lines"][index].update(changes)
    return record


def test_the_reference_order_is_valid() -> None:
    validate_order(order())
    assert problems(order()) == []


# -- reference data -------------------------------------------------------------------------


def test_country_list_is_the_249_assigned_alpha_2_codes() -> None:
    assert len(COUNTRY_CODES) == 249
    assert {"DE", "GB", "US", "AX", "SS", "XK"} - COUNTRY_CODES == {"XK"}  # XK: user-assigned
    assert all(len(c) == 2 and c.isupper() for c in COUNTRY_CODES)
    assert not {"UK", "EU", "ZZ", "AN"} & COUNTRY_CODES


def test_currency_list_has_minor_units_and_no_metals_or_test_codes() -> None:
    assert {"EUR", "USD", "GBP", "JPY", "CHF", "KWD"} <= CURRENCY_CODES
    assert not {"XAU", "XTS", "XXX", "XDR"} & CURRENCY_CODES
    assert (MINOR_UNITS["EUR"], MINOR_UNITS["JPY"], MINOR_UNITS["KWD"]) == (2, 0, 3)
    assert minor_unit("EUR") == Decimal("0.01")
    assert all(len(c) == 3 and c.isupper() for c in CURRENCY_CODES)


# -- one test per rule: a good value passes, a bad one is named with field, rule, value ------


@pytest.mark.parametrize("good", ["1001", "5f0c8a1e-77d1-4c1e-9d7b-0a7e6c1d2b3a", "A_1"])
def test_order_id_good(good: str) -> None:
    validate_order(order(order_id=good))


@pytest.mark.parametrize("bad", ["", "10 01", "x" * 65, "ä1", None])
def test_order_id_bad(bad: Any) -> None:
    error = only_problem(order(order_id=bad))
    assert (error.field, error.value) == ("order_id", bad)
    assert str(error) == f"order_id: must be 1-64 letters, digits, _ or - (got {bad!r})"


@pytest.mark.parametrize("bad", ["", "   "])
def test_order_name_must_not_be_empty(bad: str) -> None:
    error = only_problem(order(order_name=bad))
    assert str(error) == f"order_name: must not be empty (got {bad!r})"


@pytest.mark.parametrize("good", ["EUR", "USD", "JPY", "CHF"])
def test_currency_good(good: str) -> None:
    validate_order(order(currency=good))


@pytest.mark.parametrize("bad", ["XYZ", "eur", "EURO", "XAU", ""])
def test_currency_bad(bad: str) -> None:
    error = only_problem(order(currency=bad))
    assert error.field == "currency"
    assert error.rule == "must be an ISO 4217 currency code"
    assert str(error) == f"currency: must be an ISO 4217 currency code (got {bad!r})"


@pytest.mark.parametrize("good", ["ada@example.com", "a.b+tag@mail.example.co.uk", "x@y.io"])
def test_email_good(good: str) -> None:
    record = order()
    record["customer"]["email"] = good
    validate_order(record)


@pytest.mark.parametrize("missing", [None, "", "  "])
def test_email_must_be_present(missing: Any) -> None:
    record = order()
    record["customer"]["email"] = missing
    error = only_problem(record)
    assert str(error) == f"customer.email: must be present (got {missing!r})"


@pytest.mark.parametrize(
    ("bad", "shown"),
    [
        ("ada", "<masked: 3 characters>"),
        ("ada@", "'a***@***'"),
        ("@example.com", "'***@example.com'"),
        ("ada@example", "'a***@***'"),
        ("a da@example.com", "'a***@example.com'"),
        ("a@b@c.com", "'a***@c.com'"),
    ],
)
def test_email_must_be_well_formed_and_is_shown_masked(bad: str, shown: str) -> None:
    record = order()
    record["customer"]["email"] = bad
    error = only_problem(record)
    assert str(error) == f"customer.email: must be a well-formed e-mail address (got {shown})"
    assert error.value == bad


def test_email_longer_than_254_is_refused() -> None:
    record = order()
    record["customer"]["email"] = "a" * 250 + "@b.io"
    assert only_problem(record).field == "customer.email"


@pytest.mark.parametrize("good", ["DE", "GB", "US", "AX"])
def test_country_good(good: str) -> None:
    record = order()
    record["shipping_address"]["country_code"] = good
    validate_order(record)


@pytest.mark.parametrize("bad", ["UK", "de", "DEU", "ZZ", ""])
def test_country_bad(bad: str) -> None:
    record = order()
    record["shipping_address"]["country_code"] = bad
    error = only_problem(record)
    assert str(error) == (
        f"shipping_address.country_code: must be an ISO 3166-1 alpha-2 country code (got {bad!r})"
    )


def test_an_order_without_shipping_address_is_valid() -> None:
    validate_order(order(shipping_address=None))


def test_at_least_one_line() -> None:
    error = only_problem(order(lines=[]))
    assert str(error) == "lines: must have at least one line (got 0)"


@pytest.mark.parametrize("good", ["MUG-001", "TEE.M_BLUE", "A1", "9" * 64])
def test_sku_good(good: str) -> None:
    validate_order(with_line(0, sku=good))


@pytest.mark.parametrize("bad", ["mug-001", "-MUG", "M", "MUG 001", "9" * 65, ""])
def test_sku_bad(bad: str) -> None:
    error = only_problem(with_line(1, sku=bad))
    assert error.field == "lines[1].sku"
    assert str(error) == f"lines[1].sku: must match {SKU_PATTERN.pattern} (got {bad!r})"


def test_line_title_must_not_be_empty() -> None:
    error = only_problem(with_line(0, title=" "))
    assert str(error) == "lines[0].title: must not be empty (got ' ')"


def test_quantity_good() -> None:
    record = with_line(1, quantity=3)
    record["totals"].update(subtotal=Decimal("84.97"), total=Decimal("98.42"))
    validate_order(record)


@pytest.mark.parametrize("bad", [0, -1])
def test_quantity_must_be_positive(bad: int) -> None:
    record = order()
    record["lines"].append(
        {"line_id": None, "sku": "GIFT", "title": "Gift", "quantity": bad, "unit_price": Decimal(0)}
    )
    error = only_problem(record)
    assert error.field == "lines[2].quantity"
    assert str(error) == f"lines[2].quantity: must be positive (got {bad})"


def test_unit_price_zero_is_allowed() -> None:
    record = order()
    record["lines"].append(
        {"line_id": None, "sku": "GIFT", "title": "Gift", "quantity": 1, "unit_price": Decimal(0)}
    )
    validate_order(record)


def test_unit_price_must_not_be_negative() -> None:
    error = only_problem(with_line(0, unit_price=Decimal("-1.0000")))
    assert error.field == "lines[0].unit_price"
    assert str(error) == "lines[0].unit_price: must not be negative (got Decimal('-1.0000'))"


@pytest.mark.parametrize("subtotal", ["44.99", "44.98", "45.00", "44.9850"])
def test_subtotal_within_one_cent_passes(subtotal: str) -> None:
    record = order()
    record["totals"].update(subtotal=Decimal(subtotal), total=Decimal(subtotal) + Decimal("13.45"))
    validate_order(record)


@pytest.mark.parametrize("subtotal", ["44.97", "45.01", "0"])
def test_subtotal_off_by_more_than_one_cent_fails(subtotal: str) -> None:
    record = order()
    record["totals"].update(subtotal=Decimal(subtotal), total=Decimal(subtotal) + Decimal("13.45"))
    error = only_problem(record)
    assert error.field == "totals.subtotal"
    assert error.rule == "must equal the sum of quantity x unit price"
    assert str(error).startswith(
        f"totals.subtotal: must equal the sum of quantity x unit price (got Decimal('{subtotal}'))"
    )
    assert "the lines add up to 44.9900 EUR, allowed difference 0.01" in str(error)


def test_subtotal_tolerance_is_one_minor_unit_of_the_currency() -> None:
    record = order(currency="JPY")
    record["lines"] = [
        {"line_id": None, "sku": "MUG", "title": "Mug", "quantity": 3, "unit_price": Decimal(1000)}
    ]
    record["totals"] = {
        "subtotal": Decimal(3001),
        "tax": Decimal(0),
        "shipping": Decimal(0),
        "total": Decimal(3001),
    }
    validate_order(record)  # 1 yen off is one minor unit
    record["totals"].update(subtotal=Decimal(3002), total=Decimal(3002))
    assert only_problem(record).field == "totals.subtotal"


def test_total_must_be_subtotal_plus_tax_plus_shipping() -> None:
    record = order()
    record["totals"]["total"] = Decimal("60.00")
    error = only_problem(record)
    assert error.field == "totals.total"
    assert str(error) == (
        "totals.total: must equal subtotal + tax + shipping (subtotal + shipping when taxes "
        "are included) (got Decimal('60.00')): expected 58.4400 EUR, allowed difference 0.01"
    )


def test_total_with_taxes_included_is_subtotal_plus_shipping() -> None:
    record = order(taxes_included=True)
    totals = record["totals"]
    totals["total"] = totals["subtotal"] + totals["shipping"]
    validate_order(record)
    totals["total"] = totals["subtotal"] + totals["shipping"] + totals["tax"]
    error = only_problem(record)
    assert error.field == "totals.total"
    assert f"expected {totals['subtotal'] + totals['shipping']} EUR" in str(error)


@pytest.mark.parametrize("name", ["tax", "shipping"])
def test_tax_and_shipping_must_not_be_negative(name: str) -> None:
    record = order()
    record["totals"][name] = Decimal("-1")
    found = problems(record)
    assert found[0].field == f"totals.{name}"
    assert str(found[0]) == f"totals.{name}: must not be negative (got Decimal('-1'))"


def test_totals_are_not_compared_when_the_currency_is_unknown() -> None:
    record = order(currency="XYZ")
    record["totals"]["total"] = Decimal(1)
    assert [p.field for p in problems(record)] == ["currency"]


def test_updated_at_must_not_precede_created_at() -> None:
    earlier = CREATED - timedelta(seconds=1)
    error = only_problem(order(updated_at=earlier))
    assert error.field == "updated_at"
    assert str(error).startswith(f"updated_at: must not be before created_at (got {earlier!r})")


# -- all problems in one error -----------------------------------------------------------------


def test_all_problems_are_reported_with_the_first_as_field() -> None:
    record = order(currency="XYZ")
    record["customer"]["email"] = "nope"
    record["lines"][1]["quantity"] = 0
    with pytest.raises(ValidationError) as caught:
        validate_order(record)
    error = caught.value
    assert (error.field, error.rule, error.value) == (
        "customer.email",
        "must be a well-formed e-mail address",
        "nope",
    )
    assert str(error) == (
        "customer.email: must be a well-formed e-mail address (got <masked: 4 characters>): "
        "2 more problems: "
        "currency: must be an ISO 4217 currency code (got 'XYZ'); "
        "lines[1].quantity: must be positive (got 0)"
    )


def test_problems_are_listed_in_field_order() -> None:
    record = order(order_id="", lines=[], currency="XYZ")
    record["shipping_address"]["country_code"] = "UK"
    assert [p.field for p in problems(record)] == [
        "order_id",
        "currency",
        "lines",
        "shipping_address.country_code",
    ]
