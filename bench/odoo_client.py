"""Records written per second to Odoo through OdooClient, three ways, in one run.

Run: ``python -m bench.odoo_client [--records N] [--odoo-version 17.0|18.0|19.0]``; it starts
the Odoo emulator (``python -m sandbox.odoo``) on a free port, or uses ``--url`` and
``--api-key`` (environment ``FERRY_BENCH_ODOO_KEY``) for a server already running.

* baseline — one ``create`` call per record (one HTTP round trip and one transaction each);
* batched ``create`` with a list — one call and one transaction for all records;
* ``load`` with an ``id`` column of external ids — one call that also registers the xmlids, the
  batch upsert.

Figures against the emulator measure the client and the protocol, not PostgreSQL: a real Odoo
spends more per record, so the ratios shrink there, but the round trips saved stay.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from ferry.odoo import OdooClient

MODEL = "res.partner"
DATABASE = "ferry"
LOGIN = "admin"


@dataclass(frozen=True)
class Figure:
    label: str
    records: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds else float("inf")


async def timed(label: str, records: int, run: Callable[[], Awaitable[object]]) -> Figure:
    start = time.perf_counter()
    await run()
    return Figure(label, records, time.perf_counter() - start)


async def measure(odoo: OdooClient, records: int) -> list[Figure]:
    tag = uuid.uuid4().hex[:8]
    await odoo.authenticate()  # protocol choice and login are not part of the figures
    await odoo.create(MODEL, [{"name": f"warmup {tag} {i}"} for i in range(10)])

    async def one_by_one() -> None:
        for i in range(records):
            await odoo.create(MODEL, {"name": f"single {tag} {i}"})

    async def batched() -> None:
        ids = await odoo.create(MODEL, [{"name": f"batch {tag} {i}"} for i in range(records)])
        assert len(ids) == records

    async def load() -> None:
        rows = [[f"ferry.bench_{tag}_{i}", f"load {tag} {i}"] for i in range(records)]
        ids = await odoo.load(MODEL, ["id", "name"], rows)
        assert len(ids) == records

    return [
        await timed("create, one call per record", records, one_by_one),
        await timed("create, one call with a list", records, batched),
        await timed("load, xmlid column (upsert)", records, load),
    ]


def report(figures: list[Figure], protocol: str, version: str) -> str:
    baseline = figures[0].per_second
    lines = [f"Odoo {version} over {protocol}, {figures[0].records} records of {MODEL}:"]
    for figure in figures:
        lines.append(
            f"  {figure.label:<30} {figure.per_second:>10,.0f} records/s "
            f"({figure.seconds * 1000:>8.1f} ms)  x{figure.per_second / baseline:,.1f}"
        )
    return "\n".join(lines)


@contextlib.contextmanager
def target(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    if args.url:
        key = args.api_key or os.environ.get("FERRY_BENCH_ODOO_KEY", "")
        yield args.url, key
        return
    from tests.integration.odoo.emulator import running

    with running(args.odoo_version) as emulator:
        yield emulator.url, emulator.api_key


async def main_async(args: argparse.Namespace) -> None:
    with target(args) as (url, key):
        async with OdooClient(url, args.database, args.login, key, timeout=120) as odoo:
            figures = await measure(odoo, args.records)
            version = await odoo.version()
            print(report(figures, await odoo.protocol_in_use(), str(version)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--odoo-version", default="18.0", choices=["17.0", "18.0", "19.0"])
    parser.add_argument("--url", help="an Odoo already running (else the emulator is started)")
    parser.add_argument("--api-key", help="with --url; default $FERRY_BENCH_ODOO_KEY")
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--login", default=LOGIN)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
