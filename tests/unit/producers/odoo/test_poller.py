"""The capture's poll against an in-memory Odoo: once each, in order, echoes dropped."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from producers.odoo.feeds import PARTNERS, PRODUCTS, STOCK, Captured, Feed
from producers.odoo.poller import Poller
from producers.odoo.watermark import Watermark

FERRY_UID, DEMO_UID = 2, 6
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
}


def matches(row: Mapping[str, Any], domain: Sequence[Any]) -> bool:
    """Odoo's prefix notation, for the operators the poller uses."""

    def parse(i: int) -> tuple[bool, int]:
        term = domain[i]
        if term in ("&", "|"):
            left, i = parse(i + 1)
            right, i = parse(i)
            return (left and right) if term == "&" else (left or right), i
        name, op, value = term
        return OPS[op](row[name], value), i + 1

    i, ok = 0, True
    while i < len(domain):
        result, i = parse(i)
        ok = ok and result
    return ok


class FakeOdoo:
    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.products: dict[int, dict[str, Any]] = {}
        self.reads: list[list[int]] = []
        self.clock = 0

    def write(self, model: str, ident: int, at: str, uid: int = DEMO_UID, **vals: Any) -> None:
        rows = self.rows.setdefault(model, [])
        row = next((r for r in rows if r["id"] == ident), None)
        if row is None:
            row = {"id": ident, "active": True}
            rows.append(row)
        self.clock += 1
        micro = (self.clock * 7919) % 1_000_000  # later writes are not always later micros
        row.update(vals, write_date=at, write_uid=[uid, "user"], micro=micro)

    async def search_read(
        self,
        model: str,
        domain: Sequence[Any] = (),
        fields: Sequence[str] | None = None,
        *,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        # As Odoo 17/18: write_date is stored with microseconds, compared and sorted as stored,
        # and read to the second.
        stored = [(r, r["write_date"] + f".{r['micro']:06}") for r in self.rows.get(model, [])]
        found = [(r, s) for r, s in stored if matches({**r, "write_date": s}, domain)]
        if order == "write_date asc, id asc":
            found.sort(key=lambda pair: (pair[1], pair[0]["id"]))
        else:
            assert order == "id asc"
            found.sort(key=lambda pair: pair[0]["id"])
        rows = [{k: v for k, v in r.items() if k != "micro"} for r, _ in found]
        return rows[:limit]

    async def read(
        self,
        model: str,
        ids: Sequence[int],
        fields: Sequence[str] | None = None,
        *,
        context: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        assert model == "product.product"
        assert context is not None
        assert context["warehouse"] == context["warehouse_id"] == "WH"
        self.reads.append(list(ids))
        return [{"id": i, **self.products[i]} for i in ids if i in self.products]


class MemoryStore:
    def __init__(self) -> None:
        self.saved: dict[str, Watermark] = {}

    async def load(self, model: str) -> Watermark:
        return self.saved.get(model, Watermark())

    async def save(self, model: str, watermark: Watermark) -> None:
        self.saved[model] = Watermark.from_bytes(watermark.to_bytes())  # as Kafka would


class Sent:
    def __init__(self) -> None:
        self.events: list[Captured] = []

    async def __call__(self, feed: Feed, events: list[Captured]) -> None:
        self.events.extend(events)

    def keys(self) -> list[str]:
        return [e.key for e in self.events]


def poller(
    feed: Feed, odoo: FakeOdoo, sent: Sent, store: MemoryStore, *, batch: int = 100
) -> tuple[Poller, list[Feed]]:
    echoes: list[Feed] = []
    made = Poller(
        feed,
        odoo,
        sent,
        store,
        ferry_uid=FERRY_UID,
        overlap_s=5,
        batch_size=batch,
        warehouse="WH",
        on_echo=echoes.append,
    )
    return made, echoes


def product(odoo: FakeOdoo, ident: int, at: str, **vals: Any) -> None:
    base = {"default_code": f"SKU-{ident:03}", "name": f"P{ident}", "list_price": 9.5}
    odoo.write("product.product", ident, at, **{**base, **vals})


async def test_every_change_once_second_by_second() -> None:
    odoo, sent, store = FakeOdoo(), Sent(), MemoryStore()
    product(odoo, 3, "2026-11-02 10:00:00")
    product(odoo, 1, "2026-11-02 10:00:01")
    product(odoo, 2, "2026-11-02 10:00:00")
    poll, _ = poller(PRODUCTS, odoo, sent, store)
    assert await poll.poll() == 3
    # Within one second Odoo's order is its stored microseconds', not the ids'.
    assert sorted(sent.keys()[:2]) == ["odoo:product:2", "odoo:product:3"]
    assert sent.keys()[2] == "odoo:product:1"
    assert await poll.poll() == 0  # the overlap re-reads them; none is emitted twice
    first = next(e.record for e in sent.events if e.key == "odoo:product:2")
    assert first["list_price"] == Decimal("9.5000")
    assert first["write_date"] == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    assert (first["action"], first["write_uid"]) == ("changed", DEMO_UID)


async def test_two_writes_in_one_second_are_never_missed_and_never_doubled() -> None:
    odoo, sent, store = FakeOdoo(), Sent(), MemoryStore()
    product(odoo, 1, "2026-11-02 10:00:05")
    poll, _ = poller(PRODUCTS, odoo, sent, store)
    await poll.poll()
    product(odoo, 2, "2026-11-02 10:00:05")  # same second, committed after the first poll
    product(odoo, 1, "2026-11-02 10:00:05", name="renamed")  # same second, new content
    assert await poll.poll() == 2
    assert sorted(sent.keys()) == ["odoo:product:1", "odoo:product:1", "odoo:product:2"]
    assert [e.record["name"] for e in sent.events if e.key == "odoo:product:1"] == ["P1", "renamed"]
    assert await poll.poll() == 0  # and nothing again


async def test_pages_of_one_second_are_read_to_the_end() -> None:
    odoo, sent, store = FakeOdoo(), Sent(), MemoryStore()
    for ident in (5, 1, 4, 2, 3):
        product(odoo, ident, "2026-11-02 10:00:00")
    poll, _ = poller(PRODUCTS, odoo, sent, store, batch=2)
    assert await poll.poll() == 5
    assert sent.keys() == [f"odoo:product:{i}" for i in (1, 2, 3, 4, 5)]


async def test_ferrys_own_writes_are_echoes_and_dropped() -> None:
    odoo, sent, store = FakeOdoo(), Sent(), MemoryStore()
    odoo.write("res.partner", 7, "2026-11-02 10:00:00", uid=FERRY_UID, name="Ada", email="a@x")
    odoo.write("res.partner", 8, "2026-11-02 10:00:01", uid=DEMO_UID, name="Bob", email="b@x")
    poll, echoes = poller(PARTNERS, odoo, sent, store)
    assert await poll.poll() == 1
    assert sent.keys() == ["odoo:partner:8"]
    assert echoes == [PARTNERS]
    # A person edits the partner Ferry created: that is news.
    odoo.write("res.partner", 7, "2026-11-02 10:01:00", uid=DEMO_UID, name="Ada L.")
    assert await poll.poll() == 1
    assert sent.keys()[-1] == "odoo:partner:7"


async def test_a_restart_resumes_from_the_stored_watermark() -> None:
    odoo, sent, store = FakeOdoo(), Sent(), MemoryStore()
    product(odoo, 1, "2026-11-02 10:00:00")
    first, _ = poller(PRODUCTS, odoo, sent, store)
    await first.poll()
    again, _ = poller(PRODUCTS, odoo, sent, store)  # a new process, the same topic
    assert await again.poll() == 0
    product(odoo, 1, "2026-11-02 10:05:00", list_price=11.0)
    assert await again.poll() == 1
    assert sent.events[-1].record["list_price"] == Decimal("11.0000")
    assert store.saved["product.product"].since == datetime(2026, 11, 2, 10, 5, tzinfo=UTC)


async def test_archiving_is_an_event() -> None:
    odoo, sent, store = FakeOdoo(), Sent(), MemoryStore()
    product(odoo, 1, "2026-11-02 10:00:00", active=False)
    poll, _ = poller(PRODUCTS, odoo, sent, store)
    await poll.poll()
    assert sent.events[0].record["action"] == "archived"


async def test_quant_changes_become_product_quantities_read_in_one_call() -> None:
    odoo, sent, store = FakeOdoo(), Sent(), MemoryStore()
    odoo.products = {
        1: {"default_code": "SKU-001", "free_qty": 7.0, "qty_available": 9.0},
        2: {"default_code": "SKU-002", "free_qty": 0.0, "qty_available": 0.0},
    }
    odoo.write("stock.quant", 10, "2026-11-02 10:00:00", uid=FERRY_UID, product_id=[1, "P1"])
    odoo.write("stock.quant", 11, "2026-11-02 10:00:02", product_id=[1, "P1"])
    odoo.write("stock.quant", 12, "2026-11-02 10:00:01", product_id=[2, "P2"])
    poll, echoes = poller(STOCK, odoo, sent, store)
    assert await poll.poll() == 2
    assert odoo.reads == [[1, 2]]
    by_key = {e.key: e.record for e in sent.events}
    assert by_key["odoo:product:1"]["free_qty"] == 7.0
    assert by_key["odoo:product:1"]["write_date"] == datetime(2026, 11, 2, 10, 0, 2, tzinfo=UTC)
    assert by_key["odoo:product:2"]["warehouse"] == "WH"
    assert echoes == []  # stock moved by Ferry's own confirmations is news, not an echo


@pytest.mark.parametrize("raw", ["2026-11-02T10:00:00", "", None])
async def test_a_malformed_write_date_names_the_field(raw: Any) -> None:
    from ferry.errors import ValidationError

    with pytest.raises(ValidationError, match="write_date"):
        PRODUCTS.captured({"id": 1, "write_date": raw})


async def test_a_full_page_inside_one_busy_second_reads_that_second_whole() -> None:
    odoo, sent, store = FakeOdoo(), Sent(), MemoryStore()
    for ident in range(1, 8):  # seven rows in one second, micros out of id order
        product(odoo, ident, "2026-11-02 10:00:00")
    product(odoo, 8, "2026-11-02 10:00:01")
    poll, _ = poller(PRODUCTS, odoo, sent, store, batch=3)
    assert await poll.poll() == 8
    assert sorted(sent.keys()) == sorted(f"odoo:product:{i}" for i in range(1, 9))
    assert sent.keys()[-1] == "odoo:product:8"
    assert await poll.poll() == 0


class Ids:
    def __init__(self, ids: list[int]) -> None:
        self.ids = ids

    async def search(
        self,
        model: str,
        domain: Sequence[Any] = (),
        *,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> list[int]:
        assert context == {"active_test": False}
        return list(self.ids)


async def test_a_deleted_record_is_found_by_reconciliation_and_emitted_once() -> None:
    from producers.odoo.poller import Reconciler

    odoo, sent = Ids([1, 2, 3]), Sent()
    reconciler = Reconciler(PRODUCTS, odoo, sent)
    assert await reconciler.reconcile() == 0  # the first look learns the ids
    odoo.ids = [1, 3, 4]
    assert await reconciler.reconcile() == 1
    [gone] = sent.events
    assert gone.key == "odoo:product:2"
    assert (gone.record["action"], gone.record["product_id"]) == ("deleted", 2)
    assert await reconciler.reconcile() == 0
