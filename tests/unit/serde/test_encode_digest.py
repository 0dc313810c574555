"""``encode_digest``: the same bytes as ``encode``, and a digest blind to one field only."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from ferry.errors import ValidationError
from ferry.serde import ConfluentSerde, SingleObjectSerde
from tests.unit.consumers.fakes import command

UPSERT = "odoo.sale_order.upsert"
VERSION = "source_updated_at"


@pytest.fixture
def serde() -> SingleObjectSerde:
    return SingleObjectSerde()


def test_the_bytes_are_those_of_encode(serde: SingleObjectSerde) -> None:
    for n, skus in enumerate([("SKU-001",), ("SKU-001", "SKU-002", "SKU-003"), ()]):
        record = command(1000 + n, skus=skus)
        data, _ = serde.encode_digest(UPSERT, record, exclude=VERSION)
        assert data == serde.encode(UPSERT, record)
        assert serde.decode(data).record[VERSION] == record[VERSION]


def test_the_digest_ignores_the_version_field_and_nothing_else(serde: SingleObjectSerde) -> None:
    record = command(7, skus=("SKU-001", "SKU-002"))
    _, digest = serde.encode_digest(UPSERT, record, exclude=VERSION)
    later = {**record, VERSION: record[VERSION] + timedelta(minutes=5)}
    assert serde.encode_digest(UPSERT, later, exclude=VERSION)[1] == digest
    changed = [
        {**record, "client_order_ref": "#8"},
        {**record, "confirm": False},  # a field after the version field
        {**record, "cancel": True},
        {**record, "date_order": record["date_order"] + timedelta(seconds=1)},
        {**record, "order_lines": record["order_lines"][:1]},
    ]
    digests = {serde.encode_digest(UPSERT, c, exclude=VERSION)[1] for c in changed}
    assert len(digests) == len(changed)
    assert digest not in digests


def test_equal_content_spelled_differently_has_one_digest(serde: SingleObjectSerde) -> None:
    """The digest is of the encoded content: the same instant in another zone is the same
    content."""
    record = command(9)
    _, digest = serde.encode_digest(UPSERT, record, exclude=VERSION)
    spelled = command(9)
    spelled["date_order"] = record["date_order"].astimezone(timezone(timedelta(hours=-5)))
    assert spelled["date_order"].utcoffset() != record["date_order"].utcoffset()
    assert serde.encode_digest(UPSERT, spelled, exclude=VERSION)[1] == digest


def test_without_a_field_to_leave_out_the_digest_is_of_the_whole_body(
    serde: SingleObjectSerde,
) -> None:
    record = command(11)
    data, digest = serde.encode_digest(UPSERT, record)
    assert digest == hashlib.blake2b(data[10:], digest_size=16).hexdigest()
    assert serde.encode_digest(UPSERT, record, exclude="no_such_field") == (data, digest)


def test_a_record_that_does_not_fit_is_refused_as_by_encode(serde: SingleObjectSerde) -> None:
    bad = command(12)
    bad["partner"] = {**bad["partner"], "email": 42}
    with pytest.raises(ValidationError) as by_encode:
        serde.encode(UPSERT, bad)
    with pytest.raises(ValidationError) as by_digest:
        serde.encode_digest(UPSERT, bad, exclude=VERSION)
    assert (by_digest.value.field, by_digest.value.rule) == (
        by_encode.value.field,
        by_encode.value.rule,
    )
    naive = {**command(13), VERSION: datetime(2026, 11, 1, 12, 0)}
    with pytest.raises(ValidationError) as no_zone:
        serde.encode_digest(UPSERT, naive, exclude=VERSION)
    assert no_zone.value.field == VERSION
    missing = {k: v for k, v in command(14).items() if k != VERSION}
    with pytest.raises(ValidationError):
        serde.encode_digest(UPSERT, missing, exclude=VERSION)


def test_the_confluent_format_has_its_own_header_and_the_same_digest() -> None:
    single = SingleObjectSerde()
    sv = single.registry.latest(UPSERT)
    confluent = ConfluentSerde({7: (UPSERT, sv.version)})
    record = command(15)
    data, digest = confluent.encode_digest(UPSERT, record, exclude=VERSION)
    assert data == confluent.encode(UPSERT, record)
    assert digest == single.encode_digest(UPSERT, record, exclude=VERSION)[1]
