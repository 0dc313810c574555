"""``ferry up``'s supervision: a service that exits is started again, with exponential backoff.

Each service has its own backoff: the first restart comes after ``first_s`` (1 s), each next
one after twice as long, up to ``max_s`` (60 s); a service that stayed up ``reset_after_s``
(a minute) starts again from ``first_s``. Every exit and restart is reported (with the exit
code) through ``report``. A restart waits until the service is alive (``/healthz``), not ready:
readiness may wait on a system outside Ferry (a sink's target), and restarts happen one at a
time. :meth:`Supervisor.status` is what ``ferry status`` shows; ``ferry up``
writes it to ``<state>/status.json`` on every change.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

__all__ = ["ServiceState", "Supervisor", "SupervisorSettings", "read_status"]


class Supervised(Protocol):
    """What the supervisor needs of :class:`ferry.stack.Stack`."""

    @property
    def names(self) -> list[str]: ...
    def exit_code(self, name: str) -> int | None: ...
    def pid(self, name: str) -> int: ...
    def port(self, name: str) -> int: ...
    def restart(self, name: str, *, timeout_s: float = 60.0, ready: bool = True) -> float: ...


@dataclass(frozen=True, slots=True)
class SupervisorSettings:
    first_s: float = 1.0
    max_s: float = 60.0
    reset_after_s: float = 60.0
    start_timeout_s: float = 60.0


@dataclass
class ServiceState:
    name: str
    port: int
    pid: int
    state: str = "running"  # running | restarting
    started_at: float = field(default_factory=time.time)
    restarts: int = 0
    last_exit_code: int | None = None
    next_start_at: float | None = None
    delay_s: float = 0.0


class Supervisor:
    def __init__(
        self,
        stack: Supervised,
        settings: SupervisorSettings | None = None,
        *,
        report: Callable[[str], None] = print,
        clock: Callable[[], float] = time.time,
        status_file: Path | None = None,
    ) -> None:
        self.stack = stack
        self.settings = settings or SupervisorSettings()
        self._report = report
        self._clock = clock
        self.status_file = status_file
        now = clock()
        self.services = {
            name: ServiceState(name, stack.port(name), stack.pid(name), started_at=now)
            for name in stack.names
        }
        self._write()

    def tick(self) -> None:
        """Look at every service once: note exits, restart those whose time has come."""
        now = self._clock()
        changed = False
        for name, service in self.services.items():
            if service.state == "running":
                code = self.stack.exit_code(name)
                if code is None:
                    continue
                up_for = now - service.started_at
                if up_for >= self.settings.reset_after_s:
                    service.delay_s = 0.0
                service.delay_s = min(
                    self.settings.max_s,
                    service.delay_s * 2 if service.delay_s else self.settings.first_s,
                )
                service.state = "restarting"
                service.last_exit_code = code
                service.next_start_at = now + service.delay_s
                self._report(
                    f"{name} exited with code {code} after {up_for:.0f} s; "
                    f"restarting in {service.delay_s:.0f} s"
                )
                changed = True
            elif service.next_start_at is not None and now >= service.next_start_at:
                service.restarts += 1
                try:
                    # Alive, not ready: a sink whose target is down is not ready, and waiting
                    # for it would hold every other restart (they happen one at a time).
                    seconds = self.stack.restart(
                        name, timeout_s=self.settings.start_timeout_s, ready=False
                    )
                except RuntimeError as exc:  # StackError: it died again while starting
                    service.state = "running"  # its exit is noted on the next tick
                    service.started_at = self._clock()
                    self._report(f"{name} did not start (restart {service.restarts}): {exc}")
                else:
                    service.state = "running"
                    service.started_at = self._clock()
                    service.pid = self.stack.pid(name)
                    self._report(
                        f"{name} restarted (restart {service.restarts}, up in {seconds:.1f} s)"
                    )
                service.next_start_at = None
                changed = True
        if changed:
            self._write()

    def status(self) -> list[dict[str, Any]]:
        now = self._clock()
        out = []
        for service in self.services.values():
            entry = asdict(service)
            entry["uptime_s"] = (
                round(now - service.started_at, 1) if service.state == "running" else 0
            )
            out.append(entry)
        return out

    def _write(self) -> None:
        if self.status_file is None:
            return
        self.status_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.status_file.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"supervisor_pid": os.getpid(), "services": self.status()}, indent=1),
            encoding="utf-8",
        )
        tmp.replace(self.status_file)


def read_status(path: Path) -> dict[str, Any] | None:
    """What ``ferry up`` last wrote, or None when it is not running (no file, or its pid gone)."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    try:
        os.kill(int(data["supervisor_pid"]), 0)
    except (KeyError, ValueError, ProcessLookupError, PermissionError):
        return None
    return data
