"""Fault injection, driven from tests over ``/__sandbox__/faults`` or from Python.

Each fault applies to the next requests (``*_count``; ``None`` means until cleared), except the
sandbox's own ``/__sandbox__/`` routes, which always answer:

- ``latency_ms``: added before every request is handled;
- ``error_status`` (+ ``error_count``): answer that HTTP status without handling the request;
- ``hang_seconds`` (+ ``hang_count``): wait that long, then handle the request normally (a
  client that timed out never learns that its write was committed);
- ``refuse_count``: close the connection as soon as a request arrives, no response;
- ``downtime_seconds``: refuse every request for that long;
- ``serialization_failures``: the next N transaction attempts fail at commit as PostgreSQL's
  serialization failure; the server retries up to 5 attempts, each with a new ``now()``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

SANDBOX_PREFIX = "/__sandbox__"


@dataclass
class FaultPlan:
    latency_ms: float = 0.0
    error_status: int | None = None
    error_count: int | None = None
    hang_seconds: float = 0.0
    hang_count: int | None = None
    refuse_count: int | None = 0
    serialization_failures: int = 0
    downtime_until: float = 0.0


@dataclass(frozen=True)
class RequestFaults:
    latency: float
    error_status: int | None
    hang: float


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.plan = FaultPlan()
        self.serialization_failures_raised = 0

    def configure(
        self,
        *,
        latency_ms: float | None = None,
        error_status: int | None = None,
        error_count: int | None = None,
        hang_seconds: float | None = None,
        hang_count: int | None = None,
        refuse_count: int | None = None,
        serialization_failures: int | None = None,
        downtime_seconds: float | None = None,
    ) -> None:
        """Set the given faults; unspecified ones keep their current value."""
        with self._lock:
            plan = self.plan
            if latency_ms is not None:
                plan.latency_ms = float(latency_ms)
            if error_status is not None:
                plan.error_status = int(error_status) or None
                plan.error_count = error_count
            if hang_seconds is not None:
                plan.hang_seconds = float(hang_seconds)
                plan.hang_count = hang_count
            if refuse_count is not None:
                plan.refuse_count = int(refuse_count)
            if serialization_failures is not None:
                plan.serialization_failures = int(serialization_failures)
            if downtime_seconds is not None:
                plan.downtime_until = time.monotonic() + float(downtime_seconds)

    def configure_from_json(self, body: dict[str, Any]) -> None:
        allowed = {
            "latency_ms",
            "error_status",
            "error_count",
            "hang_seconds",
            "hang_count",
            "refuse_count",
            "serialization_failures",
            "downtime_seconds",
        }
        unknown = set(body) - allowed
        if unknown:
            raise ValueError(f"unknown fault(s): {sorted(unknown)}")
        self.configure(**body)

    def clear(self) -> None:
        with self._lock:
            self.plan = FaultPlan()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            data = asdict(self.plan)
        remaining = data.pop("downtime_until") - time.monotonic()
        data["downtime_remaining_s"] = max(0.0, round(remaining, 3))
        data["serialization_failures_raised"] = self.serialization_failures_raised
        return data

    # -- hooks used by the server ---------------------------------------------------------------

    def should_refuse(self, path: str) -> bool:
        if path.startswith(SANDBOX_PREFIX):
            return False
        with self._lock:
            plan = self.plan
            if plan.downtime_until and time.monotonic() < plan.downtime_until:
                return True
            if plan.refuse_count is None:
                return True
            if plan.refuse_count > 0:
                plan.refuse_count -= 1
                return True
        return False

    def for_request(self, path: str) -> RequestFaults:
        if path.startswith(SANDBOX_PREFIX):
            return RequestFaults(0.0, None, 0.0)
        with self._lock:
            plan = self.plan
            status = None
            if plan.error_status:
                status = plan.error_status
                if plan.error_count is not None:
                    plan.error_count -= 1
                    if plan.error_count <= 0:
                        plan.error_status = None
                        plan.error_count = None
            hang = 0.0
            if plan.hang_seconds:
                hang = plan.hang_seconds
                if plan.hang_count is not None:
                    plan.hang_count -= 1
                    if plan.hang_count <= 0:
                        plan.hang_seconds = 0.0
                        plan.hang_count = None
            return RequestFaults(plan.latency_ms / 1000.0, status, hang)

    def take_serialization_failure(self) -> bool:
        with self._lock:
            if self.plan.serialization_failures > 0:
                self.plan.serialization_failures -= 1
                self.serialization_failures_raised += 1
                return True
        return False
