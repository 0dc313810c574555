"""The sale order sink's batch path against the sandbox Odoo in this process: calls counted on
the server's side, end states read from its tables."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from consumers.odoo.sale_order_batch import each, rounds
from consumers.odoo.sale_orders import SaleOrderApplier, parse_stamp
from consumers.odoo.sink import OdooSaleOrderSink, sale_order_sink
from consumers.odoo.target import OdooTarget
from ferry.envelope import CloudEvent
from ferry.errors import (
    AuthenticationError,
    ConfigError,
    Deferred,
    FerryError,
    PermanentError,
    Rejected,
    TransientError,
    Unavailable,
    ValidationError,
)
from ferry.flow import SinkContext
from ferry.metrics import ServiceMetrics
from ferry.sink import BatchResult, BatchSink, Outcome, SinkEvent
from streams.flows.shop_orders import FLOW as SHOP_ORDERS
from tests.unit.consumers.fakes import Record, command
from tests.unit.consumers.odoo.sandbox_odoo import SandboxOdoo

CODES = [f"SKU-{n:03d}" for n in range(1, 11)]  # 1-5 seeded, 6-10 added by the fixture
START = command(0)["source_updated_at"]


def sandbox_with_products() -> SandboxOdoo:
    sandbox = SandboxOdoo()
    sandbox.add_products(CODES[5:])
    return sandbox


@pytest.fixture
def odoo() -> Iterator[SandboxOdoo]:
    sandbox = sandbox_with_products()
    yield sandbox
    sandbox.close()


def order(
    n: int, *, customers: int = 50, skus: Sequence[str] | None = None, **over: Any
) -> dict[str, Any]:
    """Shop order ``n``: two of the ten products (unless ``skus``), one of ``customers``
    customers."""
    skus = skus or (CODES[n % 10], CODES[(7 * n + 3) % 10])
    data = command(n, skus=skus, **over)
    data["partner"] = {
        **data["partner"],
        "email": f"buyer{n % customers}@example.com",
        "name": f"Buyer {n % customers}",
    }
    return data


def external_ids(commands: Sequence[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(str(c["external_id"]) for c in commands))


def one_order_each(odoo: SandboxOdoo, commands: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The one sale order of every shop order (asserts there is exactly one)."""
    found = odoo.sale_orders_of(external_ids(commands))
    assert {xmlid: len(rows) for xmlid, rows in found.items()} == dict.fromkeys(found, 1)
    return [rows[0] for rows in found.values()]


def line_codes(odoo: SandboxOdoo, sale_order: dict[str, Any]) -> list[str]:
    codes = {p["id"]: p.get("default_code") for p in odoo.rows("product.product")}
    lines = [line for line in odoo.rows("sale.order.line") if line["order_id"] == sale_order["id"]]
    return sorted(str(codes[line["product_id"]]) for line in lines)


# -- calls ------------------------------------------------------------------------------------


async def test_a_batch_of_500_new_orders_makes_a_small_constant_number_of_calls(
    odoo: SandboxOdoo,
) -> None:
    applier = SaleOrderApplier(odoo.client())
    first = [order(n) for n in range(500)]
    assert await applier.apply_batch(first) == [Outcome.APPLIED] * 500
    # Cold caches, 50 new customers, a pricelist for EUR created.
    assert odoo.calls == [
        ("ir.model.fields", "search"),  # Ferry's version field on sale.order: once a process
        ("ir.model", "search"),
        ("ir.model.fields", "create"),
        ("ir.model.data", "search_read"),  # the orders' and the customers' external ids
        ("sale.order", "search_read"),  # the orders by id, or by reference (crash window)
        ("res.currency", "search_read"),
        ("product.product", "search_read"),
        ("res.partner", "search_read"),  # the customers by e-mail
        ("res.country", "search_read"),
        ("res.partner", "create"),  # 50 customers
        ("ir.model.data", "create"),  # their external ids
        ("product.pricelist", "search_read"),
        ("ir.model.data", "search_read"),  # ferry.pricelist_eur
        ("product.pricelist", "create"),
        ("ir.model.data", "create"),
        ("sale.order", "create"),  # 500 orders
        ("ir.model.data", "create"),  # their external ids
        ("sale.order", "action_confirm"),
    ]
    assert len(odoo.calls) <= 0.05 * 500
    confirmed = one_order_each(odoo, first)
    assert {o["state"] for o in confirmed} == {"sale"}
    buyers = [p["email"] for p in odoo.rows("res.partner") if "buyer" in str(p.get("email"))]
    assert sorted(buyers) == sorted(f"buyer{n}@example.com" for n in range(50))

    odoo.calls.clear()
    second = [order(n) for n in range(500, 1000)]  # the same customers: warm caches
    assert await applier.apply_batch(second) == [Outcome.APPLIED] * 500
    assert odoo.calls == [
        ("ir.model.data", "search_read"),
        ("sale.order", "search_read"),
        ("sale.order", "create"),
        ("ir.model.data", "create"),
        ("sale.order", "action_confirm"),
    ]
    assert len(one_order_each(odoo, second)) == 500


