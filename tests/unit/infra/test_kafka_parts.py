"""The parts of infra/kafka that need no JVM: ports, config, diagnosis, process and readiness."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import pytest

from infra.kafka import KafkaCluster, KafkaClusterError
from infra.kafka.config import (
    CDS_ARCHIVE_NAME,
    adopt_cds_archive,
    broker_command,
    cds_options,
    server_properties,
    tool_command,
)
from infra.kafka.diagnosis import check_prerequisites, diagnose, node_failure, read_logs
from infra.kafka.paths import NodeFiles
from infra.kafka.ports import Layout, NodeSpec, free_ports, plan_nodes, same_layout
from infra.kafka.process import NodeProcesses, rss_bytes
from infra.kafka.readiness import _ProbeNoise, run_in_thread, wait_until_listed

THREE = [NodeSpec(1, 19092, 19093), NodeSpec(2, 29092, 29093), NodeSpec(3, 39092, 39093)]


# ----------------------------------------------------------------------------------- ports


def test_default_layouts() -> None:
    assert plan_nodes(1, None, None) == [NodeSpec(1, 9092, 9093)]
    assert plan_nodes(3, None, None) == THREE


@pytest.mark.parametrize(
    ("ports", "controller_ports", "error"),
    [
        ([1, 2], [3], "need 1 broker and 1 controller ports"),
        ([1], [1], "must all differ"),
    ],
)
def test_unusable_ports_are_refused(
    ports: list[int], controller_ports: list[int], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        plan_nodes(1, ports, controller_ports)


def test_same_layout_treats_unset_ports_as_any() -> None:
    assert same_layout(THREE, 3, None, None)
    assert same_layout(THREE, 3, [19092, 29092, 39092], None)
    assert not same_layout(THREE, 1, None, None)
    assert not same_layout(THREE, 3, None, [1, 2, 3])


def test_free_ports_are_distinct() -> None:
    ports = free_ports(4)
    assert len(set(ports)) == 4


def test_a_port_handed_out_is_not_handed_out_again_in_the_same_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two services given ports by two calls must not get the same one, though neither has
    bound it yet: the draw repeats itself here, as a random draw may."""
    monkeypatch.setattr("infra.kafka.ports.random.sample", lambda seq, k: sorted(seq)[-k:][::-1])
    first = free_ports(1)
    second = free_ports(1)
    third = free_ports(2)
    assert len(set(first + second + third)) == 4


def test_layout_round_trips_and_a_missing_or_broken_one_is_none(tmp_path: Path) -> None:
    path = tmp_path / "cluster.json"
    assert Layout.load(path) is None
    Layout("abc", "127.0.0.1", THREE).save(path)
    assert Layout.load(path) == Layout("abc", "127.0.0.1", THREE)
    path.write_text("{not json")
    assert Layout.load(path) is None


def test_reopening_a_state_dir_reuses_its_layout_and_cluster_id(tmp_path: Path) -> None:
    first = KafkaCluster(tmp_path, ports=[1111], controller_ports=[1112], host="127.0.0.2")
    first._save_layout()

    reopened = KafkaCluster.from_state_dir(tmp_path)

    assert reopened.nodes == [NodeSpec(1, 1111, 1112)]
    assert (reopened.cluster_id, reopened.host) == (first.cluster_id, "127.0.0.2")


# ---------------------------------------------------------------------------------- config


def test_properties_of_three_nodes(tmp_path: Path) -> None:
    files = NodeFiles(tmp_path / "node-2")
    props = server_properties(THREE[1], THREE, "h", files, {"num.partitions": "6"})

    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == "1@h:19093,2@h:29093,3@h:39093"
    assert props["listeners"] == "PLAINTEXT://h:29092,CONTROLLER://h:29093"
    assert props["log.dirs"] == str(tmp_path / "node-2" / "data")
    assert (props["default.replication.factor"], props["min.insync.replicas"]) == ("3", "2")
    assert props["num.partitions"] == "6"  # extra config wins


def test_a_single_node_replicates_once(tmp_path: Path) -> None:
    spec = NodeSpec(1, 9092, 9093)
    props = server_properties(spec, [spec], "h", NodeFiles(tmp_path), {})

    assert (props["default.replication.factor"], props["min.insync.replicas"]) == ("1", "1")
    assert props["offsets.topic.num.partitions"] == "10"


