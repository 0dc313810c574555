"""The pure stage: one event through one flow, decoded, validated, mapped, encoded."""

from __future__ import annotations

import decimal
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
