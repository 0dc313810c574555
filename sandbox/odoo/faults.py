"""Fault injection as in ``sandbox.common.faults``, plus one fault of Odoo's own:

- ``serialization_failures``: the next N transaction attempts fail at commit as PostgreSQL's
  serialization failure; the server retries up to 5 attempts, each with a new ``now()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.common import faults as common
from sandbox.common.faults import SANDBOX_PREFIX, RequestFaults

__all__ = ["SANDBOX_PREFIX", "FaultPlan", "Faults", "RequestFaults"]


@dataclass
class FaultPlan(common.FaultPlan):
    serialization_failures: int = 0


class Faults(common.Faults):
    names = (*common.Faults.names, "serialization_failures")
    plan: FaultPlan

    def __init__(self) -> None:
        super().__init__()
        self.serialization_failures_raised = 0

    def new_plan(self) -> FaultPlan:
        return FaultPlan()

    def configure_from_json(self, body: dict[str, Any]) -> None:
        self.configure(**body)

    def _set(self, values: dict[str, Any]) -> None:
        super()._set(values)
        if values.get("serialization_failures") is not None:
            self.plan.serialization_failures = int(values["serialization_failures"])

    def snapshot(self) -> dict[str, Any]:
        data = super().snapshot()
        data["serialization_failures_raised"] = self.serialization_failures_raised
        return data

    def take_serialization_failure(self) -> bool:
        with self._lock:
            if self.plan.serialization_failures > 0:
                self.plan.serialization_failures -= 1
                self.serialization_failures_raised += 1
                return True
        return False
