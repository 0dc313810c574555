"""Fault injection as in ``sandbox.common.faults``, plus one fault of Odoo's own:

- ``serialization_failures``: the next N transaction attempts fail at commit as PostgreSQL's
  serialization failure; the server retries up to 5 attempts, each with a new ``now()``;
- ``slow_calls``: ``{"model.method": [seconds, count]}``: the next ``count`` such calls wait
  ``seconds`` before they run and commit (a slow transaction: a client that gives up first
  cannot tell whether the call will still take effect; it does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.common import faults as common
from sandbox.common.faults import SANDBOX_PREFIX, RequestFaults

__all__ = ["SANDBOX_PREFIX", "FaultPlan", "Faults", "RequestFaults"]


@dataclass
class FaultPlan(common.FaultPlan):
    serialization_failures: int = 0
    slow_calls: dict[str, list[float]] = field(default_factory=dict)


class Faults(common.Faults):
    names = (*common.Faults.names, "serialization_failures", "slow_calls")
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
        if values.get("slow_calls") is not None:
            slow = values["slow_calls"]
            if not isinstance(slow, dict):
                raise ValueError('slow_calls: expected {"model.method": [seconds, count]}')
            self.plan.slow_calls = {str(k): [float(v[0]), float(v[1])] for k, v in slow.items()}

    def snapshot(self) -> dict[str, Any]:
        data = super().snapshot()
        data["serialization_failures_raised"] = self.serialization_failures_raised
        return data

    def take_slow_call(self, model: str, method: str) -> float:
        """Seconds the call ``model.method`` waits before it runs (0: none)."""
        with self._lock:
            planned = self.plan.slow_calls.get(f"{model}.{method}")
            if not planned or planned[1] <= 0:
                return 0.0
            planned[1] -= 1
            return planned[0]

    def take_serialization_failure(self) -> bool:
        with self._lock:
            if self.plan.serialization_failures > 0:
                self.plan.serialization_failures -= 1
                self.serialization_failures_raised += 1
                return True
        return False
