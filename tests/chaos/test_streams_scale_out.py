"""Streams workers added and SIGKILLed while a flow has a backlog and events keep coming.

The flow has 6 partitions and starts with a backlog on every one of them, in a consumer group
that has committed nothing yet: the first worker starts into it, a second and a third join
while it works (each join moves partitions and skips what faust had queued for them), and the
second is killed with SIGKILL. Every event must reach the target (counted by key), no event is
dead-lettered, and the group ends with lag 0.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest

from ferry.topics import TopicSpec, ensure_topics
from tests.integration.streams.test_orders_stream import (
    Worker,
    event,
    only_flow,
    produce_backlog,
    start_worker,
)
from tests.support.flows import topics_of
from tests.support.kafka_read import read_all, until_no_lag

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

PARTITIONS = 6
BACKLOG = 4000  # on the source before the first workers start
LIVE = 4000  # produced while workers join and die
RATE = 250  # live events per second


async def test_workers_joining_and_killed_mid_stream_lose_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    name = f"scale-{run}"
    source, target = topics_of(name)
    dlq = f"dlq.{source}"
    await ensure_topics(
        kafka_bootstrap, [TopicSpec(t, PARTITIONS, 1) for t in (source, target, dlq)]
    )
    config = tmp_path / "ferry.yaml"
    config.write_text(
        f"kafka:\n  partitions: {PARTITIONS}\nflows:\n" + only_flow(name), encoding="utf-8"
    )
    group = f"ferry-streams-{run}"
    events = [event(f"{run}-{i}") for i in range(BACKLOG + LIVE)]
    keys = {e.key for e in events}
    await produce_backlog(kafka_bootstrap, source, events[:BACKLOG])

    def worker(label: str) -> Worker:
        return start_worker(
            kafka_bootstrap,
            tmp_path / f"{label}.log",
            None,
            ("--config", str(config)),
            group=group,
            wait_ready=False,
        )

    async def produce_live() -> None:
        began = time.monotonic()
        for n in range(BACKLOG, len(events), 50):
            await produce_backlog(kafka_bootstrap, source, events[n : n + 50])
            ahead = (n + 50 - BACKLOG) / RATE - (time.monotonic() - began)
            if ahead > 0:
                await asyncio.sleep(ahead)

    async def until_ready(running: Worker, timeout_s: float = 60.0) -> None:
        """Until the worker answers /readyz: it has partitions and is not rebalancing."""
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=1.0) as http:
            while True:
                assert running.process.poll() is None, running.log_text()[-2000:]
                try:
                    answer = await http.get(f"http://127.0.0.1:{running.port}/readyz")
                    if answer.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"not ready in {timeout_s} s"
                await asyncio.sleep(0.2)

    async def outputs() -> set[bytes]:
        return {r.key for r in await read_all(kafka_bootstrap, target) if r.key in keys}

    async def until_outputs(count: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while len(await outputs()) < count:
            assert time.monotonic() < deadline, f"fewer than {count} outputs in {timeout_s} s"
            await asyncio.sleep(0.2)

    workers = [worker("a"), worker("b")]  # two start into the backlog at once
    live = asyncio.create_task(produce_live())
    try:
        for running in workers:
            await until_ready(running)
        workers.append(worker("c"))
        await until_ready(workers[-1])
        workers[1].process.send_signal(signal.SIGKILL)
        await live
        await until_outputs(len(events), 180)
        await until_no_lag(kafka_bootstrap, group, source, timeout_s=120)
        await asyncio.sleep(1.0)  # a quiet period: anything late would show now
        written = [r for r in await read_all(kafka_bootstrap, target) if r.key in keys]
        dead = [r for r in await read_all(kafka_bootstrap, dlq) if r.key in keys]
    finally:
        live.cancel()
        for running in workers:
            await asyncio.to_thread(running.stop)
    missing = keys - {r.key for r in written}
    print(
        f"\n{len(events)} events, {len(written)} outputs ({len(written) - len(keys)} sent again "
        f"after a rebalance), {len(missing)} missing, {len(dead)} dead-lettered"
    )
    assert not missing, [w.log_text()[-2000:] for w in workers]
    assert not dead