async def test_one_order_alone_with_warm_caches_makes_five_calls(odoo: SandboxOdoo) -> None:
    applier = SaleOrderApplier(odoo.client())
    await applier.apply(order(1))
    odoo.calls.clear()
    assert await applier.apply(order(51)) is Outcome.APPLIED  # customer 1 again
    assert odoo.calls == [
        ("ir.model.data", "search_read"),
        ("sale.order", "search_read"),
        ("sale.order", "create"),
        ("ir.model.data", "create"),
        ("sale.order", "action_confirm"),
    ]
    odoo.calls.clear()
    assert await applier.apply(order(51)) is Outcome.DUPLICATE
    assert odoo.calls == [("ir.model.data", "search_read"), ("sale.order", "search_read")]


async def test_a_replayed_batch_is_all_duplicates_and_writes_nothing(odoo: SandboxOdoo) -> None:
    batch = [order(n) for n in range(40)]
    batch += [order(3, source_updated_at=START + timedelta(minutes=1), client_order_ref="#3b")]
    batch += [order(40, cancel=True, confirm=False)]
    applied = await SaleOrderApplier(odoo.client()).apply_batch(batch)
    assert applied == [Outcome.APPLIED] * 42
    before = one_order_each(odoo, batch)
    odoo.calls.clear()
    replayed = await SaleOrderApplier(odoo.client()).apply_batch(batch)  # a fresh process too
    assert replayed == [Outcome.DUPLICATE] * 42
    assert odoo.writes() == []
    # the version field looked up once, then two rounds (order 3 twice), two reads each
    assert len(odoo.calls) == 1 + 2 * 2
    assert one_order_each(odoo, batch) == before


# -- one command's error is its own -----------------------------------------------------------


async def test_an_unknown_sku_is_that_orders_error_and_the_others_are_applied(
    odoo: SandboxOdoo,
) -> None:
    batch = [order(n) for n in range(10)]
    batch[4] = command(4, skus=("SKU-001", "SKU-404"))
    results = await SaleOrderApplier(odoo.client()).apply_batch(batch)
    error = results[4]
    assert isinstance(error, ValidationError)
    assert error.field == "order_lines[1].default_code"
    assert "SKU-404" in str(error)
    assert results[:4] + results[5:] == [Outcome.APPLIED] * 9
    good = batch[:4] + batch[5:]
    assert len(one_order_each(odoo, good)) == 9
    assert odoo.sale_orders_of(["ferry.shop_order_4"]) == {"ferry.shop_order_4": []}
    assert "customer1@example.com" not in {p.get("email") for p in odoo.rows("res.partner")}


async def test_a_create_odoo_refuses_is_bisected_down_to_the_one_bad_order(
    odoo: SandboxOdoo,
) -> None:
    applier = SaleOrderApplier(odoo.client())
    await applier.apply(order(100))
    await applier.lookups.known_products(CODES)  # every product cached
    [gone] = [p["id"] for p in odoo.rows("product.product") if p["default_code"] == "SKU-009"]
    odoo.run(lambda env: env["product.product"].unlink([gone]))  # still cached by the sink
    batch = [order(n) for n in (1, 2, 3, 4, 6, 7, 10, 8)]  # only order 8 has SKU-009
    odoo.calls.clear()
    results = await applier.apply_batch(batch)
    assert isinstance(results[7], PermanentError)
    assert results[:7] == [Outcome.APPLIED] * 7
    assert len(one_order_each(odoo, batch[:7])) == 7
    assert odoo.sale_orders_of(["ferry.shop_order_8"]) == {"ferry.shop_order_8": []}
    # 8 refused, 4 + 4, 2 + 2, 1 + 1: the bad order alone after three halvings.
    assert odoo.count("sale.order", "create") == 7
    assert odoo.count("sale.order", "action_confirm") == 1


