"""A flow no generic module knows (tests/flows/parcels), through streams and the sink runner.

The streams worker runs as a process (``ferry streams`` with ``registry: tests.flows``); the
sinks run in this process (:func:`consumers.service.run_sinks`), so the test reads the
in-memory ledger they write. Counts in and out come from the fixed vectors below.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from consumers.service import run_sinks
from ferry.envelope import CloudEvent, deterministic_id, header
from ferry.registry import Registry, load
from ferry.topics import entity_key
from tests.flows.parcels import FLOW
from tests.flows.parcels.ledger import LEDGER
from tests.support.kafka_read import group_lag, read_all
from tests.support.platform import ROOT, free_port
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

RUN = uuid.uuid4().hex[:10]
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
VALID = 30  # parcels p0..p29, (i + 1) * 100 g at BER-1
RESENT = range(5)  # p0..p4 sent again unchanged: dropped by the change-only filter
UPDATED = {5: 601, 6: 701}  # re-weighed a minute later: applied again
INVALID = {
    "x0": (0, "BER-1", "weight_g"),
    "x1": (500, "berlin", "depot"),
    "x2": (-5, "BER-1", "weight_g"),
}
CLOSED = ("c0", "c1")  # valid for the stream, refused for good by the ledger (depot ZZZ-9)


def pid(name: str | int) -> str:
    return f"{RUN}-p{name}" if isinstance(name, int) else f"{RUN}-{name}"


def scan(parcel: str, weight_g: int, depot: str, at: datetime) -> dict[str, Any]:
    return {"parcel_id": parcel, "weight_g": weight_g, "depot": depot, "scanned_at": at}


def vectors() -> list[dict[str, Any]]:
    first = [scan(pid(i), (i + 1) * 100, "BER-1", T0) for i in range(VALID)]
    again = [first[i] for i in RESENT]
    updated = [scan(pid(i), w, "BER-1", T0 + timedelta(minutes=1)) for i, w in UPDATED.items()]
    invalid = [scan(pid(n), w, d, T0) for n, (w, d, _) in INVALID.items()]
    closed = [scan(pid(n), 1000, "ZZZ-9", T0) for n in CLOSED]
    return first + again + updated + invalid + closed


def config(path: Path) -> Path:
    path.write_text("registry: tests.flows\n", encoding="utf-8")
    return path


@pytest.fixture
def env(kafka_bootstrap: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "FERRY_CONFIG": str(config(tmp_path / "ferry.yaml")),
        "FERRY__KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
        "FERRY__SERVICES__STREAMS__PORT": str(free_port()),
        "FERRY__SERVICES__LEDGER_SINK__PORT": str(free_port()),
        "FERRY__RETRY__BASE_DELAY_S": "0.05",
    }


@pytest.fixture
def streams(env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = tmp_path / "streams.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ferry.cli", "streams"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{env['FERRY__SERVICES__STREAMS__PORT']}/readyz"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"streams not ready:\n{log.read_text()}"
        time.sleep(0.1)
    try:
        yield process
    finally:
        process.terminate()
        assert process.wait(30) == 0, log.read_text()[-3000:]


@pytest.fixture
async def sinks(env: dict[str, str]) -> AsyncIterator[Registry]:
    registry = load(environ=env)
    stop = asyncio.Event()
    task = asyncio.create_task(run_sinks(registry, "ledger", environ=env, stop=stop))
    try:
        yield registry
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 30) == 0


async def produce(bootstrap: str, scans: list[dict[str, Any]], registry: Registry) -> None:
    serde = registry.serde()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for data in scans:
            key = entity_key("carrier", "parcel", data["parcel_id"])
            envelope = CloudEvent(
                id=deterministic_id("carrier", data["parcel_id"], data["scanned_at"].isoformat()),
                source="test/carrier",
                type=FLOW.source.event_type,
                subject=key,
            )
            await producer.send_and_wait(
                FLOW.source.topic,
                serde.encode(FLOW.source.event_type, data),
                key=key.encode(),
                headers=envelope.to_headers(),
            )
    finally:
        await producer.stop()


def ours() -> dict[str, dict[str, Any]]:
    return {k: v for k, v in LEDGER.parcels.items() if k.startswith(RUN)}


async def test_a_flow_added_by_files_only_runs_through_every_stage(
    kafka_bootstrap: str, streams: subprocess.Popen[bytes], sinks: Registry
) -> None:
    writes_before = LEDGER.writes
    await produce(kafka_bootstrap, vectors(), sinks)

    closed_keys = {entity_key("carrier", "parcel", pid(n)).encode() for n in CLOSED}

    async def sink_dlq() -> list[Any]:
        return [r for r in await read_all(kafka_bootstrap, FLOW.target_dlq) if r.key in closed_keys]

    await eventually(lambda: len(ours()) == VALID, what=f"{VALID} parcels in the ledger")
    # Then nothing may be left to read, and nothing may arrive late.
    for group, topic in (
        ("ferry-streams", FLOW.source.topic),
        (f"ferry-sink-{FLOW.name}", FLOW.target.topic),
    ):
        deadline = time.monotonic() + 60
        while await group_lag(kafka_bootstrap, group, topic):
            assert time.monotonic() < deadline, f"{group} still lags on {topic}"
            await asyncio.sleep(0.25)
    await asyncio.sleep(2.0)  # a quiet period: a late duplicate would show below

    parcels = ours()
    assert sorted(parcels) == sorted(pid(i) for i in range(VALID))
    for i in range(VALID):
        grams = UPDATED.get(i, (i + 1) * 100)
        assert parcels[pid(i)]["weight_kg"] == Decimal(grams) / 1000, i
    assert LEDGER.writes - writes_before == VALID + len(UPDATED)

    run_keys = {entity_key("carrier", "parcel", pid(n)).encode() for n in INVALID}
    dead = [r for r in await read_all(kafka_bootstrap, FLOW.source_dlq) if r.key in run_keys]
    assert sorted(header(r.headers, "ferry.error.field") or "" for r in dead) == sorted(
        field for _, _, field in INVALID.values()
    )
    assert {header(r.headers, "ferry.error.stage") for r in dead} == {"validate"}
    refused = await sink_dlq()
    assert len(refused) == len(CLOSED)
    assert {header(r.headers, "ferry.error.field") for r in refused} == {"depot"}
    assert {header(r.headers, "ferry.error.class") for r in refused} == {"Rejected"}

    # Out: every target record is one applied write, one duplicate, or one dead letter.
    outputs = [
        r
        for r in await read_all(kafka_bootstrap, FLOW.target.topic)
        if (header(r.headers, "ce_subject") or "").startswith(f"carrier:parcel:{RUN}")
    ]
    assert len(outputs) == VALID + len(UPDATED) + len(CLOSED)


def test_the_guide_lists_exactly_the_files_the_test_flow_added() -> None:
    guide = (ROOT / "docs" / "adding-a-flow.md").read_text(encoding="utf-8")
    block = guide.split("<!-- files of the test flow -->", 1)[1].split("<!-- end -->", 1)[0]
    listed = {line.strip() for line in block.splitlines() if line.strip().startswith("tests/")}
    folder = ROOT / "tests" / "flows"
    present = {
        str(p.relative_to(ROOT))
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert listed == present
