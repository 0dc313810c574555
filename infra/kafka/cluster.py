"""``KafkaCluster``: a real Apache Kafka (KRaft) of 1 or 3 nodes on this host, from ``libs/``.

It composes the other modules of this package (ports, paths, config, process, readiness,
diagnosis); how a cluster lives on disk and why it starts and stops as it does: docs/kafka.md.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.kafka.config import (
    DEFAULT_LIBS_DIR,
    adopt_cds_archive,
    broker_command,
    cds_options,
    default_java,
    server_properties,
    tool_command,
    write_properties,
)
from infra.kafka.diagnosis import (
    KafkaClusterError,
    check_prerequisites,
    diagnose,
    node_failure,
    read_logs,
    tail,
)
from infra.kafka.paths import NodeFiles
from infra.kafka.ports import (
    LAYOUT_FILE,
    Layout,
    NodeSpec,
    describe_layout,
    free_ports,
    plan_nodes,
    same_layout,
)
from infra.kafka.process import NodeProcesses, rss_bytes, run_together
from infra.kafka.readiness import describe_cluster, run_in_thread, wait_until_listed

__all__ = [
    "DEFAULT_LIBS_DIR",
    "KafkaCluster",
    "KafkaClusterError",
    "NodeSpec",
    "NodeStatus",
    "describe_cluster",
    "free_ports",
]


@dataclass(frozen=True)
class NodeStatus:
    node_id: int
    address: str
    pid: int | None
    running: bool


class KafkaCluster:
    """A KRaft cluster of 1 or 3 nodes on this host, rooted in ``state_dir``.

    ``ports``/``controller_ports`` default to 9092/9093 for one node and
    19092,29092,39092 / 19093,29093,39093 for three; :meth:`with_free_ports` picks free ones.
    Opening a state dir that already holds a cluster (``cluster.json``) reuses its layout and
    cluster id; asking for another layout there is an error. ``format_options`` go to the
    storage format of a new node (``--add-scram MECHANISM=[name=…,password=…]`` for one: SCRAM
    users of a KRaft cluster are written with its first metadata).
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
        format_options: Sequence[str] = (),
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
        self.java = java or os.environ.get("FERRY_JAVA") or default_java()
        self.heap_mb = heap_mb
        self.cds = cds
        self.die_with_parent = die_with_parent
        self.extra_config = dict(extra_config or {})
        self.jvm_options = list(jvm_options)
        self.format_options = list(format_options)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._processes = NodeProcesses(self._files)

        saved = Layout.load(self._layout_path())
        if saved is None:
            self.nodes: list[NodeSpec] = plan_nodes(nodes, ports, controller_ports)
            self.cluster_id: str = _random_cluster_id()
            return
        self.nodes, self.cluster_id, self.host = saved.nodes, saved.cluster_id, saved.host
        if not same_layout(self.nodes, nodes, ports, controller_ports):
            raise KafkaClusterError(
                f"{self.state_dir} already holds a {len(self.nodes)}-node cluster "
                f"({describe_layout(self.nodes)}); stop it and remove the directory, "
                "or choose another state dir"
            )

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
        path = Path(state_dir) / LAYOUT_FILE
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
        return self._files(node_id).server_log

    # ----------------------------------------------------------------------------- lifecycle

    def start(self) -> float:
        """Start every node that is not running; block until all brokers serve requests.

        Returns the seconds it took. Raises :class:`KafkaClusterError` (and stops what it
        started) when a node fails.
        """
        return self._start(self._not_running())

    async def start_async(self) -> float:
        """:meth:`start` for callers inside an event loop (does not block the loop)."""
        return await self._start_async(self._not_running())

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
        else:
            self._processes.kill(node_id, self.stop_timeout)

    def start_node(self, node_id: int) -> float:
        """Start one stopped node and wait until the cluster lists it again."""
        spec = self.node(node_id)
        return 0.0 if self._is_running(node_id) else self._start([spec])

    async def start_node_async(self, node_id: int) -> float:
        spec = self.node(node_id)
        return 0.0 if self._is_running(node_id) else await self._start_async([spec])

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
        return rss_bytes(self.pids())

    async def brokers(self, request_timeout: float = 5.0) -> list[int]:
        """Node ids that the cluster lists right now (asks a live broker)."""
        return await describe_cluster(self.bootstrap_servers, request_timeout)

    # ------------------------------------------------------------------------- configuration

    def properties(self, node_id: int) -> dict[str, str]:
        """The generated ``server.properties`` of one node."""
        return server_properties(
            self.node(node_id), self.nodes, self.host, self._files(node_id), self.extra_config
        )

    # ------------------------------------------------------------------------------ internals

    def _start(self, specs: list[NodeSpec]) -> float:
        began = time.monotonic()
        check_prerequisites(self.java, self.libs_dir)
        self._prepare(specs)
        started = [self._spawn(spec) for spec in specs]
        try:
            run_in_thread(lambda: self._wait_ready(started, began))
        except BaseException:
            self._stop_nodes(started)
            raise
        return time.monotonic() - began

    async def _start_async(self, specs: list[NodeSpec]) -> float:
        began = time.monotonic()
        check_prerequisites(self.java, self.libs_dir)
        await asyncio.to_thread(self._prepare, specs)
        started = [self._spawn(spec) for spec in specs]  # in this thread: see die_with_parent
        try:
            await self._wait_ready(started, began)
        except BaseException:
            await asyncio.to_thread(self._stop_nodes, started)
            raise
        return time.monotonic() - began

    def _prepare(self, specs: list[NodeSpec]) -> None:
        """Write the layout and each node's properties; format storage that is not formatted."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._save_layout()
        unformatted: list[NodeSpec] = []
        for spec in specs:
            files = self._files(spec.node_id)
            files.data.mkdir(parents=True, exist_ok=True)
            files.logs.mkdir(parents=True, exist_ok=True)
            write_properties(files.properties, self.properties(spec.node_id))
            if not files.meta.exists():
                unformatted.append(spec)
        formats = [
            tool_command(self.java, self.libs_dir, files, "kafka.tools.StorageTool", "format",
                         "-t", self.cluster_id, "-c", str(files.properties),
                         *self.format_options)
            for files in (self._files(spec.node_id) for spec in unformatted)
        ]  # fmt: skip
        for spec, (code, text) in zip(unformatted, run_together(formats, 120), strict=True):
            if code != 0:
                raise KafkaClusterError(
                    f"formatting node {spec.node_id} failed: "
                    f"{self._diagnose(text, spec) or tail(text, 8)}"
                )

    def _spawn(self, spec: NodeSpec) -> int:
        files = self._files(spec.node_id)
        cmd = broker_command(
            self.java,
            self.libs_dir,
            files,
            heap_mb=self.heap_mb,
            cds=cds_options(self.cds, self.libs_dir, files),
            jvm_options=self.jvm_options,
        )
        self._processes.spawn(spec.node_id, cmd, die_with_parent=self.die_with_parent)
        return spec.node_id

    async def _wait_ready(self, node_ids: list[int], began: float) -> None:
        """Until every node of the cluster is listed by describe_cluster (or one dies)."""
        wanted = {
            n.node_id for n in self.nodes if n.node_id in node_ids or self._is_running(n.node_id)
        }
        await wait_until_listed(
            self.bootstrap_servers,
            wanted,
            node_ids,
            began=began,
            start_timeout=self.start_timeout,
            is_running=self._is_running,
            failure=self._failure,
        )

    def _failure(self, node_id: int, what: str) -> KafkaClusterError:
        files = self._files(node_id)
        text = read_logs(files.out, files.server_log)
        return node_failure(
            f"Kafka node {node_id} ({self.address(node_id)}) {what}",
            text,
            self._diagnose(text, self.node(node_id)),
            files.root,
        )

    def _diagnose(self, text: str, spec: NodeSpec) -> str | None:
        return diagnose(text, spec, self.libs_dir, self.state_dir)

    def _stop_nodes(self, node_ids: Iterable[int]) -> None:
        for node_id in self._processes.stop(node_ids, self.stop_timeout):
            adopt_cds_archive(self.libs_dir, self._files(node_id))

    def _files(self, node_id: int) -> NodeFiles:
        return NodeFiles(self.node_dir(node_id))

    def _pid(self, node_id: int) -> int | None:
        return self._processes.pid(node_id)

    def _is_running(self, node_id: int) -> bool:
        return self._processes.is_running(node_id)

    def _not_running(self) -> list[NodeSpec]:
        return [n for n in self.nodes if not self._is_running(n.node_id)]

    def _layout_path(self) -> Path:
        return self.state_dir / LAYOUT_FILE

    def _save_layout(self) -> None:
        Layout(self.cluster_id, self.host, self.nodes).save(self._layout_path())

    def __repr__(self) -> str:
        return f"KafkaCluster({self.bootstrap_servers!r}, state_dir={str(self.state_dir)!r})"


def _random_cluster_id() -> str:
    """What ``StorageTool random-uuid`` prints (a base64url UUID), without starting a JVM."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):  # as Kafka's Uuid.randomUuid: "-..." reads as a flag
            return cluster_id