async def test_a_cancelled_order_is_not_revived_by_a_newer_command_in_the_same_batch(
    odoo: SandboxOdoo,
) -> None:
    applier = SaleOrderApplier(odoo.client())
    await applier.apply(order(5))
    cancel = order(5, cancel=True, confirm=False, source_updated_at=START + timedelta(hours=1))
    newer = order(5, source_updated_at=START + timedelta(hours=2))
    results = await applier.apply_batch([cancel, order(6), newer])
    assert results[:2] == [Outcome.APPLIED, Outcome.APPLIED]
    assert isinstance(results[2], Rejected)
    assert (results[2].field, results[2].rule) == ("state", "order_locked")
    [cancelled] = one_order_each(odoo, [cancel])
    assert cancelled["state"] == "cancel"


# -- several commands of one order in a batch -------------------------------------------------


async def test_a_create_then_a_newer_update_in_one_batch_ends_with_the_newer(
    odoo: SandboxOdoo,
) -> None:
    created = order(7, confirm=False)
    newer = order(
        7, skus=("SKU-004", "SKU-010"), confirm=False, source_updated_at=START + timedelta(1)
    )
    results = await SaleOrderApplier(odoo.client()).apply_batch([created, order(8), newer])
    assert results == [Outcome.APPLIED] * 3
    [sale_order] = one_order_each(odoo, [newer])
    assert line_codes(odoo, sale_order) == ["SKU-004", "SKU-010"]
    assert (
        parse_stamp("ferry.shop_order_7", sale_order["x_ferry_version"])
        == newer["source_updated_at"]
    )
    assert sale_order["state"] == "draft"


async def test_a_create_then_a_cancel_in_one_batch_ends_cancelled(odoo: SandboxOdoo) -> None:
    created = order(9)
    cancel = order(9, cancel=True, confirm=False, source_updated_at=START + timedelta(1))
    results = await SaleOrderApplier(odoo.client()).apply_batch([created, cancel])
    assert results == [Outcome.APPLIED, Outcome.APPLIED]
    [sale_order] = one_order_each(odoo, [cancel])
    assert sale_order["state"] == "cancel"
    assert (
        parse_stamp("ferry.shop_order_9", sale_order["x_ferry_version"])
        == cancel["source_updated_at"]
    )


async def test_commands_of_one_order_take_effect_as_they_would_one_by_one() -> None:
    """The rounds are not "only the newest": an older command applied first can make a newer
    one refused (a confirmed order's currency), and an older one after a newer is skipped."""
    later = START + timedelta(minutes=5)
    batch = [
        order(11),  # created and confirmed
        order(11, currency_code="USD", source_updated_at=later),  # confirmed: refused
        order(12, confirm=False, source_updated_at=later),
        order(12, confirm=False),  # older than what Odoo holds by then: skipped
        order(13, confirm=False),
        order(13, client_order_ref="#13-gift", confirm=False),  # same version, other content
    ]
    ends: list[tuple[list[str], list[Any]]] = []
    for one_by_one in (False, True):
        sandbox = sandbox_with_products()
        try:
            applier = SaleOrderApplier(sandbox.client())
            if one_by_one:
                results: list[BatchResult] = []
                for data in batch:
                    try:
                        results.append(await applier.apply(data))
                    except FerryError as exc:
                        results.append(exc)
            else:
                results = await applier.apply_batch(batch)
            shown = [r.value if isinstance(r, Outcome) else type(r).__name__ for r in results]
            state = [
                (o["client_order_ref"], o["state"], line_codes(sandbox, o))
                for o in one_order_each(sandbox, batch)
            ]
            ends.append((shown, state))
        finally:
            sandbox.close()
    assert ends[0] == ends[1]
    assert ends[0][0] == ["applied", "Rejected", "applied", "duplicate", "applied", "applied"]


async def test_an_order_whose_earlier_command_failed_transiently_waits(
    odoo: SandboxOdoo,
) -> None:
    """The newer command of an order is not applied before the older one is retried."""
    applier = SaleOrderApplier(odoo.client(), settle_s=120.0)
    odoo.hold[("sale.order", "create")] = 1  # goes unanswered: order 14 may still be created
    [unanswered] = await applier.apply_batch([order(14)])
    assert isinstance(unanswered, Unavailable)
    assert unanswered.ambiguous
    newer = order(14, source_updated_at=START + timedelta(1))
    results = await applier.apply_batch([order(14), order(15), newer])
    assert isinstance(results[0], Deferred)  # the sink's own wait, not Odoo's health
    assert "may still be running" in str(results[0])
    assert results[2] is results[0]
    assert results[1] is Outcome.APPLIED
    assert odoo.sale_orders_of(["ferry.shop_order_14"]) == {"ferry.shop_order_14": []}


