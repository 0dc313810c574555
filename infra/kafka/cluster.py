"""Start and stop a real Apache Kafka (KRaft) on this machine, from the jars in ``libs/``.

One node (broker and controller in one JVM) for development and tests, or three nodes
(replication factor 3, ``min.insync.replicas=2``) for replication and chaos tests.

Everything a node needs lives under one *state dir*::

    <state_dir>/cluster.json          layout and cluster id (lets another process stop it)
    <state_dir>/node-<N>/server.properties
    <state_dir>/node-<N>/data/        log.dirs (formatted with kafka.tools.StorageTool)
    <state_dir>/node-<N>/logs/        server.log (log4j2)
    <state_dir>/node-<N>/kafka.out    the JVM's own stdout/stderr
    <state_dir>/node-<N>/kafka.pid    pid (= process group id) of the running JVM

A node is *ready* only when an admin ``describe_cluster`` lists it: the port opens before the
broker serves requests, so a port probe is not enough.

Each JVM runs in its own session (process group). ``stop()`` sends SIGTERM to the group, waits,
then SIGKILLs it; it works from any process, through the pid files. With
``die_with_parent=True`` (what the test fixtures use) the kernel also SIGTERMs the JVM when the
process that started it dies, so a killed test run leaves no broker behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "DEFAULT_LIBS_DIR",
    "KafkaCluster",
    "KafkaClusterError",
    "NodeSpec",
    "NodeStatus",
    "describe_cluster",
    "free_ports",
]

_HERE = Path(__file__).resolve().parent
DEFAULT_LIBS_DIR = Path(os.environ.get("FERRY_KAFKA_LIBS", _HERE / "libs"))
LOG4J2_CONFIG = _HERE / "log4j2.xml"
CDS_ARCHIVE_NAME = "ferry-kafka.jsa"

SINGLE_NODE_PORTS = (9092, 9093)
THREE_NODE_PORTS = ((19092, 19093), (29092, 29093), (39092, 39093))

_T = TypeVar("_T")


class KafkaClusterError(RuntimeError):
    """Kafka could not be started, reached or stopped; the message says why and what to do."""


@dataclass(frozen=True)
class NodeSpec:
    node_id: int
    port: int
    controller_port: int


@dataclass(frozen=True)
class NodeStatus:
    node_id: int
    address: str
    pid: int | None
    running: bool


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct TCP ports that are free on ``host`` right now."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


# Known failure signatures in kafka.out / server.log, turned into advice.
_DIAGNOSES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"Address already in use|BindException"),
        "a port is already in use ({ports}): stop what holds it or choose other ports",
    ),
    (
        re.compile(r"Could not find or load main class kafka\.|ClassNotFoundException: kafka\."),
        "the Kafka jars are missing from {libs}: run `make jars`",
    ),
    (
        re.compile(r"UnsupportedClassVersionError"),
        "this Java is too old: Kafka 4 needs Java 17 or newer",
    ),
    (
        re.compile(r"meta\.properties|is not formatted|No readable meta"),
        "the storage is not formatted, or formatted for another node: remove {state_dir}",
    ),
    (
        re.compile(r"(?i)invalid cluster\.?id|cluster ?id.*(?:doesn't|does not) match"),
        "the data dir belongs to another cluster id: remove {state_dir}",
    ),
    (
        re.compile(r"Could not reserve enough space|Invalid (?:maximum|initial) heap"),
        "the JVM could not reserve its heap: lower heap_mb or free memory",
    ),
    (
        re.compile(r"OutOfMemoryError"),
        "the broker ran out of memory: raise heap_mb",
    ),
)

_INTERESTING = re.compile(r"ERROR|FATAL|Exception|Error:|error:")


def _set_pdeathsig() -> None:  # pragma: no cover - runs in the forked child
    """Ask the kernel to SIGTERM this (child) process when its parent thread dies."""
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


def _run_in_thread(factory: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run a coroutine to completion on a private loop in a worker thread.

    Sync callers may already sit inside an event loop (pytest-asyncio, faust); a private loop in
    a thread neither needs nor disturbs theirs.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(factory())
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="ferry-kafka-wait", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: _T = box["result"]
    return result


class _ProbeNoise(logging.Filter):
    """Drops aiokafka's connection errors about ``bootstrap`` while a start-up probe runs."""

    def __init__(self, addresses: Iterable[str]) -> None:
        super().__init__()
        self.addresses = [tuple(a.rsplit(":", 1)) for a in addresses]

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.getMessage().startswith(("Unable connect", "Unable to request metadata")):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        return not any(
            len(args) >= 2 and (str(args[0]), str(args[1])) == addr for addr in self.addresses
        )


