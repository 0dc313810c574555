"""What a node is started with: ``server.properties``, JVM command lines, class-data sharing."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from infra.kafka.paths import NodeFiles
from infra.kafka.ports import NodeSpec

__all__ = [
    "CDS_ARCHIVE_NAME",
    "DEFAULT_LIBS_DIR",
    "LOG4J2_CONFIG",
    "adopt_cds_archive",
    "broker_command",
    "cds_options",
    "default_java",
    "server_properties",
    "tool_command",
    "write_properties",
]

_HERE = Path(__file__).resolve().parent
DEFAULT_LIBS_DIR = Path(os.environ.get("FERRY_KAFKA_LIBS", _HERE / "libs"))
LOG4J2_CONFIG = _HERE / "log4j2.xml"
CDS_ARCHIVE_NAME = "ferry-kafka.jsa"


def default_java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return "java"


def server_properties(
    spec: NodeSpec,
    nodes: Sequence[NodeSpec],
    host: str,
    files: NodeFiles,
    extra: Mapping[str, str],
) -> dict[str, str]:
    """The ``server.properties`` of node ``spec`` in a cluster of ``nodes``; ``extra`` wins."""
    voters = ",".join(f"{n.node_id}@{host}:{n.controller_port}" for n in nodes)
    size = len(nodes)
    rf, min_isr = ("1", "1") if size == 1 else ("3", "2")
    props = {
        "process.roles": "broker,controller",
        "node.id": str(spec.node_id),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://{host}:{spec.port},CONTROLLER://{host}:{spec.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{spec.port}",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(files.data),
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
    props.update(extra)
    return props


def write_properties(path: Path, props: Mapping[str, str]) -> None:
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))


def broker_command(
    java: str,
    libs_dir: Path,
    files: NodeFiles,
    *,
    heap_mb: int,
    cds: Sequence[str],
    jvm_options: Sequence[str],
) -> list[str]:
    """The command line of a node's broker JVM (``kafka.Kafka``)."""
    options = [
        f"-Xms{min(256, heap_mb)}m",
        f"-Xmx{heap_mb}m",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        *cds,
        *_log_options(files),
        *jvm_options,
    ]
    return _java_command(java, libs_dir, options, "kafka.Kafka", str(files.properties))


def tool_command(java: str, libs_dir: Path, files: NodeFiles, main: str, *args: str) -> list[str]:
    """The command line of a short-lived Kafka tool (small heap, quick start)."""
    options = ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", *_log_options(files)]
    return _java_command(java, libs_dir, options, main, *args)


def _java_command(
    java: str, libs_dir: Path, options: Sequence[str], main: str, *args: str
) -> list[str]:
    return [java, *options, "-cp", str(libs_dir / "*"), main, *args]


def _log_options(files: NodeFiles) -> list[str]:
    return [f"-Dlog4j2.configurationFile={LOG4J2_CONFIG}", f"-Dkafka.logs.dir={files.logs}"]


def cds_options(enabled: bool, libs_dir: Path, files: NodeFiles) -> list[str]:
    """Class-data sharing: the first start records an archive at exit, later ones map it."""
    if not enabled or not os.access(libs_dir, os.W_OK):
        return []
    archive = libs_dir / CDS_ARCHIVE_NAME
    if archive.exists():
        files.cds_marker.unlink(missing_ok=True)
        return [f"-XX:SharedArchiveFile={archive}", "-Xshare:auto"]
    tmp = libs_dir / f"{CDS_ARCHIVE_NAME}.{uuid.uuid4().hex}.tmp"
    files.cds_marker.write_text(str(tmp))
    return [f"-XX:ArchiveClassesAtExit={tmp}"]


def adopt_cds_archive(libs_dir: Path, files: NodeFiles) -> None:
    """After a recording JVM exits, publish its archive (first one wins)."""
    with contextlib.suppress(OSError):
        tmp = Path(files.cds_marker.read_text().strip())
        files.cds_marker.unlink()
        archive = libs_dir / CDS_ARCHIVE_NAME
        if tmp.exists() and tmp.stat().st_size > 0 and not archive.exists():
            tmp.replace(archive)
        tmp.unlink(missing_ok=True)
