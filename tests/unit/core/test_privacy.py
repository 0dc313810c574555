"""Personal data: the schemas mark it, errors and dead-letter headers show it masked."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ferry import privacy
from ferry.dlq import error_headers
from ferry.errors import MappingError, Rejected, ValidationError
from ferry.schemas import SchemaRegistry

ROOT = Path(__file__).resolve().parents[3]


class _Record:
    topic, partition, offset = "src.people", 0, 7
    key: bytes | None = b"k"
    value: bytes | None = b"v"
    headers: tuple[tuple[str, bytes], ...] = ()


def _headers(error: BaseException) -> dict[str, str]:
    built = error_headers(
        _Record(),
        error,
        stage="validate",
        service="streams",
        attempts=1,
        first_failed_at=datetime(2024, 5, 1, tzinfo=UTC),
    )
    return {k.removeprefix("ferry.error."): v.decode() for k, v in built}


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("jane.doe@example.com", "j***@example.com"),
        ("J@example.co.uk", "J***@example.co.uk"),
        ("Jane Doe <jane@example.com>", "J***@example.com***"),
        ("jane@@example.com", "j***@example.com"),
        ("jane@ not a domain", "j***@***"),
        ("@example.com", "***@example.com"),
    ],
)
def test_an_email_keeps_its_first_character_and_its_domain(address: str, masked: str) -> None:
    assert privacy.mask_email(address) == masked


def test_other_values_are_shown_by_their_size_only_and_blanks_as_they_are() -> None:
    assert repr(privacy.mask("Ada Lovelace")) == "<masked: 12 characters>"
    assert repr(privacy.mask("A")) == "<masked: 1 character>"
    assert repr(privacy.mask(["Ada"])) == "<masked list>"
    assert repr(privacy.mask("ada@example.com")) == "'a***@example.com'"
    assert privacy.mask(None) is None
    assert privacy.mask("  ") == "  "


def test_scrub_masks_every_email_in_free_text_and_leaves_the_rest() -> None:
    text = "partner ada@example.com exists (as 'grace.hopper@navy.example'); id 7"
    assert privacy.scrub(text) == "partner a***@example.com exists (as 'g***@navy.example'); id 7"
    assert privacy.scrub("no address here: 5 @ 6") == "no address here: 5 @ 6"


def test_marked_fields_are_found_at_every_depth_and_by_record_name() -> None:
    schema: dict[str, Any] = {
        "type": "record",
        "name": "io.example.Thing",
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "email", "type": ["null", "string"], "ferry.pii": True},
            {
                "name": "owner",
                "type": {
                    "type": "record",
                    "name": "Person",
                    "fields": [
                        {"name": "name", "type": "string", "ferry.pii": True},
                        {"name": "age", "type": "int"},
                    ],
                },
            },
            {
                "name": "contacts",
                "type": {"type": "array", "items": "Person"},  # a named type again
            },
            {"name": "backup", "type": ["null", "Person"]},
        ],
    }
    assert privacy.personal_paths(schema) == {
        "email",
        "Thing.email",
        "owner.name",
        "Person.name",
        "contacts.name",
        "backup.name",
    }


def test_a_path_is_personal_without_its_indexes_and_at_the_end_of_a_longer_one() -> None:
    paths = {"email", "owner.name"}
    assert privacy.is_personal("owner.name", paths)
    assert privacy.is_personal("owners[3].owner.name", paths)
    assert privacy.is_personal("email", paths)
    # A marked top-level field is that field only, not every field of that name.
    assert not privacy.is_personal("owner.email", paths)
    assert not privacy.is_personal("owner.age", paths)
    assert not privacy.is_personal(None, paths)


def test_the_shipped_schemas_mark_the_customers_data_and_not_the_goods() -> None:
    marked = privacy.personal_paths(
        json.loads((ROOT / "schemas/shop.order.created/v3.avsc").read_text(encoding="utf-8"))
    )
    assert {"customer.email", "customer.first_name", "shipping_address.address1"} <= marked
    assert not {"lines.title", "lines.sku", "shipping_address.country_code"} & marked
    for path in ("partner.email", "partner.name", "partner.street"):
        assert privacy.is_personal(path)
    assert not privacy.is_personal("order_lines[0].name")  # a line's description


def test_no_version_of_a_schema_drops_a_mark_an_earlier_one_had() -> None:
    registry = SchemaRegistry.load(ROOT / "schemas")
    for event_type in registry.event_types():
        versions = registry.versions(event_type)
        for older, newer in itertools.pairwise(versions):
            dropped = privacy.personal_paths(older.source) - privacy.personal_paths(newer.source)
            assert not dropped, f"{newer.ref} no longer marks {sorted(dropped)} personal"


def test_marking_a_field_changes_no_fingerprint() -> None:
    registry = SchemaRegistry.load(ROOT / "schemas")
    for sv in registry:
        assert '"ferry.pii"' not in sv.canonical


def test_a_validation_error_on_a_personal_field_names_field_and_rule_but_masks_the_value() -> None:
    error = ValidationError(
        "customer.email",
        "must be a well-formed e-mail address",
        "Ada Lovelace <ada.lovelace@example.com>",
        "the value 'Ada Lovelace <ada.lovelace@example.com>' has spaces",
    )
    headers = _headers(error)
    assert headers["field"] == "customer.email"
    assert headers["rule"] == "must be a well-formed e-mail address"
    assert headers["message"] == (
        "customer.email: must be a well-formed e-mail address (got 'A***@example.com***'): "
        "the value 'A***@example.com***' has spaces"
    )
    assert error.value == "Ada Lovelace <ada.lovelace@example.com>"  # kept for the caller


def test_names_and_streets_are_masked_and_other_fields_show_their_value() -> None:
    name = ValidationError("shipping_address.name", "must not be empty", "Ada Lovelace")
    assert str(name) == "shipping_address.name: must not be empty (got <masked: 12 characters>)"
    street = ValidationError("partner.street", "too long", "Marktstraße 12")
    assert "Marktstraße" not in str(street)
    country = ValidationError("shipping_address.country_code", "an ISO code", "Germany")
    assert str(country) == "shipping_address.country_code: an ISO code (got 'Germany')"
    missing = ValidationError("customer.email", "must be present", None)
    assert str(missing) == "customer.email: must be present (got None)"


def test_free_text_errors_lose_their_email_addresses_in_the_dead_letter() -> None:
    rejected = Rejected("res.partner: ada@example.com is already used by another partner", 400)
    assert _headers(rejected)["message"] == (
        "res.partner: a***@example.com is already used by another partner"
    )
    mapping = MappingError("partner: cannot map ada@example.com", field="partner")
    assert "ada@example.com" not in _headers(mapping)["message"]
