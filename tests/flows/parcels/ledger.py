"""The ledger: an in-memory owning system, its connection and its one-file sink."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ferry.dlq import SourceRecord
from ferry.errors import Rejected
from ferry.flow import SinkContext
from ferry.settings import SystemModel
from ferry.sink import Outcome, SinkEvent

__all__ = ["LEDGER", "Ledger", "LedgerSettings", "ParcelSink", "connect", "parcel_sink"]

CLOSED_DEPOT = "ZZZ-9"  # the ledger refuses parcels of this depot for good


class LedgerSettings(SystemModel):
    """``systems.ledger``: nothing to configure for an in-memory system."""


class Ledger:
    """What the ledger holds: parcel id → its record, and every write it took."""

    def __init__(self) -> None:
        self.parcels: dict[str, dict[str, Any]] = {}
        self.writes = 0

    async def check_credentials(self) -> None:
        return None

    async def ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None


LEDGER = Ledger()  # the one ledger of this process (the test reads it)


def connect(settings: LedgerSettings, environ: Mapping[str, str] | None) -> Ledger:
    return LEDGER


class ParcelSink:
    """Upserts by parcel id; an older or equal version is a duplicate."""

    event_type = "ledger.parcel.record"

    def __init__(self, ledger: Ledger, *, topic: str, name: str) -> None:
        self.ledger = ledger
        self.topic = topic
        self.name = name

    async def apply(self, event: SinkEvent, record: SourceRecord) -> Outcome:
        data = event.data
        if data["depot"] == CLOSED_DEPOT:
            raise Rejected(f"depot {CLOSED_DEPOT} is closed", field="depot")
        held = self.ledger.parcels.get(data["parcel_id"])
        if held is not None and held["version"] >= data["version"]:
            return Outcome.DUPLICATE
        self.ledger.parcels[data["parcel_id"]] = data
        self.ledger.writes += 1
        return Outcome.APPLIED

    async def ready(self) -> bool:
        return True


def parcel_sink(context: SinkContext) -> ParcelSink:
    return ParcelSink(context.target, topic=context.flow.target.topic, name=context.flow.name)