# -- writes that went unanswered ----------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("call", [("sale.order", "create"), ("ir.model.data", "create")])
async def test_a_batch_write_odoo_commits_after_the_client_gave_up_doubles_no_order(
    odoo: SandboxOdoo, call: tuple[str, str]
) -> None:
    clock = Clock()
    applier = SaleOrderApplier(odoo.client(), settle_s=120.0, clock=clock)
    batch = [order(n) for n in range(20)]
    await applier.apply_batch(batch[:1])  # caches, customers: the next creates are orders
    odoo.hold[call] = 1
    results = await applier.apply_batch(batch[1:])
    assert all(isinstance(r, Unavailable) and r.ambiguous for r in results)
    clock.now += 1  # the redelivery, moments later: the transaction has not committed
    again = await applier.apply_batch(batch[1:])
    assert all(isinstance(r, Deferred) and "may still be running" in str(r) for r in again)
    await odoo.run_held()  # it commits; Odoo's longest request time passes
    clock.now += 120
    assert await applier.apply_batch(batch[1:]) == [Outcome.APPLIED] * 19
    assert {o["state"] for o in one_order_each(odoo, batch)} == {"sale"}


async def test_losing_the_race_for_some_external_ids_keeps_the_winners_orders(
    odoo: SandboxOdoo,
) -> None:
    applier = SaleOrderApplier(odoo.client())
    await applier.apply(order(20))
    batch = [order(n) for n in range(21, 27)]

    def another_writer_registers_two_first() -> None:
        def write(env: Any) -> None:
            [partner] = env["res.partner"].search([], limit=1)
            for n in (22, 25):
                [first] = env["sale.order"].create(
                    [{"partner_id": partner, "client_order_ref": f"#{n}"}]
                )
                xmlid = {"module": "ferry", "name": f"shop_order_{n}", "model": "sale.order"}
                env["ir.model.data"].create([{**xmlid, "res_id": first}])

        odoo.run(write)

    odoo.before[("sale.order", "create")] = another_writer_registers_two_first
    odoo.calls.clear()
    assert await applier.apply_batch(batch) == [Outcome.APPLIED] * 6
    orders = one_order_each(odoo, batch)
    assert len(orders) == 6
    assert odoo.count("sale.order", "unlink") == 1  # our two orphans, in one call
    # The new customers' external ids; the orders' (refused); the four others'.
    assert odoo.count("ir.model.data", "create") == 3
    refs = {o["client_order_ref"]: o for o in odoo.rows("sale.order")}
    assert sorted(refs) == sorted(f"#{n}" for n in range(20, 27))


# -- the sink -----------------------------------------------------------------------------------


def event(data: dict[str, Any]) -> SinkEvent:
    envelope = CloudEvent(id="1", source="test", type="odoo.sale_order.upsert", subject="s")
    return SinkEvent(envelope, "odoo.sale_order.upsert", data)


def record(offset: int) -> Record:
    return Record("sink.odoo.sale_orders", 0, offset, b"k", b"v", [])


def sink_in(odoo: SandboxOdoo, metrics: ServiceMetrics | None) -> OdooSaleOrderSink:
    target = OdooTarget(odoo.client())
    versions: Any = None  # the sale order sink keeps its versions in Odoo
    return sale_order_sink(SinkContext(SHOP_ORDERS, target, versions, metrics))


def counted(metrics: ServiceMetrics) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for family in metrics.target_calls.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                labels = sample.labels
                assert (labels["service"], labels["system"]) == ("odoo-sink", "odoo")
                out[labels["model"], labels["method"]] = sample.value
    return out


async def test_the_sink_applies_a_batch_and_counts_every_odoo_call(odoo: SandboxOdoo) -> None:
    metrics = ServiceMetrics("odoo-sink", CollectorRegistry())
    sink = sink_in(odoo, metrics)
    assert isinstance(sink, BatchSink)
    batch = [order(n) for n in range(30)]
    batch[3] = command(3, skus=("SKU-404",))
    results = await sink.apply_batch([event(d) for d in batch], [record(i) for i in range(30)])
    assert isinstance(results[3], ValidationError)
    assert [r for i, r in enumerate(results) if i != 3] == [Outcome.APPLIED] * 29
    expected: dict[tuple[str, str], float] = {}
    for call in odoo.calls:
        expected[call] = expected.get(call, 0) + 1
    assert counted(metrics) == expected
    assert counted(metrics)[("sale.order", "create")] == 1


async def test_the_sink_without_metrics_counts_nothing_and_still_applies(
    odoo: SandboxOdoo,
) -> None:
    sink = sink_in(odoo, None)
    assert await sink.apply_batch([event(order(1))], [record(0)]) == [Outcome.APPLIED]
    assert sink.target.odoo.on_call is None


