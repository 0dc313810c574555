"""A test-only flow registry: one line per flow, as ``streams/flows/__init__.py``."""

from __future__ import annotations

from ferry.flow import Flow
from tests.flows import parcels

__all__ = ["FLOWS"]

FLOWS: tuple[Flow, ...] = (parcels.FLOW,)
