"""One poll of one feed: every row written since the watermark, once, in ``(write_date, id)``
order, in pages; then the watermark moves.

Rows are read with ``write_date >= since - overlap`` so that a row committed late within the
same second (or a slow transaction) is still found; a row already emitted in the same state
is skipped. Odoo 17/18 store ``write_date`` with microseconds but read it to the second (and
sort by the stored value), so a page never ends inside a second: a full page is cut before
its last second, that second is read whole (ordered by id), and the next page starts at the
second after. The watermark is saved only after Kafka acknowledged the page's events, so a
crash re-emits at most one page (the stages downstream recognise a repeat).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from producers.odoo.feeds import (
    Captured,
    Feed,
    odoo_datetime,
    parse_odoo_datetime,
)
from producers.odoo.watermark import Watermark, WatermarkStore

__all__ = ["IdSearcher", "OdooReader", "Poller", "Reconciler"]

log = logging.getLogger(__name__)

Emit = Callable[[Feed, list[Captured]], Awaitable[None]]


class IdSearcher(Protocol):
    async def search(
        self,
        model: str,
        domain: Sequence[Any] = ...,
        *,
        offset: int = ...,
        limit: int | None = ...,
        order: str | None = ...,
        context: Mapping[str, Any] | None = ...,
    ) -> list[int]: ...


class OdooReader(Protocol):
    async def search_read(
        self,
        model: str,
        domain: Sequence[Any] = ...,
        fields: Sequence[str] | None = ...,
        *,
        offset: int = ...,
        limit: int | None = ...,
        order: str | None = ...,
        context: Mapping[str, Any] | None = ...,
    ) -> list[dict[str, Any]]: ...

    async def read(
        self,
        model: str,
        ids: Sequence[int],
        fields: Sequence[str] | None = ...,
        *,
        context: Mapping[str, Any] | None = ...,
    ) -> list[dict[str, Any]]: ...


class Reconciler:
    """Finds deleted records: the ids Odoo has now against those it had at the last look.

    The first look (at start) only learns the ids; so a record deleted while the capture was
    stopped is not reported (``docs/capture.md``). Archiving changes ``write_date`` and is
    found by the poll.
    """

    def __init__(self, feed: Feed, odoo: IdSearcher, emit: Emit) -> None:
        self.feed = feed
        self.odoo = odoo
        self.emit = emit
        self.known: set[int] | None = None

    async def reconcile(self) -> int:
        """Emit a ``deleted`` event per vanished id; return how many."""
        now = set(await self.odoo.search(self.feed.model, [], context={"active_test": False}))
        gone = sorted(self.known - now) if self.known is not None else []
        if gone:
            noticed = datetime.now(UTC).replace(microsecond=0)
            await self.emit(self.feed, [self.feed.deleted(i, noticed) for i in gone])
        self.known = now
        return len(gone)


class Poller:
    """Polls one feed. ``ferry_uid`` is Ferry's own Odoo user: its writes are echoes."""

    def __init__(
        self,
        feed: Feed,
        odoo: OdooReader,
        emit: Emit,
        store: WatermarkStore,
        *,
        ferry_uid: int | None,
        overlap_s: float,
        batch_size: int,
        warehouse: str,
        warehouse_id: int | None = None,
        on_echo: Callable[[Feed], None] = lambda feed: None,
    ) -> None:
        self.feed = feed
        self.odoo = odoo
        self.emit = emit
        self.store = store
        self.ferry_uid = ferry_uid
        self.overlap = timedelta(seconds=overlap_s)
        self.batch_size = batch_size
        self.warehouse = warehouse
        self.warehouse_id = warehouse_id
        self.on_echo = on_echo
        self.watermark: Watermark | None = None

    async def poll(self) -> int:
        """Read and emit everything new; return the number of events emitted."""
        if self.watermark is None:
            self.watermark = await self.store.load(self.feed.model)
        start = None
        if self.watermark.since is not None:
            start = self.watermark.since - self.overlap
        emitted = 0
        while True:
            domain = [("write_date", ">=", odoo_datetime(start))] if start is not None else []
            rows = await self._read(domain, limit=self.batch_size, order="write_date asc, id asc")
            if not rows:
                break
            if len(rows) < self.batch_size:
                emitted += await self._page(rows)
                break
            last = parse_odoo_datetime(rows[-1]["write_date"])
            earlier = [r for r in rows if parse_odoo_datetime(r["write_date"]) < last]
            if earlier:
                emitted += await self._page(earlier)
            emitted += await self._page(await self._second(last))
            start = last + timedelta(seconds=1)
        return emitted

    async def _second(self, moment: datetime) -> list[dict[str, Any]]:
        """Every row written within the second ``moment``, by id, in pages."""
        domain = [
            ("write_date", ">=", odoo_datetime(moment)),
            ("write_date", "<", odoo_datetime(moment + timedelta(seconds=1))),
        ]
        rows: list[dict[str, Any]] = []
        while True:
            page = await self._read(
                [*domain, ("id", ">", rows[-1]["id"])] if rows else domain,
                limit=self.batch_size,
                order="id asc",
            )
            rows += page
            if len(page) < self.batch_size:
                return rows

    async def _read(self, domain: list[Any], *, limit: int, order: str) -> list[dict[str, Any]]:
        return await self.odoo.search_read(
            self.feed.model,
            domain,
            list(self.feed.fields),
            limit=limit,
            order=order,
            context={"active_test": False},
        )

    async def _page(self, rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        watermark = self.watermark or Watermark()
        marks = {id(r): _mark(r) for r in rows}
        fresh = [r for r in rows if marks[id(r)] not in watermark.seen]
        kept = [r for r in fresh if not self._echo(r)]
        events = await self.feed.events(kept, self._read_products, self.warehouse)
        if events:
            await self.emit(self.feed, events)
        newest = max(parse_odoo_datetime(r["write_date"]) for r in rows)
        self.watermark = watermark.advanced(set(marks.values()), newest, self.overlap)
        await self.store.save(self.feed.model, self.watermark)
        return len(events)

    def _echo(self, row: Mapping[str, Any]) -> bool:
        if not self.feed.suppress_echo or self.ferry_uid is None:
            return False
        writer = row.get("write_uid")
        uid = writer[0] if isinstance(writer, list | tuple) and writer else writer
        if uid == self.ferry_uid:
            self.on_echo(self.feed)
            return True
        return False

    async def _read_products(self, ids: Sequence[int], warehouse: str) -> list[dict[str, Any]]:
        where: int | str = self.warehouse_id if self.warehouse_id is not None else warehouse
        return await self.odoo.read(
            "product.product",
            list(ids),
            ["id", "default_code", "free_qty", "qty_available"],
            # Odoo 17 reads the warehouse from "warehouse", 18 and 19 from "warehouse_id" (an id,
            # or a name matched with ilike); each ignores the other key.
            context={"warehouse": where, "warehouse_id": where, "active_test": False},
        )


def _mark(row: Mapping[str, Any]) -> tuple[int, str, str]:
    """What identifies one state of a row: its id, its write_date and a digest of its values
    (a second write within the same second has the same write_date, not the same values)."""
    text = json.dumps(row, sort_keys=True, default=str, separators=(",", ":"))
    digest = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
    return int(row["id"]), str(row["write_date"]), digest