def test_broker_and_tool_command_lines(tmp_path: Path) -> None:
    files = NodeFiles(tmp_path / "node-1")
    broker = broker_command(
        "java", tmp_path, files, heap_mb=384, cds=["-Xshare:auto"], jvm_options=["-Dx=1"]
    )
    tool = tool_command("java", tmp_path, files, "kafka.tools.StorageTool", "format")

    assert broker[:3] == ["java", "-Xms256m", "-Xmx384m"]
    assert broker.index("-Xshare:auto") < broker.index("-Dx=1") < broker.index("-cp")
    assert broker[-3:] == [str(tmp_path / "*"), "kafka.Kafka", str(files.properties)]
    assert f"-Dkafka.logs.dir={files.logs}" in broker
    assert tool[:2] == ["java", "-Xmx256m"]
    assert tool[-4:] == ["-cp", str(tmp_path / "*"), "kafka.tools.StorageTool", "format"]


def test_cds_records_once_then_maps_the_archive(tmp_path: Path) -> None:
    files = NodeFiles(tmp_path / "node-1")
    files.root.mkdir()
    assert cds_options(False, tmp_path, files) == []

    [record] = cds_options(True, tmp_path, files)
    assert record.startswith("-XX:ArchiveClassesAtExit=")
    Path(record.split("=", 1)[1]).write_bytes(b"archive")  # what the JVM writes at exit
    adopt_cds_archive(tmp_path, files)

    assert (tmp_path / CDS_ARCHIVE_NAME).read_bytes() == b"archive"
    assert not files.cds_marker.exists()
    assert cds_options(True, tmp_path, files)[0] == (
        f"-XX:SharedArchiveFile={tmp_path / CDS_ARCHIVE_NAME}"
    )


# ------------------------------------------------------------------------------- diagnosis


def test_known_failures_become_advice(tmp_path: Path) -> None:
    spec = NodeSpec(1, 1234, 1235)
    in_use = diagnose("java.net.BindException: Address already in use", spec, tmp_path, tmp_path)
    no_jars = diagnose("Could not find or load main class kafka.Kafka", spec, tmp_path, tmp_path)

    assert in_use is not None
    assert "already in use (1234, 1235)" in in_use
    assert no_jars == f"the Kafka jars are missing from {tmp_path}: run `make jars`"
    assert diagnose("all good", spec, tmp_path, tmp_path) is None


def test_prerequisites(tmp_path: Path) -> None:
    with pytest.raises(KafkaClusterError, match="java not found"):
        check_prerequisites(str(tmp_path / "no-java"), tmp_path)
    with pytest.raises(KafkaClusterError, match="run `make jars`"):
        check_prerequisites(sys.executable, tmp_path)
    (tmp_path / "kafka_2.13-4.0.0.jar").touch()
    check_prerequisites(sys.executable, tmp_path)


def test_a_failure_names_the_advice_the_error_lines_and_the_logs(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("starting\nERROR boom\nmore\n")
    text = read_logs(tmp_path / "missing.out", log)

    error = node_failure("Kafka node 1 (h:1) exited", text, "do this", tmp_path)

    assert str(error) == f"Kafka node 1 (h:1) exited: do this\n  ERROR boom\n  (logs: {tmp_path})"


# --------------------------------------------------------------------------------- process


def test_a_pid_file_of_another_process_is_not_trusted(tmp_path: Path) -> None:
    files = NodeFiles(tmp_path)
    files.pid.write_text(f"{os.getpid()}\n")  # alive, but not this node's JVM
    processes = NodeProcesses(lambda _: files)

    assert processes.pid(1) is None
    assert processes.stop([1], timeout=1.0) == []


def test_rss_of_this_process() -> None:
    assert rss_bytes({7: os.getpid(), 8: 2**22 + 1})[7] > 0


# ------------------------------------------------------------------------------- readiness


def test_run_in_thread_returns_and_raises() -> None:
    async def answer() -> int:
        return 42

    async def fail() -> int:
        raise KeyError("x")

    assert run_in_thread(answer) == 42
    with pytest.raises(KeyError):
        run_in_thread(fail)


def test_probe_noise_is_dropped_only_for_the_probed_brokers() -> None:
    noise = _ProbeNoise(["127.0.0.1:9092"])

    def record(msg: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord("aiokafka", logging.ERROR, "f", 1, msg, args, None)

    assert not noise.filter(record("Unable connect to node with id %s: %s", "127.0.0.1", 9092))
    assert noise.filter(record("Unable connect to node with id %s: %s", "10.0.0.1", 9092))
    assert noise.filter(record("something else"))


async def test_a_started_node_that_exits_fails_the_wait() -> None:
    def failure(node_id: int, what: str) -> Exception:
        return KafkaClusterError(f"node {node_id} {what}")

    with pytest.raises(KafkaClusterError, match="node 2 exited during start-up"):
        await wait_until_listed(
            "127.0.0.1:1",
            {1, 2},
            [2],
            began=time.monotonic(),
            start_timeout=5.0,
            is_running=lambda _: False,
            failure=failure,
        )