@contextlib.contextmanager
def _quiet_probe(bootstrap: str) -> Iterator[None]:
    noise = _ProbeNoise(bootstrap.split(","))
    logger = logging.getLogger("aiokafka")
    logger.addFilter(noise)
    try:
        yield
    finally:
        logger.removeFilter(noise)


async def describe_cluster(bootstrap: str, request_timeout: float = 5.0) -> list[int]:
    """Node ids of the brokers the cluster reports; raises if it cannot be reached."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=int(request_timeout * 1000),
        client_id="ferry-kafka-probe",
    )
    try:
        await asyncio.wait_for(admin.start(), request_timeout)
        described = await asyncio.wait_for(admin.describe_cluster(), request_timeout)
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
    return sorted(int(b["node_id"]) for b in described["brokers"])


class KafkaCluster:
    """A KRaft cluster of 1 or 3 nodes on this host, rooted in ``state_dir``.

    ``ports``/``controller_ports`` default to 9092/9093 for one node and
    19092,29092,39092 / 19093,29093,39093 for three; :meth:`with_free_ports` picks free ones.
    Opening a state dir that already holds a cluster (``cluster.json``) reuses its layout and
    cluster id; asking for another layout there is an error.
    """

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        nodes: int = 1,
        *,
        host: str = "127.0.0.1",
        ports: Sequence[int] | None = None,
        controller_ports: Sequence[int] | None = None,
        libs_dir: str | os.PathLike[str] | None = None,
        java: str | None = None,
        heap_mb: int = 512,
        cds: bool = True,
        die_with_parent: bool = False,
        extra_config: Mapping[str, str] | None = None,
        jvm_options: Sequence[str] = (),
        start_timeout: float = 90.0,
        stop_timeout: float = 30.0,
    ) -> None:
        if nodes not in (1, 3):
            raise ValueError("nodes must be 1 or 3")
        if not 256 <= heap_mb <= 4096:
            raise ValueError("heap_mb must be between 256 and 4096")
        self.state_dir = Path(state_dir).resolve()
        self.host = host
        self.libs_dir = Path(libs_dir).resolve() if libs_dir else DEFAULT_LIBS_DIR
        self.java = java or os.environ.get("FERRY_JAVA") or _default_java()
        self.heap_mb = heap_mb
        self.cds = cds
        self.die_with_parent = die_with_parent
        self.extra_config = dict(extra_config or {})
        self.jvm_options = list(jvm_options)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._procs: dict[int, subprocess.Popen[bytes]] = {}

        saved = self._load_layout()
        if saved is not None:
            self.nodes: list[NodeSpec] = saved["nodes"]
            self.cluster_id: str = saved["cluster_id"]
            self.host = saved["host"]
            asked = [n.port for n in self.nodes] if ports is None else list(ports)
            asked_c = (
                [n.controller_port for n in self.nodes]
                if controller_ports is None
                else list(controller_ports)
            )
            same = (
                len(self.nodes) == nodes
                and asked == [n.port for n in self.nodes]
                and asked_c == [n.controller_port for n in self.nodes]
            )
            if not same:
                raise KafkaClusterError(
                    f"{self.state_dir} already holds a {len(self.nodes)}-node cluster "
                    f"({_describe_layout(self.nodes)}); stop it and remove the directory, "
                    "or choose another state dir"
                )
            return
        defaults = [SINGLE_NODE_PORTS] if nodes == 1 else list(THREE_NODE_PORTS)
        bports = list(ports) if ports is not None else [p for p, _ in defaults]
        cports = (
            list(controller_ports) if controller_ports is not None else [c for _, c in defaults]
        )
        if len(bports) != nodes or len(cports) != nodes:
            raise ValueError(f"need {nodes} broker and {nodes} controller ports")
        if len(set(bports) | set(cports)) != 2 * nodes:
            raise ValueError("broker and controller ports must all differ")
        self.nodes = [NodeSpec(i + 1, bports[i], cports[i]) for i in range(nodes)]
        self.cluster_id = _random_cluster_id()

    # ------------------------------------------------------------------ construction helpers

    @classmethod
    def with_free_ports(
        cls, state_dir: str | os.PathLike[str], nodes: int = 1, **kwargs: Any
    ) -> KafkaCluster:
        """A cluster on ports that are free right now (for tests)."""
        host = kwargs.get("host", "127.0.0.1")
        ports = free_ports(2 * nodes, host)
        return cls(state_dir, nodes, ports=ports[:nodes], controller_ports=ports[nodes:], **kwargs)

    @classmethod
    def from_state_dir(cls, state_dir: str | os.PathLike[str], **kwargs: Any) -> KafkaCluster:
        """The cluster recorded in ``state_dir`` (to stop or inspect it from another process)."""
        path = Path(state_dir) / "cluster.json"
        if not path.exists():
            raise KafkaClusterError(f"no Kafka cluster recorded in {state_dir}")
        nodes = len(json.loads(path.read_text())["nodes"])
        return cls(state_dir, nodes, **kwargs)

    # ----------------------------------------------------------------------------- addresses

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(self.address(n.node_id) for n in self.nodes)

    def address(self, node_id: int) -> str:
        return f"{self.host}:{self.node(node_id).port}"

    def node(self, node_id: int) -> NodeSpec:
        for spec in self.nodes:
            if spec.node_id == node_id:
                return spec
        raise KeyError(f"no node {node_id} (nodes: {[n.node_id for n in self.nodes]})")

    def node_dir(self, node_id: int) -> Path:
        return self.state_dir / f"node-{node_id}"

    def log_file(self, node_id: int) -> Path:
        return self.node_dir(node_id) / "logs" / "server.log"

    # ----------------------------------------------------------------------------- lifecycle

    def start(self) -> float:
        """Start every node that is not running; block until all brokers serve requests.

        Returns the seconds it took. Raises :class:`KafkaClusterError` (and stops what it
        started) when a node fails.
        """
        began = time.monotonic()
        started = self._launch(self._not_running())
        try:
            _run_in_thread(lambda: self._wait_ready(started, began))
        except BaseException:
            self._stop_nodes(started)
            raise
        return time.monotonic() - began

    async def start_async(self) -> float:
        """:meth:`start` for callers inside an event loop (does not block the loop)."""
        began = time.monotonic()
        todo = self._not_running()
        self._check_prerequisites()
        await asyncio.to_thread(self._prepare, todo)
        started = [self._spawn(n) for n in todo]  # in this thread: see die_with_parent
        try:
            await self._wait_ready(started, began)
        except BaseException:
            await asyncio.to_thread(self._stop_nodes, started)
            raise
        return time.monotonic() - began

    def stop(self) -> None:
        """Stop every node: SIGTERM to its process group, wait, then SIGKILL. Idempotent."""
        self._stop_nodes([n.node_id for n in self.nodes])

    async def stop_async(self) -> None:
        await asyncio.to_thread(self.stop)

    def kill_node(self, node_id: int, *, graceful: bool = False) -> None:
        """Kill one node (SIGKILL, or a clean SIGTERM stop with ``graceful=True``)."""
        self.node(node_id)
        if graceful:
            self._stop_nodes([node_id])
            return
        pid = self._pid(node_id)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            self._wait_gone(node_id, pid, self.stop_timeout)
            self._forget(node_id)

    def start_node(self, node_id: int) -> float:
        """Start one stopped node and wait until the cluster lists it again."""
        self.node(node_id)
        if self._is_running(node_id):
            return 0.0
        began = time.monotonic()
        started = self._launch([self.node(node_id)])
        try:
            _run_in_thread(lambda: self._wait_ready(started, began))
        except BaseException:
            self._stop_nodes(started)
            raise
        return time.monotonic() - began

    async def start_node_async(self, node_id: int) -> float:
        self.node(node_id)
        if self._is_running(node_id):
            return 0.0
        began = time.monotonic()
        await asyncio.to_thread(self._prepare, [self.node(node_id)])
        started = [self._spawn(self.node(node_id))]
        try:
            await self._wait_ready(started, began)
        except BaseException:
            await asyncio.to_thread(self._stop_nodes, started)
            raise
        return time.monotonic() - began

    def heal(self) -> None:
        """Start whichever nodes are down (after a chaos test) and wait for all of them."""
        self.start()

    # -------------------------------------------------------------------------------- status

    def status(self) -> list[NodeStatus]:
        return [
            NodeStatus(n.node_id, self.address(n.node_id), self._pid(n.node_id), running)
            for n in self.nodes
            for running in [self._is_running(n.node_id)]
        ]

    def is_running(self) -> bool:
        """True if every node's JVM is alive (says nothing about serving: see :meth:`brokers`)."""
        return all(self._is_running(n.node_id) for n in self.nodes)

    def pids(self) -> dict[int, int]:
        return {n.node_id: pid for n in self.nodes if (pid := self._pid(n.node_id)) is not None}

    def rss_bytes(self) -> dict[int, int]:
        """Resident memory of each running node's JVM."""
        out: dict[int, int] = {}
        page = os.sysconf("SC_PAGE_SIZE")
        for node_id, pid in self.pids().items():
            with contextlib.suppress(OSError, ValueError, IndexError):
                out[node_id] = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        return out

    async def brokers(self, request_timeout: float = 5.0) -> list[int]:
        """Node ids that the cluster lists right now (asks a live broker)."""
        return await describe_cluster(self.bootstrap_servers, request_timeout)

    # ------------------------------------------------------------------------- configuration

    def properties(self, node_id: int) -> dict[str, str]:
        """The generated ``server.properties`` of one node."""
        spec = self.node(node_id)
        voters = ",".join(f"{n.node_id}@{self.host}:{n.controller_port}" for n in self.nodes)
        size = len(self.nodes)
        rf, min_isr = ("1", "1") if size == 1 else ("3", "2")
        props = {
            "process.roles": "broker,controller",
            "node.id": str(spec.node_id),
            "controller.quorum.voters": voters,
            "listeners": (
                f"PLAINTEXT://{self.host}:{spec.port},CONTROLLER://{self.host}:{spec.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://{self.host}:{spec.port}",
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.node_dir(node_id) / "data"),
            "num.partitions": "1",
            "default.replication.factor": rf,
            "min.insync.replicas": min_isr,
            "offsets.topic.replication.factor": rf,
            "offsets.topic.num.partitions": "10" if size == 1 else "12",
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": min_isr,
            "share.coordinator.state.topic.replication.factor": rf,
            "share.coordinator.state.topic.min.isr": min_isr,
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "true",
            "delete.topic.enable": "true",
            # Small and quick: this is a dev/test broker, not production.
            "num.network.threads": "2",
            "num.io.threads": "4",
            "log.segment.bytes": str(64 * 1024 * 1024),
            "log.retention.hours": "24",
            "controlled.shutdown.enable": "true",
        }
        props.update(self.extra_config)
        return props

    # ------------------------------------------------------------------------------ internals

    def _check_prerequisites(self) -> None:
        if shutil.which(self.java) is None and not Path(self.java).is_file():
            raise KafkaClusterError(
                f"java not found ({self.java!r}): Kafka 4 needs Java 17+ "
                "(apt-get install openjdk-17-jre-headless), or set FERRY_JAVA"
            )
        if not any(self.libs_dir.glob("kafka_2.13-*.jar")):
            raise KafkaClusterError(
                f"the Kafka jars are missing from {self.libs_dir}: run `make jars`"
            )

    def _launch(self, specs: list[NodeSpec]) -> list[int]:
        self._check_prerequisites()
        self._prepare(specs)
        return [self._spawn(spec) for spec in specs]

    def _prepare(self, specs: list[NodeSpec]) -> None:
        """Write the layout and each node's properties; format storage that is not formatted."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._save_layout()
        unformatted: list[NodeSpec] = []
        for spec in specs:
            node_dir = self.node_dir(spec.node_id)
            (node_dir / "data").mkdir(parents=True, exist_ok=True)
            (node_dir / "logs").mkdir(parents=True, exist_ok=True)
            text = "".join(f"{k}={v}\n" for k, v in self.properties(spec.node_id).items())
            (node_dir / "server.properties").write_text(text)
            if not (node_dir / "data" / "meta.properties").exists():
                unformatted.append(spec)
        procs = [
            (spec, self._java_proc(spec, "kafka.tools.StorageTool", "format", "-t",
                                   self.cluster_id, "-c",
                                   str(self.node_dir(spec.node_id) / "server.properties")))
            for spec in unformatted
        ]  # fmt: skip
        for spec, proc in procs:
            out, _ = proc.communicate(timeout=120)
            if proc.returncode != 0:
                text = out.decode(errors="replace")
                raise KafkaClusterError(
                    f"formatting node {spec.node_id} failed: "
                    f"{self._diagnose(text, spec) or _tail(text, 8)}"
                )

    def _java_proc(self, spec: NodeSpec, main: str, *args: str) -> subprocess.Popen[bytes]:
        cmd = [
            self.java,
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            *self._log_options(spec),
            "-cp",
            str(self.libs_dir / "*"),
            main,
            *args,
        ]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def _log_options(self, spec: NodeSpec) -> list[str]:
        return [
            f"-Dlog4j2.configurationFile={LOG4J2_CONFIG}",
            f"-Dkafka.logs.dir={self.node_dir(spec.node_id) / 'logs'}",
        ]

    def _cds_options(self, spec: NodeSpec) -> list[str]:
        """Class-data sharing: the first start records an archive at exit, later ones map it."""
        if not self.cds or not os.access(self.libs_dir, os.W_OK):
            return []
        archive = self.libs_dir / CDS_ARCHIVE_NAME
        marker = self.node_dir(spec.node_id) / "cds-dump"
        if archive.exists():
            marker.unlink(missing_ok=True)
            return [f"-XX:SharedArchiveFile={archive}", "-Xshare:auto"]
        tmp = self.libs_dir / f"{CDS_ARCHIVE_NAME}.{uuid.uuid4().hex}.tmp"
        marker.write_text(str(tmp))
        return [f"-XX:ArchiveClassesAtExit={tmp}"]

    def _spawn(self, spec: NodeSpec) -> int:
        node_dir = self.node_dir(spec.node_id)
        log = self.log_file(spec.node_id)
        if log.exists():  # keep the previous run's log for post-mortems, start clean
            log.replace(log.with_suffix(".log.prev"))
        cmd = [
            self.java,
            f"-Xms{min(256, self.heap_mb)}m",
            f"-Xmx{self.heap_mb}m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            *self._cds_options(spec),
            *self._log_options(spec),
            *self.jvm_options,
            "-cp",
            str(self.libs_dir / "*"),
            "kafka.Kafka",
            str(node_dir / "server.properties"),
        ]
        with open(node_dir / "kafka.out", "wb") as out:
            try:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=node_dir,
                    start_new_session=True,
                    preexec_fn=_set_pdeathsig if self.die_with_parent else None,
                )
            except FileNotFoundError as exc:
                raise KafkaClusterError(
                    f"java not found ({self.java!r}): install openjdk-17-jre-headless"
                ) from exc
        self._procs[spec.node_id] = proc
        (node_dir / "kafka.pid").write_text(f"{proc.pid}\n")
        return spec.node_id

    async def _wait_ready(self, node_ids: Iterable[int], began: float) -> None:
        """Until every node of the cluster is listed by describe_cluster (or one dies)."""
        with _quiet_probe(self.bootstrap_servers):
            await self._wait_listed(list(node_ids), began)

    async def _wait_listed(self, node_ids: list[int], began: float) -> None:
        wanted = {
            n.node_id for n in self.nodes if n.node_id in node_ids or self._is_running(n.node_id)
        }
        deadline = began + self.start_timeout
        last_error = "no answer yet"
        while True:
            for node_id in node_ids:
                if not self._is_running(node_id):
                    raise self._failure(node_id, "exited during start-up")
            try:
                listed = set(await describe_cluster(self.bootstrap_servers, request_timeout=3.0))
                if wanted <= listed:
                    return
                last_error = f"brokers listed: {sorted(listed)}, waiting for {sorted(wanted)}"
            except Exception as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise self._failure(
                    node_ids[0],
                    f"not ready after {self.start_timeout:.0f} s ({last_error})",
                )
            await asyncio.sleep(0.2)

    def _failure(self, node_id: int, what: str) -> KafkaClusterError:
        spec = self.node(node_id)
        text = ""
        for path in (self.node_dir(node_id) / "kafka.out", self.log_file(node_id)):
            with contextlib.suppress(OSError):
                text += path.read_text(errors="replace")[-200_000:] + "\n"
        advice = self._diagnose(text, spec)
        lines = [ln for ln in text.splitlines() if _INTERESTING.search(ln)][-5:]
        detail = "\n  ".join(lines) if lines else _tail(text, 5)
        return KafkaClusterError(
            f"Kafka node {node_id} ({self.address(node_id)}) {what}"
            + (f": {advice}" if advice else "")
            + (f"\n  {detail}" if detail else "")
            + f"\n  (logs: {self.node_dir(node_id)})"
        )

    def _diagnose(self, text: str, spec: NodeSpec) -> str | None:
        for pattern, advice in _DIAGNOSES:
            if pattern.search(text):
                return advice.format(
                    ports=f"{spec.port}, {spec.controller_port}",
                    libs=self.libs_dir,
                    state_dir=self.state_dir,
                )
        return None

    def _stop_nodes(self, node_ids: Iterable[int]) -> None:
        targets = [(n, pid) for n in node_ids if (pid := self._pid(n)) is not None]
        for _, pid in targets:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for node_id, pid in targets:
            if not self._wait_gone(node_id, pid, max(0.0, deadline - time.monotonic())):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                self._wait_gone(node_id, pid, 10.0)
        for node_id, _ in targets:
            self._forget(node_id)
            self._adopt_cds_archive(node_id)

    def _wait_gone(self, node_id: int, pid: int, timeout: float) -> bool:
        proc = self._procs.get(node_id)
        if proc is not None and proc.pid == pid:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            return _group_gone(pid, timeout=2.0)
        deadline = time.monotonic() + timeout
        while _alive(pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return _group_gone(pid, timeout=2.0)

    def _forget(self, node_id: int) -> None:
        self._procs.pop(node_id, None)
        (self.node_dir(node_id) / "kafka.pid").unlink(missing_ok=True)

    def _adopt_cds_archive(self, node_id: int) -> None:
        """After a recording JVM exits, publish its archive (first one wins)."""
        marker = self.node_dir(node_id) / "cds-dump"
        with contextlib.suppress(OSError):
            tmp = Path(marker.read_text().strip())
            marker.unlink()
            archive = self.libs_dir / CDS_ARCHIVE_NAME
            if tmp.exists() and tmp.stat().st_size > 0 and not archive.exists():
                tmp.replace(archive)
            tmp.unlink(missing_ok=True)

    def _pid(self, node_id: int) -> int | None:
        proc = self._procs.get(node_id)
        if proc is not None:
            return proc.pid if proc.poll() is None else None
        try:
            pid = int((self.node_dir(node_id) / "kafka.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if self._owns(pid, node_id) else None

    def _owns(self, pid: int, node_id: int) -> bool:
        """The pid is alive and is this node's JVM (not a recycled pid)."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        props = str(self.node_dir(node_id) / "server.properties").encode()
        return _alive(pid) and b"kafka.Kafka" in cmdline and props in cmdline

    def _is_running(self, node_id: int) -> bool:
        return self._pid(node_id) is not None

    def _not_running(self) -> list[NodeSpec]:
        return [n for n in self.nodes if not self._is_running(n.node_id)]

    def _layout_path(self) -> Path:
        return self.state_dir / "cluster.json"

    def _load_layout(self) -> dict[str, Any] | None:
        try:
            raw = json.loads(self._layout_path().read_text())
        except (OSError, ValueError):
            return None
        return {
            "cluster_id": raw["cluster_id"],
            "host": raw["host"],
            "nodes": [
                NodeSpec(n["node_id"], n["port"], n["controller_port"]) for n in raw["nodes"]
            ],
        }

    def _save_layout(self) -> None:
        data = {
            "cluster_id": self.cluster_id,
            "host": self.host,
            "nodes": [
                {"node_id": n.node_id, "port": n.port, "controller_port": n.controller_port}
                for n in self.nodes
            ],
        }
        self._layout_path().write_text(json.dumps(data, indent=2) + "\n")

    def __repr__(self) -> str:
        return f"KafkaCluster({self.bootstrap_servers!r}, state_dir={str(self.state_dir)!r})"


def _default_java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return "java"


def _random_cluster_id() -> str:
    """What ``StorageTool random-uuid`` prints (a base64url UUID), without starting a JVM."""
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):  # as Kafka's Uuid.randomUuid: "-..." reads as a flag
            return cluster_id


def _describe_layout(nodes: list[NodeSpec]) -> str:
    return ", ".join(f"node {n.node_id}: {n.port}/{n.controller_port}" for n in nodes)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


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


def _tail(text: str, lines: int) -> str:
    return "\n  ".join(text.strip().splitlines()[-lines:])
