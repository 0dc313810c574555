"""Fault injection, as in the sandbox Odoo: ``sandbox.common.faults`` (no faults of its own)."""

from sandbox.common.faults import (
    SANDBOX_PREFIX,
    FaultMiddleware,
    FaultPlan,
    Faults,
    RequestFaults,
    refusing_protocol,
)

__all__ = [
    "SANDBOX_PREFIX",
    "FaultMiddleware",
    "FaultPlan",
    "Faults",
    "RequestFaults",
    "refusing_protocol",
]
