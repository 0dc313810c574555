"""Process control: spawning the broker JVMs, finding them again, stopping their process groups."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from infra.kafka.diagnosis import java_not_found
from infra.kafka.paths import NodeFiles

__all__ = ["NodeProcesses", "rss_bytes", "run_together"]


class NodeProcesses:
    """The broker JVMs of one cluster: the ones this object spawned, or found by their pid files."""

    def __init__(self, files: Callable[[int], NodeFiles]) -> None:
        self._files = files
        self._procs: dict[int, subprocess.Popen[bytes]] = {}

    def spawn(self, node_id: int, cmd: Sequence[str], *, die_with_parent: bool) -> None:
        """Start ``cmd`` as the node's JVM, in its own session; record its pid."""
        files = self._files(node_id)
        if files.server_log.exists():  # keep the previous run's log for post-mortems, start clean
            files.server_log.replace(files.server_log.with_suffix(".log.prev"))
        with open(files.out, "wb") as out:
            try:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=files.root,
                    start_new_session=True,
                    preexec_fn=_set_pdeathsig if die_with_parent else None,
                )
            except FileNotFoundError as exc:
                raise java_not_found(cmd[0]) from exc
        self._procs[node_id] = proc
        files.pid.write_text(f"{proc.pid}\n")

    def pid(self, node_id: int) -> int | None:
        """The pid (= process group id) of the node's running JVM."""
        proc = self._procs.get(node_id)
        if proc is not None:
            return proc.pid if proc.poll() is None else None
        try:
            pid = int(self._files(node_id).pid.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if self._owns(pid, node_id) else None

    def is_running(self, node_id: int) -> bool:
        return self.pid(node_id) is not None

    def kill(self, node_id: int, timeout: float) -> None:
        """SIGKILL the node's process group and wait until it is gone."""
        pid = self.pid(node_id)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            self._wait_gone(node_id, pid, timeout)
            self._forget(node_id)

    def stop(self, node_ids: Iterable[int], timeout: float) -> list[int]:
        """SIGTERM each node's process group, wait, then SIGKILL; the nodes that were running."""
        targets = [(n, pid) for n in node_ids if (pid := self.pid(n)) is not None]
        for _, pid in targets:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for node_id, pid in targets:
            if not self._wait_gone(node_id, pid, max(0.0, deadline - time.monotonic())):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                self._wait_gone(node_id, pid, 10.0)
        for node_id, _ in targets:
            self._forget(node_id)
        return [node_id for node_id, _ in targets]

    def _wait_gone(self, node_id: int, pid: int, timeout: float) -> bool:
        proc = self._procs.get(node_id)
        if proc is not None and proc.pid == pid:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
        elif not _dead_within(pid, timeout):
            return False
        return _group_gone(pid, timeout=2.0)

    def _forget(self, node_id: int) -> None:
        self._procs.pop(node_id, None)
        self._files(node_id).pid.unlink(missing_ok=True)

    def _owns(self, pid: int, node_id: int) -> bool:
        """The pid is alive and is this node's JVM (not a recycled pid)."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        props = str(self._files(node_id).properties).encode()
        return _alive(pid) and b"kafka.Kafka" in cmdline and props in cmdline


def run_together(commands: Sequence[Sequence[str]], timeout: float) -> Iterator[tuple[int, str]]:
    """Start every command at once, then yield each one's exit code and output, in order."""
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for cmd in commands
    ]
    for proc in procs:
        out, _ = proc.communicate(timeout=timeout)
        yield proc.returncode, out.decode(errors="replace")


def rss_bytes(pids: Mapping[int, int]) -> dict[int, int]:
    """Resident memory of each running process of ``{key: pid}``, by key."""
    out: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for key, pid in pids.items():
        with contextlib.suppress(OSError, ValueError, IndexError):
            out[key] = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
    return out


def _set_pdeathsig() -> None:  # pragma: no cover - runs in the forked child
    """Ask the kernel to SIGTERM this (child) process when its parent thread dies."""
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _dead_within(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _group_gone(pgid: int, timeout: float) -> bool:
    """Wait until no live process is left in process group ``pgid``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        if not any(_alive(p) and _pgid(p) == pgid for p in _pids()):
            return True  # only zombies left, reaped by their parent
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None
