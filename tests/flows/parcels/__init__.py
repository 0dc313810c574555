"""A test-only flow: carrier parcel scans into an in-memory ledger.

It adds files only (this package, its two schemas) and one registry line
(``tests/flows/__init__.py``), as ``docs/adding-a-flow.md`` says.
"""

from __future__ import annotations

from pathlib import Path

from ferry.flow import Endpoint, Flow, System
from ferry.settings import SystemModel
from ferry.topics import sink, src
from tests.flows.parcels.ledger import LedgerSettings, connect, parcel_sink
from tests.flows.parcels.mapping import scan_to_record
from tests.flows.parcels.validate import validate_scan

__all__ = ["CARRIER", "FLOW", "LEDGER_SYSTEM"]


class CarrierSettings(SystemModel):
    """``systems.carrier``: nothing to configure."""


CARRIER: System[CarrierSettings] = System("carrier", CarrierSettings)
LEDGER_SYSTEM: System[LedgerSettings] = System(
    "ledger", LedgerSettings, connect=connect, sink_port=0
)

FLOW = Flow(
    name="parcels-to-ledger",
    source=Endpoint(CARRIER, "carrier.parcel.scanned", src("carrier", "parcels")),
    target=Endpoint(LEDGER_SYSTEM, "ledger.parcel.record", sink("ledger", "parcels")),
    entity="parcel",
    owner="ledger",
    validate=validate_scan,
    map=scan_to_record,
    version_field="version",
    sink=parcel_sink,
    schemas=Path(__file__).parent / "schemas",
)
