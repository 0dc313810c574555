"""The Odoo change capture against the sandbox Odoo (a process) and the session's broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ferry.metrics import ServiceMetrics
from ferry.registry import Registry, load
from ferry.serde import SingleObjectSerde
from producers.odoo.service import run_capture
from tests.integration.odoo.emulator import Emulator, running
from tests.support.kafka_read import read_all
from tests.support.odoo_rpc import OdooReader
from tests.support.platform import free_port

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SERDE = SingleObjectSerde()
RUN = uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def odoo() -> Iterator[Emulator]:
    with running("18.0") as emulator:
        yield emulator


DEMO_UID: list[int] = []


@pytest.fixture(scope="module")
def demo(odoo: Emulator) -> Iterator[OdooReader]:
    answer = httpx.post(f"{odoo.url}/__sandbox__/users/demo/api_key", timeout=10).json()
    DEMO_UID[:] = [int(answer["uid"])]
    reader = OdooReader(odoo.url, answer["key"], login="demo")
    yield reader
    reader.close()


@pytest.fixture(scope="module")
def admin(odoo: Emulator) -> Iterator[OdooReader]:
    reader = OdooReader(odoo.url, odoo.api_key)
    yield reader
    reader.close()


def registry_for(
    odoo: Emulator, kafka_bootstrap: str, tmp: Path
) -> tuple[Registry, dict[str, str]]:
    names = [f.name for f in load(environ={}).flows]
    config = tmp / "ferry.yaml"
    config.write_text(
        "flows:\n" + "".join(f"  {n}: {{enabled: false}}\n" for n in names) + "systems:\n  odoo:\n"
        f"    url: {odoo.url}\n"
        "    capture: {interval_s: 0.3, overlap_s: 2, batch_size: 3, "
        "models: [res.partner, product.product]}\n",
        encoding="utf-8",
    )
    env = {
        "FERRY_ODOO_API_KEY": odoo.api_key,
        "FERRY__KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
        "FERRY__SERVICES__ODOO_CAPTURE__PORT": str(free_port()),
    }
    return load(config, environ=env), env


class Capture:
    def __init__(self, registry: Registry, env: dict[str, str]) -> None:
        self.registry, self.env = registry, env
        self.metrics = ServiceMetrics("odoo-capture")
        self.stop = asyncio.Event()
        self.task: asyncio.Task[int] | None = None

    async def __aenter__(self) -> Capture:
        self.task = asyncio.create_task(
            run_capture(self.registry, environ=self.env, stop=self.stop, metrics=self.metrics)
        )
        port = self.env["FERRY__SERVICES__ODOO_CAPTURE__PORT"]
        async with httpx.AsyncClient() as http:

            async def ready() -> bool:
                assert self.task is not None
                if self.task.done():
                    raise AssertionError(f"the capture stopped: {self.task.result()}")
                try:
                    return (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            for _ in range(200):
                if await ready():
                    return self
                await asyncio.sleep(0.1)
        raise AssertionError("the capture was not ready in 20 s")

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.task is not None
        assert await asyncio.wait_for(self.task, 30) == 0

    def echoes(self) -> float:
        value = self.metrics.registry.get_sample_value(
            "ferry_echoes_total", {"service": "odoo-capture", "topic": "src.odoo.partners"}
        )
        return value or 0.0


def ours(record: dict[str, Any]) -> bool:
    """This run's record: other Odoo instances of the session write the same topics (and ids)."""
    return RUN in str(record.get("name") or "") + str(record.get("default_code") or "")


async def events(bootstrap: str, topic: str, keys: set[bytes]) -> list[dict[str, Any]]:
    decoded = [
        SERDE.decode(r.value).record
        for r in await read_all(bootstrap, topic)
        if r.key in keys and r.value
    ]
    return [record for record in decoded if ours(record)]


@pytest.fixture
async def capture(odoo: Emulator, kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Capture]:
    registry, env = registry_for(odoo, kafka_bootstrap, tmp_path)
    async with Capture(registry, env) as running_capture:
        yield running_capture