async def test_the_batch_sink_turns_a_refused_key_into_the_operator_line(
    odoo: SandboxOdoo,
) -> None:
    target = OdooTarget(odoo.client(key="f" * 40))
    sink = OdooSaleOrderSink(target, topic="sink.odoo.sale_orders", name="shop-orders")
    with pytest.raises(AuthenticationError, match="check FERRY_ODOO_API_KEY"):
        await sink.apply_batch([event(order(1)), event(order(2))], [record(0), record(1)])


# -- the bulk steps -----------------------------------------------------------------------------


def test_rounds_hold_one_command_of_each_key_in_their_order() -> None:
    keys = ["a", "b", "a", "c", "a", "b"]
    assert rounds(keys) == [[0, 1, 3], [2, 5], [4]]
    assert rounds([]) == []


async def test_each_bisects_a_refused_call_down_to_the_refused_item() -> None:
    sent: list[list[int]] = []

    async def call(chunk: Sequence[int]) -> list[int]:
        sent.append(list(chunk))
        if 5 in chunk:
            raise Rejected("five is refused")
        if 2 in chunk and len(chunk) == 1:
            raise Unavailable("timed out", ambiguous=True)
        return [i * 10 for i in chunk]

    results = await each(list(range(8)), call)
    assert results[:5] == [0, 10, 20, 30, 40]
    assert isinstance(results[5], Rejected)
    assert results[6:] == [60, 70]
    assert sent == [[0, 1, 2, 3, 4, 5, 6, 7], [0, 1, 2, 3], [4, 5, 6, 7], [4, 5], [4], [5], [6, 7]]
    transient = await each([2], call)
    assert isinstance(transient[0], TransientError)


# -- the version field -------------------------------------------------------------------------


async def test_the_version_lives_in_ferrys_own_field_so_an_edited_origin_changes_nothing(
    odoo: SandboxOdoo,
) -> None:
    applier = SaleOrderApplier(odoo.client())
    base = order(7, confirm=False, skus=("SKU-001", "SKU-002"))
    newer = order(
        7, confirm=False, skus=("SKU-003", "SKU-004"), source_updated_at=START + timedelta(1)
    )
    assert await applier.apply_batch([base, newer]) == [Outcome.APPLIED, Outcome.APPLIED]
    [sale_order] = one_order_each(odoo, [base])
    assert parse_stamp("ferry.shop_order_7", sale_order["x_ferry_version"]) == START + timedelta(1)
    assert not sale_order.get("origin")  # left to people
    client = odoo.client()
    for typed in ("", "POS/2026/0007", "ferry.shop_order_7@2020-01-01T00:00:00Z"):
        await client.write("sale.order", [sale_order["id"]], {"origin": typed})  # a person
        assert await applier.apply(base) is Outcome.DUPLICATE  # the late, older replay
    assert line_codes(odoo, one_order_each(odoo, [base])[0]) == ["SKU-003", "SKU-004"]
    [field] = [
        f
        for f in odoo.rows("ir.model.fields")
        if f["model"] == "sale.order" and f["name"] == "x_ferry_version"
    ]
    assert (field["ttype"], field["state"], field["copied"]) == ("char", "manual", False)


async def test_orders_stamped_in_origin_before_the_field_existed_keep_their_guard(
    odoo: SandboxOdoo,
) -> None:
    legacy = SaleOrderApplier(odoo.client(), version_field="origin")
    newer = order(8, confirm=False, source_updated_at=START + timedelta(1))
    assert await legacy.apply(newer) is Outcome.APPLIED
    assert ("ir.model.fields", "create") not in odoo.calls  # origin needs no field
    upgraded = SaleOrderApplier(odoo.client())  # the next release, same Odoo
    assert await upgraded.apply(order(8, confirm=False)) is Outcome.DUPLICATE  # older
    assert await upgraded.apply(newer) is Outcome.DUPLICATE


async def test_a_version_field_odoo_will_not_create_stops_with_the_setting_to_change(
    odoo: SandboxOdoo,
) -> None:
    client = odoo.client()
    create = client.create

    async def refused(model: str, vals: Any, **kwargs: Any) -> Any:
        if model == "ir.model.fields":
            raise Rejected("Access Denied: you are not allowed to create 'Fields'")
        return await create(model, vals, **kwargs)

    client.create = refused  # type: ignore[method-assign]
    with pytest.raises(ConfigError, match=r"systems\.odoo\.version_field: cannot create"):
        await SaleOrderApplier(client).apply_batch([order(9)])
    assert ("sale.order", "create") not in odoo.calls  # nothing written without the guard
