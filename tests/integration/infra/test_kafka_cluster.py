"""The real Kafka that infra/kafka starts: serves clients, stops cleanly, fails clearly."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from infra.kafka import KafkaCluster, KafkaClusterError, free_ports
from tests.fixtures.kafka import KafkaClusterFactory

pytestmark = pytest.mark.kafka


def _topic(prefix: str) -> str:
    return f"test.{prefix}.{uuid.uuid4().hex[:8]}"


def _no_process_in_group(pgid: int, wait_s: float = 5.0) -> bool:
    """No live process (zombies awaiting their reaper do not count) is left in the group."""
    deadline = time.monotonic() + wait_s
    while True:
        live = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(stat[2]) == pgid and stat[0] not in ("Z", "X"):
                live.append(entry)
        if not live:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


async def test_produce_and_consume_with_acks_all_and_idempotence(kafka_bootstrap: str) -> None:
    topic = _topic("roundtrip")
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        sent = await producer.send_and_wait(
            topic, b"value-1", key=b"shop:order:1", headers=[("ce_id", b"abc")]
        )
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"g-{topic}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        record = await consumer.getone()
        await consumer.commit()
    finally:
        await consumer.stop()

    assert sent.offset == 0
    assert (record.key, record.value) == (b"shop:order:1", b"value-1")
    assert list(record.headers) == [("ce_id", b"abc")]


def test_status_and_stop_from_another_process_leave_no_jvm(
    kafka_cluster_factory: KafkaClusterFactory,
) -> None:
    cluster = kafka_cluster_factory()
    [node] = cluster.status()
    assert node.running
    assert node.pid is not None
    assert cluster.rss_bytes()[1] > 50 * 2**20
    pid = node.pid

    stopper = (
        "import sys; from infra.kafka import KafkaCluster; "
        "KafkaCluster.from_state_dir(sys.argv[1]).stop()"
    )
    subprocess.run([sys.executable, "-c", stopper, str(cluster.state_dir)], check=True, timeout=60)

    assert _no_process_in_group(pid)
    assert not cluster.is_running()
    assert not (cluster.node_dir(1) / "kafka.pid").exists()
    assert "shut down completely" in cluster.log_file(1).read_text()


def test_restart_keeps_the_data_and_the_cluster_id(
    kafka_cluster_factory: KafkaClusterFactory,
) -> None:
    cluster = kafka_cluster_factory()
    cluster_id = cluster.cluster_id
    cluster.stop()

    cluster.start()

    assert KafkaCluster.from_state_dir(cluster.state_dir).cluster_id == cluster_id
    assert "meta.properties" in os.listdir(cluster.node_dir(1) / "data")


def test_a_broker_dies_with_the_test_process_that_started_it(tmp_path: Path) -> None:
    starter = (
        "import sys, time; from infra.kafka import KafkaCluster; "
        "c = KafkaCluster.with_free_ports(sys.argv[1], 1, die_with_parent=True); c.start(); "
        "print(c.pids()[1], flush=True); time.sleep(300)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", starter, str(tmp_path / "k")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert parent.stdout is not None
        jvm = int(parent.stdout.readline())
    finally:
        parent.kill()  # SIGKILL: no finaliser, no atexit
        parent.wait()

    assert _no_process_in_group(jvm, wait_s=15)


@pytest.fixture
def cli_state_dir(tmp_path: Path) -> Iterator[Path]:
    state = tmp_path / "kafka"
    yield state
    # whatever the test did, leave no broker behind
    if (state / "cluster.json").exists():
        KafkaCluster.from_state_dir(state).stop()


def _ferry(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from ferry.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_cli_up_status_down(cli_state_dir: Path) -> None:
    port, controller = free_ports(2)
    state = str(cli_state_dir)

    up = _ferry("kafka", "up", "--state-dir", state, "--ports", str(port),
                "--controller-ports", str(controller))  # fmt: skip
    assert up.returncode == 0, up.stdout + up.stderr
    assert f"bootstrap servers: 127.0.0.1:{port}" in up.stdout
    # the CLI process has exited; the broker runs on in the background
    status = _ferry("kafka", "status", "--state-dir", state)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "serving" in status.stdout
    pid = KafkaCluster.from_state_dir(state).pids()[1]

    again = _ferry("kafka", "up", "--state-dir", state)
    down = _ferry("kafka", "down", "--state-dir", state)
    after = _ferry("kafka", "status", "--state-dir", state)

    assert "already running" in again.stdout
    assert down.returncode == 0, down.stdout + down.stderr
    assert after.returncode == 3
    assert "stopped" in after.stdout
    assert _no_process_in_group(pid)


def test_a_port_in_use_is_reported_as_such(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        cluster = KafkaCluster(
            tmp_path / "k", ports=[taken], controller_ports=free_ports(1), die_with_parent=True
        )

        with pytest.raises(KafkaClusterError, match="already in use") as caught:
            cluster.start()

    assert str(taken) in str(caught.value)
    assert not cluster.is_running()


def test_missing_jars_say_run_make_jars(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path / "k", libs_dir=tmp_path / "empty")

    with pytest.raises(KafkaClusterError, match="run `make jars`"):
        cluster.start()


def test_missing_java_is_reported(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path / "k", java=str(tmp_path / "no-java"))

    with pytest.raises(KafkaClusterError, match="java not found"):
        cluster.start()


def test_another_layout_in_the_same_state_dir_is_refused(tmp_path: Path) -> None:
    KafkaCluster(tmp_path, ports=[1111], controller_ports=[1112])._save_layout()

    with pytest.raises(KafkaClusterError, match="already holds a 1-node cluster"):
        KafkaCluster(tmp_path, 3)


@pytest.mark.slow
async def test_three_nodes_keep_accepting_acks_all_writes_with_one_node_down(
    kafka_cluster3: KafkaCluster,
) -> None:
    cluster = kafka_cluster3
    topic = _topic("replicated")
    assert await cluster.brokers() == [1, 2, 3]
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topic, 3, 3, topic_configs={"min.insync.replicas": "2"})]
        )
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        bootstrap_servers=cluster.bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=30_000,
    )
    await producer.start()
    try:
        before = await producer.send_and_wait(topic, b"before", key=b"k", partition=0)
        cluster.kill_node(2)
        try:
            after = [
                await producer.send_and_wait(topic, f"after-{p}".encode(), key=b"k", partition=p)
                for p in range(3)
            ]
        finally:
            await cluster.start_node_async(2)
    finally:
        await producer.stop()

    assert before.offset == 0
    assert [m.partition for m in after] == [0, 1, 2]
    assert await cluster.brokers() == [1, 2, 3]