async def test_changes_by_a_person_are_captured_once_and_ferrys_own_are_echoes(
    capture: Capture, demo: OdooReader, admin: OdooReader, kafka_bootstrap: str
) -> None:
    ours = admin.execute_kw("res.partner", "create", [{"name": f"Ferry-made {RUN}"}])
    theirs = demo.execute_kw("res.partner", "create", [{"name": f"Person-made {RUN}"}])
    keys = {f"odoo:partner:{i}".encode() for i in (ours, theirs)}
    found: list[dict[str, Any]] = []

    async def check() -> bool:
        found[:] = await events(kafka_bootstrap, "src.odoo.partners", keys)
        return len(found) >= 1

    await eventually_async(check, "the person's partner on src.odoo.partners")
    await eventually_async(_true_after(lambda: capture.echoes() >= 1), "the echo counted")
    demo.execute_kw("res.partner", "write", [[ours], {"email": f"ada-{RUN}@example.com"}])
    await eventually_async(
        lambda: _count(kafka_bootstrap, "src.odoo.partners", keys, 2), "the edit of Ferry's partner"
    )
    await asyncio.sleep(1.5)  # a quiet period: nothing late, nothing doubled
    found = await events(kafka_bootstrap, "src.odoo.partners", keys)
    # The partner Ferry made is not there until a person edited it; every event is a person's.
    by_id = {e["partner_id"]: e for e in found}
    assert len(found) == 2
    assert sorted(by_id) == sorted([ours, theirs])
    assert {e["write_uid"] for e in found} == {DEMO_UID[0]}
    assert by_id[theirs]["name"] == f"Person-made {RUN}"
    assert by_id[ours]["email"] == f"ada-{RUN}@example.com"


async def test_every_product_once_across_pages_and_a_restart(
    odoo: Emulator, demo: OdooReader, kafka_bootstrap: str, tmp_path: Path
) -> None:
    codes = [f"CAP-{RUN}-{i}" for i in range(7)]
    ids = [
        demo.execute_kw(
            "product.product", "create", [{"name": c, "default_code": c, "list_price": 10 + i}]
        )
        for i, c in enumerate(codes)
    ]
    keys = {f"odoo:product:{i}".encode() for i in ids}
    registry, env = registry_for(odoo, kafka_bootstrap, tmp_path)
    async with Capture(registry, env):
        await eventually_async(
            lambda: _count(kafka_bootstrap, "src.odoo.products", keys, 7), "7 products"
        )
    async with Capture(registry, env):  # restarted: resumes from its watermark topic
        demo.execute_kw("product.product", "write", [[ids[3]], {"list_price": 99.5}])
        await eventually_async(
            lambda: _count(kafka_bootstrap, "src.odoo.products", keys, 8), "the price change"
        )
        await asyncio.sleep(1.5)
    found = await events(kafka_bootstrap, "src.odoo.products", keys)
    assert len(found) == 8
    assert sorted(e["default_code"] for e in found) == sorted([*codes, codes[3]])
    prices = [str(e["list_price"]) for e in found if e["product_id"] == ids[3]]
    assert prices == ["13.0000", "99.5000"]  # one key, one partition: in order


async def _count(bootstrap: str, topic: str, keys: set[bytes], n: int) -> bool:
    return len(await events(bootstrap, topic, keys)) >= n


def _true_after(check: Any) -> Any:
    async def wrapped() -> bool:
        return bool(check())

    return wrapped


async def eventually_async(check: Any, what: str, timeout_s: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


async def test_odoo_down_at_start_the_capture_waits_for_it_and_serves_its_health(
    odoo: Emulator, demo: OdooReader, kafka_bootstrap: str, tmp_path: Path
) -> None:
    registry, env = registry_for(odoo, kafka_bootstrap, tmp_path)
    port = env["FERRY__SERVICES__ODOO_CAPTURE__PORT"]
    stop = asyncio.Event()
    faults = f"{odoo.url}/__sandbox__/faults"
    async with httpx.AsyncClient(timeout=5) as http:
        (await http.post(faults, json={"refuse_count": None})).raise_for_status()  # Odoo down
        task = asyncio.create_task(
            run_capture(registry, environ=env, stop=stop, metrics=ServiceMetrics("odoo-capture"))
        )
        try:

            async def status(path: str) -> int:
                if task.done():
                    raise AssertionError(f"the capture stopped: {task.result()}")
                try:
                    return (await http.get(f"http://127.0.0.1:{port}{path}")).status_code
                except httpx.HTTPError:
                    return 0

            async def alive_not_ready() -> bool:
                return await status("/healthz") == 200 and await status("/readyz") == 503

            await eventually_async(alive_not_ready, "/healthz 200, /readyz 503 with Odoo down")
            (await http.delete(faults)).raise_for_status()  # Odoo is back

            async def ready() -> bool:
                return await status("/readyz") == 200

            await eventually_async(ready, "/readyz 200 once Odoo is back")
            code = f"CAP-{RUN}-late"
            pid = demo.execute_kw(
                "product.product", "create", [{"name": code, "default_code": code}]
            )
            keys = {f"odoo:product:{pid}".encode()}
            await eventually_async(
                lambda: _count(kafka_bootstrap, "src.odoo.products", keys, 1), "the product"
            )
        finally:
            await http.delete(faults)
            stop.set()
    assert await asyncio.wait_for(task, 30) == 0
