"""Readiness: which brokers a cluster lists, and waiting until the started ones are listed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Collection, Coroutine, Iterable, Iterator, Sequence
from typing import Any, TypeVar

__all__ = ["describe_cluster", "run_in_thread", "wait_until_listed"]

_T = TypeVar("_T")


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


async def wait_until_listed(
    bootstrap: str,
    wanted: Collection[int],
    started: Sequence[int],
    *,
    began: float,
    start_timeout: float,
    is_running: Callable[[int], bool],
    failure: Callable[[int, str], Exception],
) -> None:
    """Until ``describe_cluster`` lists every ``wanted`` node.

    Raises ``failure(node_id, what)`` when a ``started`` node exits, or (for the first started
    node) when ``start_timeout`` seconds have passed since ``began``.
    """
    deadline = began + start_timeout
    wanted_ids = set(wanted)
    last_error = "no answer yet"
    with _quiet_probe(bootstrap):
        while True:
            for node_id in started:
                if not is_running(node_id):
                    raise failure(node_id, "exited during start-up")
            try:
                listed = set(await describe_cluster(bootstrap, request_timeout=3.0))
                if wanted_ids <= listed:
                    return
                last_error = f"brokers listed: {sorted(listed)}, waiting for {sorted(wanted_ids)}"
            except Exception as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise failure(started[0], f"not ready after {start_timeout:.0f} s ({last_error})")
            await asyncio.sleep(0.2)


def run_in_thread(factory: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run a coroutine to completion on a private loop in a worker thread.

    For sync callers that may already sit inside an event loop (docs/kafka.md).
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
