"""Ports: where each node listens, the default layouts, free ports, the layout record on disk."""

from __future__ import annotations

import json
import random
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "LAYOUT_FILE",
    "SINGLE_NODE_PORTS",
    "THREE_NODE_PORTS",
    "Layout",
    "NodeSpec",
    "describe_layout",
    "free_ports",
    "plan_nodes",
    "same_layout",
]

LAYOUT_FILE = "cluster.json"
SINGLE_NODE_PORTS = (9092, 9093)
THREE_NODE_PORTS = ((19092, 19093), (29092, 29093), (39092, 39093))


@dataclass(frozen=True)
class NodeSpec:
    node_id: int
    port: int
    controller_port: int


_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 20_000
# Every port this process has handed out: free when handed out, but not bound yet.
_HANDED_OUT: set[int] = set()


def _ephemeral_start() -> int:
    """The first port the kernel hands to outgoing connections (32768 when unknown)."""
    try:
        return int(_EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct TCP ports that are free on ``host`` right now, chosen below the
    kernel's ephemeral range: a port the OS picked (``bind(0)``) can be taken by any
    outgoing connection before its server binds it, one of these cannot. A port is handed
    out once per process: two calls made before either server binds never share one."""
    top = max(_ephemeral_start(), _LOWEST + 1_000)
    candidates = random.sample(range(_LOWEST, top), k=min(top - _LOWEST, 64 * count + 64))
    found: list[int] = []
    for port in candidates:
        if port in _HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            _HANDED_OUT.update(found)
            return found
    raise OSError(f"no {count} free ports on {host} below {top}")


def plan_nodes(
    nodes: int, ports: Sequence[int] | None, controller_ports: Sequence[int] | None
) -> list[NodeSpec]:
    """The nodes of a new cluster: the ports asked for, or the defaults; ValueError if unusable."""
    defaults = [SINGLE_NODE_PORTS] if nodes == 1 else list(THREE_NODE_PORTS)
    bports = list(ports) if ports is not None else [p for p, _ in defaults]
    cports = list(controller_ports) if controller_ports is not None else [c for _, c in defaults]
    if len(bports) != nodes or len(cports) != nodes:
        raise ValueError(f"need {nodes} broker and {nodes} controller ports")
    if len(set(bports) | set(cports)) != 2 * nodes:
        raise ValueError("broker and controller ports must all differ")
    return [NodeSpec(i + 1, bports[i], cports[i]) for i in range(nodes)]


def same_layout(
    saved: Sequence[NodeSpec],
    nodes: int,
    ports: Sequence[int] | None,
    controller_ports: Sequence[int] | None,
) -> bool:
    """Whether a request for ``nodes`` nodes (unset ports: any) fits the ``saved`` layout."""
    saved_ports = [n.port for n in saved]
    saved_cports = [n.controller_port for n in saved]
    return (
        len(saved) == nodes
        and (saved_ports if ports is None else list(ports)) == saved_ports
        and (saved_cports if controller_ports is None else list(controller_ports)) == saved_cports
    )


def describe_layout(nodes: Sequence[NodeSpec]) -> str:
    return ", ".join(f"node {n.node_id}: {n.port}/{n.controller_port}" for n in nodes)


@dataclass(frozen=True)
class Layout:
    """What ``cluster.json`` records: the cluster id, the host, and each node's ports."""

    cluster_id: str
    host: str
    nodes: list[NodeSpec]

    @classmethod
    def load(cls, path: Path) -> Layout | None:
        """The layout saved at ``path``; None when there is none (or it is unreadable JSON)."""
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        nodes = [NodeSpec(n["node_id"], n["port"], n["controller_port"]) for n in raw["nodes"]]
        return cls(raw["cluster_id"], raw["host"], nodes)

    def save(self, path: Path) -> None:
        data = {
            "cluster_id": self.cluster_id,
            "host": self.host,
            "nodes": [
                {"node_id": n.node_id, "port": n.port, "controller_port": n.controller_port}
                for n in self.nodes
            ],
        }
        path.write_text(json.dumps(data, indent=2) + "\n")
