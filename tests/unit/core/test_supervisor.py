"""The supervisor of ``ferry up`` against a scripted stack and clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ferry.stack import StackError
from ferry.supervisor import Supervisor, SupervisorSettings, read_status


class FakeStack:
    def __init__(self, *names: str) -> None:
        self.names = list(names)
        self.codes: dict[str, int | None] = dict.fromkeys(names)
        self.pids = {name: 100 + i for i, name in enumerate(names)}
        self.restarted: list[tuple[str, float]] = []
        self.fail_next = False
        self.clock = 0.0

    def exit_code(self, name: str) -> int | None:
        return self.codes[name]

    def pid(self, name: str) -> int:
        return self.pids[name]

    def port(self, name: str) -> int:
        return 9000 + self.names.index(name)

    def restart(self, name: str, *, timeout_s: float = 60.0, ready: bool = True) -> float:
        self.restarted.append((name, self.clock))
        if self.fail_next:
            self.fail_next = False
            self.codes[name] = 1
            raise StackError(f"{name} exited with code 1 while starting")
        self.codes[name] = None
        self.pids[name] += 1000
        return 0.5


def supervised(stack: FakeStack, tmp_path: Path | None = None) -> tuple[Supervisor, list[str]]:
    lines: list[str] = []
    supervisor = Supervisor(
        stack,
        SupervisorSettings(first_s=1, max_s=8, reset_after_s=60),
        report=lines.append,
        clock=lambda: stack.clock,
        status_file=None if tmp_path is None else tmp_path / "status.json",
    )
    return supervisor, lines


def run(supervisor: Supervisor, stack: FakeStack, until: float) -> None:
    while stack.clock < until:
        supervisor.tick()
        stack.clock = round(stack.clock + 0.5, 3)


def test_a_service_that_dies_is_restarted_after_a_doubling_backoff() -> None:
    stack = FakeStack("gateway", "odoo-sink")
    supervisor, lines = supervised(stack)
    killed = []
    for _ in range(5):  # killed every 20 s
        killed.append(stack.clock)
        stack.codes["odoo-sink"] = -9
        run(supervisor, stack, stack.clock + 20)
    times = [t for name, t in stack.restarted if name == "odoo-sink"]
    waits = [round(t - k, 1) for t, k in zip(times, killed, strict=True)]
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0]  # doubling, up to max_s
    assert [s["restarts"] for s in supervisor.status() if s["name"] == "odoo-sink"] == [5]
    assert supervisor.services["gateway"].restarts == 0
    assert "odoo-sink exited with code -9" in lines[0]
    delays = [line.rsplit("in ", 1)[1] for line in lines if "restarting in" in line]
    assert delays == ["1 s", "2 s", "4 s", "8 s", "8 s"]


def test_the_backoff_starts_over_after_a_minute_up() -> None:
    stack = FakeStack("streams")
    supervisor, lines = supervised(stack)
    for _ in range(3):
        stack.codes["streams"] = 1
        run(supervisor, stack, stack.clock + 10)
    run(supervisor, stack, stack.clock + 61)  # up for more than a minute
    stack.codes["streams"] = 1
    run(supervisor, stack, stack.clock + 10)
    delays = [line.rsplit("in ", 1)[1] for line in lines if "restarting in" in line]
    assert delays == ["1 s", "2 s", "4 s", "1 s"]


def test_a_restart_that_fails_is_tried_again_later() -> None:
    stack = FakeStack("odoo-sink")
    supervisor, lines = supervised(stack)
    stack.codes["odoo-sink"] = 2
    stack.fail_next = True
    run(supervisor, stack, 10)
    assert len(stack.restarted) == 2
    assert stack.codes["odoo-sink"] is None
    assert any("did not start" in line for line in lines)
    assert supervisor.services["odoo-sink"].restarts == 2


def test_the_status_file_says_what_runs(tmp_path: Path) -> None:
    stack = FakeStack("gateway")
    supervisor, _ = supervised(stack, tmp_path)
    stack.codes["gateway"] = 3
    run(supervisor, stack, 3)
    data = json.loads((tmp_path / "status.json").read_text())
    [gateway] = data["services"]
    assert (gateway["name"], gateway["restarts"], gateway["last_exit_code"]) == ("gateway", 1, 3)
    assert gateway["pid"] == 1100
    assert read_status(tmp_path / "status.json") is not None  # this process wrote it: alive
    assert read_status(tmp_path / "missing.json") is None


@pytest.mark.parametrize("pid", [2**22 + 12345])
def test_a_status_file_of_a_gone_supervisor_is_not_running(tmp_path: Path, pid: int) -> None:
    path = tmp_path / "status.json"
    path.write_text(json.dumps({"supervisor_pid": pid, "services": []}))
    assert read_status(path) is None
