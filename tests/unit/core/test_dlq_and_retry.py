from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from ferry.dlq import DlqBrake, DlqBrakeTripped, error_headers
from ferry.errors import OwnershipViolation, ValidationError
from ferry.retry import Backoff
from ferry.settings import DlqSettings


@dataclass
class Record:
    topic: str = "src.shop.orders"
    partition: int = 2
    offset: int = 41
    key: bytes | None = b"shop:order:1"
    value: bytes | None = b"\xc3\x01..."
    headers: list[tuple[str, bytes]] | None = None


def test_error_headers_name_everything_an_operator_needs() -> None:
    error = ValidationError("currency", "must be an ISO 4217 currency code", "XYZ")
    when = datetime(2026, 1, 1, tzinfo=UTC)
    headers = dict(
        error_headers(
            Record(), error, stage="validate", service="streams", attempts=1, first_failed_at=when
        )
    )
    assert headers["ferry.error.class"] == b"ValidationError"
    assert headers["ferry.error.field"] == b"currency"
    assert headers["ferry.error.rule"] == b"must be an ISO 4217 currency code"
    assert headers["ferry.error.message"] == (
        b"currency: must be an ISO 4217 currency code (got 'XYZ')"
    )
    assert headers["ferry.error.stage"] == b"validate"
    assert headers["ferry.error.topic"] == b"src.shop.orders"
    assert headers["ferry.error.partition"] == b"2"
    assert headers["ferry.error.offset"] == b"41"
    assert headers["ferry.error.first_failed_at"] == b"2026-01-01T00:00:00.000Z"


def test_an_ownership_violation_is_dead_lettered_with_rule_not_owner() -> None:
    error = OwnershipViolation("shop", "inventory", "odoo")
    when = datetime(2026, 1, 1, tzinfo=UTC)
    headers = dict(
        error_headers(
            Record(), error, stage="validate", service="s", attempts=1, first_failed_at=when
        )
    )
    assert headers["ferry.error.rule"] == b"not_owner"
    assert headers["ferry.error.class"] == b"OwnershipViolation"
    assert headers["ferry.error.message"] == b"shop may not change inventory: owned by odoo"


def test_brake_trips_on_ratio_but_not_on_a_few_failures() -> None:
    brake = DlqBrake(DlqSettings(window=10, min_events=10, max_invalid_ratio=0.5))
    for ok in [True, False] * 5:
        brake.record(ok)  # exactly half: does not trip
    with pytest.raises(DlqBrakeTripped, match="of the last 10 events failed"):
        brake.record(False)


def test_brake_trips_on_consecutive_failures() -> None:
    brake = DlqBrake(DlqSettings(max_consecutive=3, min_events=100))
    brake.record(False)
    brake.record(False)
    with pytest.raises(DlqBrakeTripped, match="3 consecutive"):
        brake.record(False, topic="src.shop.orders")


def test_backoff_grows_is_capped_and_honours_retry_after() -> None:
    backoff = Backoff(max_attempts=5, base_delay_s=0.1, max_delay_s=1.0)
    assert 0.05 <= backoff.delay(1) <= 0.1
    assert 0.4 <= backoff.delay(4) <= 0.8
    assert backoff.delay(20) <= 1.0
    assert backoff.delay(1, retry_after=0.7) >= 0.7
    assert backoff.delay(1, retry_after=60) <= 1.0
    assert not backoff.exhausted(4)
    assert backoff.exhausted(5)
