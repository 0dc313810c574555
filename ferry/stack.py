"""The platform's processes: how they start, how they stop.

:class:`Stack` starts services (:class:`ServiceSpec`, listed by
:meth:`ferry.registry.Registry.services`) as child processes in order, waits until each is
ready, and stops them in reverse order with no orphan. ``ferry up`` and the end-to-end tests
run it; a test checks that ``docker-compose.yml`` runs the same commands.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import psutil

__all__ = ["ServiceSpec", "Stack", "StackError"]


class StackError(RuntimeError):
    """A service did not start or died; the message says which and where its log is."""


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    args: tuple[str, ...]  # arguments of the ``ferry`` command
    port: int
    probe: str = "/readyz"  # GET path answering 200 once ready; "jsonrpc" for the Odoo emulator
    env: Mapping[str, str] = field(default_factory=dict)  # values may hold ${NAME}

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "ferry.cli", *self.args]


@dataclass
class _Running:
    spec: ServiceSpec
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]


def _environment(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """``base`` plus ``extra``, whose values may name variables of ``base`` as ``${NAME}``
    (so a spec can pass a secret by name, never by value)."""
    env = dict(base)
    for name, value in extra.items():
        env[name] = string.Template(value).safe_substitute(base)
    return env


def _probe(spec: ServiceSpec, client: httpx.Client, *, ready: bool = True) -> bool:
    """Whether the service is ready (``ready``) or only alive: its ``/healthz`` where its ready
    probe is ``/readyz`` (a sink is not ready while its target does not answer)."""
    base = f"http://127.0.0.1:{spec.port}"
    try:
        if spec.probe == "jsonrpc":
            body = {
                "jsonrpc": "2.0",
                "method": "call",
                "id": 1,
                "params": {"service": "common", "method": "version", "args": []},
            }
            response = client.post(f"{base}/jsonrpc", json=body)
            return response.status_code == 200 and "result" in response.json()
        path = "/healthz" if not ready and spec.probe == "/readyz" else spec.probe
        return client.get(base + path).status_code == 200
    except (httpx.HTTPError, ValueError):
        return False


def _port_taken(port: int) -> bool:
    """Whether a socket listens on ``port`` on any address: a server setting ``SO_REUSEADDR``
    (as uvicorn does) could not bind it. Connections lingering in TIME_WAIT do not count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def _port_holder(port: int) -> str:
    """What listens on ``port``: `` by pid N (its command)``, or "" when it cannot be seen
    (another user's process)."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.Error:
        return ""
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if conn.pid is None:
                return ""
            try:
                command = " ".join(psutil.Process(conn.pid).cmdline())
            except psutil.Error:
                return f" by pid {conn.pid}"
            return f" by pid {conn.pid} ({command[:120]})"
    return ""


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class Stack:
    """Starts services as child processes (their own process groups) and stops them all."""

    def __init__(self, env: Mapping[str, str], log_dir: Path, cwd: Path | None = None) -> None:
        self._env = dict(env)
        self._log_dir = log_dir
        self._cwd = cwd
        self._running: list[_Running] = []

    @property
    def names(self) -> list[str]:
        return [r.spec.name for r in self._running]

    @staticmethod
    def refuse_taken_ports(specs: Sequence[ServiceSpec]) -> None:
        """StackError naming each service whose port something already listens on, and what."""
        taken = [
            f"{spec.name} cannot start: port {spec.port} is already in use{_port_holder(spec.port)}"
            for spec in specs
            if _port_taken(spec.port)
        ]
        if taken:
            raise StackError(
                "; ".join(taken) + ". Stop what holds them or choose other ports in ferry.yaml"
            )

    def start(self, spec: ServiceSpec, *, timeout_s: float = 60.0, ready: bool = True) -> float:
        """Start one service and wait until it is ready (``ready``) or only alive; return the
        seconds it took."""
        # Its readiness probe would be answered by whatever holds the port.
        self.refuse_taken_ports([spec])
        self._log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self._log_dir / f"{spec.name}.log"
        log = log_path.open("ab")
        began = time.monotonic()
        process = subprocess.Popen(
            spec.argv(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_environment(self._env, spec.env),
            cwd=self._cwd,
            start_new_session=True,
        )
        running = _Running(spec, process, log_path, log)
        self._running.append(running)
        with httpx.Client(timeout=2.0) as client:
            while not _probe(spec, client, ready=ready):
                if process.poll() is not None:
                    raise StackError(
                        f"{spec.name} exited with code {process.returncode} while starting; "
                        f"last lines of {log_path}:\n{tail(log_path)}"
                    )
                if time.monotonic() - began > timeout_s:
                    raise StackError(
                        f"{spec.name} was not {'ready' if ready else 'alive'} on port {spec.port} "
                        f"after {timeout_s:.0f} s; "
                        f"last lines of {log_path}:\n{tail(log_path)}"
                    )
                time.sleep(0.1)
        return time.monotonic() - began

    def start_all(
        self, specs: Sequence[ServiceSpec], *, timeout_s: float = 60.0
    ) -> dict[str, float]:
        return {spec.name: self.start(spec, timeout_s=timeout_s) for spec in specs}

    def dead(self) -> list[str]:
        """Names of services that exited, with their exit codes."""
        return [
            f"{r.spec.name} (exit code {r.process.returncode}, log {r.log_path})"
            for r in self._running
            if r.process.poll() is not None
        ]

    def process(self, name: str) -> subprocess.Popen[bytes]:
        for running in self._running:
            if running.spec.name == name:
                return running.process
        raise KeyError(name)

    def exit_code(self, name: str) -> int | None:
        """The service's exit code, or None while it runs."""
        return self.process(name).poll()

    def pid(self, name: str) -> int:
        return self.process(name).pid

    def port(self, name: str) -> int:
        for running in self._running:
            if running.spec.name == name:
                return running.spec.port
        raise KeyError(name)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to a service's whole process group (chaos tests)."""
        process = self.process(name)
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        process.wait(timeout=30)

    def restart(self, name: str, *, timeout_s: float = 60.0, ready: bool = True) -> float:
        for index, running in enumerate(self._running):
            if running.spec.name == name:
                if running.process.poll() is None:
                    self.kill(name, signal.SIGTERM)
                running.log.close()
                del self._running[index]
                count = len(self._running)
                try:
                    return self.start(running.spec, timeout_s=timeout_s, ready=ready)
                finally:  # back in its place: services stop in reverse start order
                    started = len(self._running) > count  # not when its port was refused
                    self._running.insert(index, self._running.pop() if started else running)
        raise KeyError(name)

    def stop(self, *, grace_s: float = 15.0) -> None:
        """SIGTERM every service in reverse start order; SIGKILL what outlives the grace."""
        for running in reversed(self._running):
            if running.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(running.process.pid, signal.SIGTERM)
            try:
                running.process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(running.process.pid, signal.SIGKILL)
                running.process.wait(timeout=10)
            running.log.close()
        self._running.clear()
