"""The pure stage: one event through one flow, decoded, validated, mapped, encoded."""

from __future__ import annotations

import decimal
import hashlib
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ferry.envelope import CloudEvent
from ferry.errors import ValidationError
from ferry.ownership import OwnershipGuard
from ferry.schemas import SchemaRegistry
from ferry.serde import SingleObjectSerde
from streams.processor import Failure, FlowProcessor, Output
from tests.flows.parcels import FLOW

SERDE = SingleObjectSerde(SchemaRegistry.load(extra=[FLOW.schemas] if FLOW.schemas else []))
SCAN = {
    "parcel_id": "p-1",
    "weight_g": 1500,
    "depot": "BER-1",
    "scanned_at": datetime(2026, 11, 2, 10, 0, tzinfo=UTC),
}


def process(flow: Any, record: Mapping[str, Any]) -> Output | Failure | None:
    guard = OwnershipGuard.of_flows({"parcel": "ledger"}, [flow])
    processor = FlowProcessor(flow, guard, SERDE)
    headers = CloudEvent(id="1", source="t", type=flow.source.event_type, subject="k").to_headers()
    return processor.process(b"k", SERDE.encode(flow.source.event_type, record), headers)


def test_a_valid_event_is_mapped_and_encoded() -> None:
    outcome = process(FLOW, SCAN)
    assert isinstance(outcome, Output)
    assert SERDE.decode(outcome.value).record["weight_kg"] == decimal.Decimal("1.5000")


def test_a_mapping_with_nothing_for_the_target_filters_the_event() -> None:
    assert process(replace(FLOW, map=lambda record: None), SCAN) is None


def _divide(record: Mapping[str, Any]) -> None:
    record["weight_g"] / 0


def _overflow(record: Mapping[str, Any]) -> dict[str, Any]:
    with decimal.localcontext() as context:
        context.Emax = 3
        context.traps[decimal.Overflow] = True
        decimal.Decimal(record["weight_g"]) * 10**6
    return {}


@pytest.mark.parametrize(
    ("change", "stage"), [({"validate": _divide}, "validate"), ({"map": _overflow}, "map")]
)
def test_an_arithmetic_error_is_a_dead_letter_not_a_crash(
    change: dict[str, Any], stage: str
) -> None:
    outcome = process(replace(FLOW, **change), SCAN)
    assert isinstance(outcome, Failure)
    assert outcome.stage == stage
    assert isinstance(outcome.error, ValidationError)
    assert outcome.error.rule == "arithmetic"


def test_a_version_far_in_the_future_is_refused_with_rule_future_version() -> None:
    now = datetime.now(UTC)
    soon = process(FLOW, SCAN | {"scanned_at": now + timedelta(hours=23)})
    assert isinstance(soon, Output)
    late = process(FLOW, SCAN | {"scanned_at": now + timedelta(hours=25)})
    assert isinstance(late, Failure)
    assert late.stage == "validate"
    assert isinstance(late.error, ValidationError)
    assert (late.error.field, late.error.rule) == ("version", "future_version")


# -- the change-only digest ------------------------------------------------------------------

# ledger.parcel.record without its version field, encoded by hand from the Avro specification:
# "p-1" (length 3, zig-zag 6), 1.5000 as the unscaled 15000 in two bytes, "BER-1" (length 5).
SCAN_CONTENT = b"\x06p-1" + b"\x04\x3a\x98" + b"\x0aBER-1"


def _digest(record: Mapping[str, Any], serde: SingleObjectSerde = SERDE) -> str:
    guard = OwnershipGuard.of_flows({"parcel": "ledger"}, [FLOW])
    headers = CloudEvent(id="1", source="t", type=FLOW.source.event_type, subject="k").to_headers()
    outcome = FlowProcessor(FLOW, guard, serde).process(
        b"k", SERDE.encode(FLOW.source.event_type, record), headers
    )
    assert isinstance(outcome, Output)
    return outcome.digest


def test_the_digest_hashes_the_fingerprint_and_the_avro_body_without_the_version() -> None:
    fingerprint = SERDE.registry.latest(FLOW.target.event_type).fingerprint_bytes
    expected = hashlib.blake2b(fingerprint + SCAN_CONTENT, digest_size=16).hexdigest()
    assert _digest(SCAN) == expected


def test_a_resent_event_with_only_a_new_version_has_the_same_digest_with_a_fresh_serde() -> None:
    fresh = SingleObjectSerde(SchemaRegistry.load(extra=[FLOW.schemas] if FLOW.schemas else []))
    later = SCAN | {"scanned_at": datetime(2026, 11, 5, 10, 0, tzinfo=UTC)}
    assert _digest(later, fresh) == _digest(SCAN)


@pytest.mark.parametrize("change", [{"parcel_id": "p-2"}, {"weight_g": 1501}, {"depot": "BER-2"}])
def test_any_other_change_changes_the_digest(change: dict[str, Any]) -> None:
    assert _digest(SCAN | change) != _digest(SCAN)


def test_fastavro_and_the_compiled_writer_give_the_same_content() -> None:
    mapped = FLOW.map(SCAN)
    assert mapped is not None
    compiled = SERDE.encode_with_content(FLOW.target.event_type, mapped, leave_out="version")
    millis = 1793613600000  # 2026-11-02T10:00Z: fastavro takes an int, the compiled code does not
    fallback = SERDE.encode_with_content(
        FLOW.target.event_type, mapped | {"version": millis}, leave_out="version"
    )
    assert fallback == compiled
    assert compiled[1][8:] == SCAN_CONTENT
