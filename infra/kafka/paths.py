"""The files of one node under a cluster's state dir (the whole tree: docs/kafka.md)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["NodeFiles"]


class NodeFiles:
    """``<state_dir>/node-<N>/`` and what lives in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.properties = root / "server.properties"
        self.data = root / "data"  # log.dirs
        self.meta = self.data / "meta.properties"  # there once the storage is formatted
        self.logs = root / "logs"
        self.server_log = self.logs / "server.log"
        self.out = root / "kafka.out"  # the JVM's own stdout and stderr
        self.pid = root / "kafka.pid"
        self.cds_marker = root / "cds-dump"  # names the archive this node's JVM records at exit
