from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from consumers.odoo.lookups import Lookups, partner_xmlid_name
from consumers.odoo.sale_orders import (
    SaleOrderApplier,
    command_digest,
    format_stamp,
    parse_stamp,
    stamp_digest,
)
from consumers.odoo.sink import OdooSaleOrderSink
from consumers.odoo.target import OdooTarget
from consumers.runner import Outcome
from ferry.envelope import CloudEvent
from ferry.errors import AuthenticationError, Deferred, Rejected, Unavailable, ValidationError
from ferry.sink import SinkEvent
from tests.unit.consumers.fakes import Record, command
from tests.unit.consumers.odoo.mini_odoo import Crash, MiniOdoo


def crash(_: Any) -> None:
    raise Crash


def applier(odoo: MiniOdoo) -> SaleOrderApplier:
    return SaleOrderApplier(odoo.client())


def orders(odoo: MiniOdoo) -> list[dict[str, Any]]:
    return odoo.rows("sale.order")


def xmlids(odoo: MiniOdoo, model: str) -> list[dict[str, Any]]:
    return [r for r in odoo.rows("ir.model.data") if r["model"] == model]


def test_stamp_round_trip() -> None:
    moment = datetime(2026, 11, 1, 12, 30, 15, 123000, tzinfo=UTC)
    stamp = format_stamp("ferry.shop_order_7", moment)
    assert stamp == "ferry.shop_order_7@2026-11-01T12:30:15.123Z"
    assert parse_stamp("ferry.shop_order_7", stamp) == moment
    assert parse_stamp("ferry.shop_order_70", stamp) is None
    assert parse_stamp("ferry.shop_order_7", "typed by hand") is None
    with_digest = format_stamp("ferry.shop_order_7", moment, "3f2a9c")
    assert with_digest == "ferry.shop_order_7@2026-11-01T12:30:15.123Z#3f2a9c"
    assert parse_stamp("ferry.shop_order_7", with_digest) == moment
    assert (stamp_digest(with_digest), stamp_digest(stamp)) == ("3f2a9c", None)


async def test_creates_one_confirmed_order_with_its_customer_and_lines() -> None:
    odoo = MiniOdoo()
    cmd = command(7, skus=("SKU-001", "SKU-003"))
    assert await applier(odoo).apply(cmd) is Outcome.APPLIED
    [order] = orders(odoo)
    assert order["state"] == "sale"
    assert order["client_order_ref"] == "#7"
    assert order["date_order"] == "2026-11-01 12:30:15"
    assert (
        order["x_ferry_version"]
        == f"ferry.shop_order_7@2026-11-01T12:30:15.123Z#{command_digest(cmd)}"
    )
    [link] = xmlids(odoo, "sale.order")
    assert (link["module"], link["name"], link["res_id"]) == ("ferry", "shop_order_7", order["id"])
    lines = odoo.rows("sale.order.line")
    assert [type(line["price_unit"]) for line in lines] == [float, float]
    assert [line["price_unit"] for line in lines] == [19.99, 19.99]
    codes = {p["id"]: p["default_code"] for p in odoo.rows("product.product")}
    assert [codes[line["product_id"]] for line in lines] == ["SKU-001", "SKU-003"]
    [partner] = odoo.rows("res.partner")
    assert partner["email"] == "customer1@example.com"
    assert partner["country_id"] == odoo.rows("res.country")[0]["id"]
    assert order["partner_id"] == partner["id"]
    [plink] = xmlids(odoo, "res.partner")
    assert plink["name"] == partner_xmlid_name("Customer1@Example.com ")


async def test_the_same_command_twice_is_a_duplicate() -> None:
    odoo = MiniOdoo()
    sink = applier(odoo)
    cmd = command(7)
    assert await sink.apply(cmd) is Outcome.APPLIED
    assert await sink.apply(cmd) is Outcome.DUPLICATE
    assert await applier(odoo).apply(cmd) is Outcome.DUPLICATE  # a fresh process too
    assert len(orders(odoo)) == 1
    assert len(odoo.rows("sale.order.line")) == 1
    assert len(odoo.rows("res.partner")) == 1
    assert odoo.calls.count(("sale.order", "action_confirm")) == 1


async def test_unknown_sku_names_the_field_and_writes_nothing() -> None:
    odoo = MiniOdoo()
    with pytest.raises(ValidationError) as caught:
        await applier(odoo).apply(command(7, skus=("SKU-001", "SKU-404")))
    assert caught.value.field == "order_lines[1].default_code"
    assert "SKU-404" in str(caught.value)
    assert orders(odoo) == []
    assert odoo.rows("res.partner") == []


@pytest.mark.parametrize(("code", "rule"), [("XXX", "unknown currency"), ("XAU", "inactive")])
async def test_unknown_or_inactive_currency_names_the_field(code: str, rule: str) -> None:
    odoo = MiniOdoo()
    with pytest.raises(ValidationError, match=rule) as caught:
        await applier(odoo).apply(command(7, currency_code=code))
    assert caught.value.field == "currency_code"
    assert orders(odoo) == []


async def test_unknown_country_names_the_partner_field() -> None:
    odoo = MiniOdoo()
    cmd = command(7)
    cmd["partner"] = {**cmd["partner"], "country_code": "ZZ"}
    with pytest.raises(ValidationError) as caught:
        await applier(odoo).apply(cmd)
    assert caught.value.field == "partner.country_code"


@pytest.mark.parametrize(
    "call",
    [("sale.order", "create"), ("ir.model.data", "create"), ("sale.order", "action_confirm")],
)
async def test_a_crash_after_any_call_then_redelivery_leaves_one_confirmed_order(
    call: tuple[str, str],
) -> None:
    odoo = MiniOdoo()
    cmd = command(7, skus=("SKU-001", "SKU-002"))
    odoo.after[call] = crash
    with pytest.raises(Unavailable):
        await applier(odoo).apply(cmd)
    del odoo.after[call]
    await applier(odoo).apply(cmd)  # a restarted sink, empty caches
    await applier(odoo).apply(cmd)
    [order] = orders(odoo)
    assert order["state"] == "sale"
    assert len(odoo.rows("sale.order.line")) == 2
    assert [r["res_id"] for r in xmlids(odoo, "sale.order")] == [order["id"]]
    assert odoo.calls.count(("sale.order", "action_confirm")) == 1


async def test_losing_the_race_for_the_external_id_keeps_the_winners_order() -> None:
    odoo = MiniOdoo()
    cmd = command(7)
    stamp = format_stamp(cmd["external_id"], cmd["source_updated_at"])

    def another_writer_registers_first(_: Any) -> None:
        del odoo.after[("sale.order", "create")]
        first = odoo.insert(
            "sale.order", {"client_order_ref": "#7", "origin": stamp, "state": "sale"}
        )
        odoo.insert(
            "ir.model.data",
            {"module": "ferry", "name": "shop_order_7", "model": "sale.order", "res_id": first},
        )

    odoo.after[("sale.order", "create")] = another_writer_registers_first
    assert await applier(odoo).apply(cmd) is Outcome.APPLIED
    [order] = orders(odoo)
    assert order["state"] == "sale"
    assert [r["res_id"] for r in xmlids(odoo, "sale.order")] == [order["id"]]
    assert odoo.calls.count(("sale.order", "unlink")) == 1
    assert ("sale.order", "action_confirm") not in odoo.calls  # the winner's state was read


async def test_an_older_command_never_overwrites_a_newer_one() -> None:
    odoo = MiniOdoo()
    sink = applier(odoo)
    base = command(7, confirm=False)
    newer = command(
        7,
        skus=("SKU-002", "SKU-003"),
        confirm=False,
        source_updated_at=base["source_updated_at"] + timedelta(minutes=5),
    )
    assert await sink.apply(base) is Outcome.APPLIED
    assert await sink.apply(newer) is Outcome.APPLIED
    assert await sink.apply(base) is Outcome.DUPLICATE  # a late retry of the old version
    [order] = orders(odoo)
    codes = {p["id"]: p["default_code"] for p in odoo.rows("product.product")}
    lines = odoo.rows("sale.order.line")
    assert sorted(codes[line["product_id"]] for line in lines) == ["SKU-002", "SKU-003"]
    assert order["x_ferry_version"].endswith(f"12:35:15.123Z#{command_digest(newer)}")
    assert order["state"] == "draft"


def line_state(odoo: MiniOdoo) -> list[tuple[str, float]]:
    codes = {p["id"]: p["default_code"] for p in odoo.rows("product.product")}
    return sorted(
        (codes[line["product_id"]], float(line["product_uom_qty"]))
        for line in odoo.rows("sale.order.line")
    )


async def test_a_newer_command_changes_a_confirmed_order_as_odoo_permits() -> None:
    odoo = MiniOdoo()
    sink = applier(odoo)
    base = command(7, skus=("SKU-001", "SKU-002"))
    later = base["source_updated_at"] + timedelta(minutes=5)
    await sink.apply(base)
    assert orders(odoo)[0]["state"] == "sale"
    renamed = command(
        7, skus=("SKU-001", "SKU-002"), client_order_ref="#7-renamed", source_updated_at=later
    )
    assert await sink.apply(renamed) is Outcome.APPLIED
    assert orders(odoo)[0]["client_order_ref"] == "#7-renamed"
    # SKU-002 dropped, SKU-001 to 3, SKU-004 added: Odoo keeps a confirmed line (quantity 0)
    changed = command(7, skus=("SKU-001", "SKU-004"), source_updated_at=later + timedelta(1))
    changed["order_lines"][0]["product_uom_qty"] = Decimal("3")
    assert await sink.apply(changed) is Outcome.APPLIED
    assert line_state(odoo) == [("SKU-001", 3.0), ("SKU-002", 0.0), ("SKU-004", 2.0)]
    [order] = orders(odoo)
    assert order["state"] == "sale"
    assert parse_stamp("ferry.shop_order_7", order["x_ferry_version"]) == later + timedelta(1)


async def test_less_than_was_delivered_or_another_currency_is_refused_naming_the_field() -> None:
    odoo = MiniOdoo()
    sink = applier(odoo)
    base = command(7, skus=("SKU-001",))
    base["order_lines"][0]["product_uom_qty"] = Decimal("4")
    await sink.apply(base)
    [line] = odoo.rows("sale.order.line")
    odoo.tables["sale.order.line"][line["id"]]["qty_delivered"] = 2.0  # two went out
    fewer = command(
        7, skus=("SKU-001",), source_updated_at=base["source_updated_at"] + timedelta(1)
    )
    fewer["order_lines"][0]["product_uom_qty"] = Decimal("1")
    with pytest.raises(Rejected) as caught:
        await sink.apply(fewer)  # 1 < 2 delivered
    assert (caught.value.field, caught.value.rule) == (
        "order_lines[0].product_uom_qty",
        "order_locked",
    )
    assert "2 of" in str(caught.value)
    dollars = command(
        7,
        skus=("SKU-001",),
        currency_code="USD",
        source_updated_at=base["source_updated_at"] + timedelta(2),
    )
    dollars["order_lines"][0]["product_uom_qty"] = Decimal("4")
    with pytest.raises(Rejected) as caught:
        await sink.apply(dollars)
    assert (caught.value.field, caught.value.rule) == ("currency_code", "order_locked")
    assert line_state(odoo) == [("SKU-001", 4.0)]


async def test_an_existing_customer_is_found_by_email_exactly() -> None:
    odoo = MiniOdoo()
    odoo.insert("res.partner", {"name": "Look-alike", "email": "johnXdoe@example.com"})
    mine = odoo.insert("res.partner", {"name": "John", "email": "John_Doe@Example.com"})
    cmd = command(7)
    cmd["partner"] = {**cmd["partner"], "email": "john_doe@example.com"}
    await applier(odoo).apply(cmd)
    assert orders(odoo)[0]["partner_id"] == mine
    assert len(odoo.rows("res.partner")) == 2


async def test_products_and_currencies_are_cached_for_a_short_time() -> None:
    odoo = MiniOdoo()
    now = [0.0]
    client = odoo.client()
    sink = SaleOrderApplier(client, Lookups(client, ttl_s=60, clock=lambda: now[0]))
    await sink.apply(command(1))
    await sink.apply(command(2))
    assert odoo.calls.count(("product.product", "search_read")) == 1
    assert odoo.calls.count(("res.currency", "search_read")) == 1
    now[0] = 61.0
    await sink.apply(command(3))
    assert odoo.calls.count(("product.product", "search_read")) == 2


async def test_a_bad_external_id_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as caught:
        await applier(MiniOdoo()).apply(command(7, external_id="other.shop_order_7"))
    assert caught.value.field == "external_id"


def event(data: dict[str, Any]) -> SinkEvent:
    envelope = CloudEvent(id="1", source="test", type="odoo.sale_order.upsert", subject="s")
    return SinkEvent(envelope, "odoo.sale_order.upsert", data)


RECORD = Record("sink.odoo.sale_orders", 0, 0, b"k", b"v", [])


def sink_of(target: OdooTarget) -> OdooSaleOrderSink:
    return OdooSaleOrderSink(target, topic=RECORD.topic, name="shop-orders")


async def test_the_sink_turns_a_refused_key_into_the_operator_line() -> None:
    odoo = MiniOdoo(api_key="f" * 40)
    sink = sink_of(OdooTarget(odoo.client()))
    expected = (
        "Odoo refused the API key for login admin on database ferry: check FERRY_ODOO_API_KEY"
    )
    with pytest.raises(AuthenticationError) as caught:
        await sink.apply(event(command(7)), RECORD)
    assert str(caught.value) == expected
    with pytest.raises(AuthenticationError, match="check FERRY_ODOO_API_KEY"):
        await sink.target.check_credentials()


async def test_the_sink_is_ready_only_while_odoo_answers() -> None:
    odoo = MiniOdoo()
    sink = sink_of(OdooTarget(odoo.client(), probe_every_s=0))
    assert await sink.ready() is True
    odoo.down = True
    assert await sink.ready() is False
    with pytest.raises(Unavailable):
        await sink.apply(event(command(7)), RECORD)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("call", [("sale.order", "create"), ("ir.model.data", "create")])
async def test_a_write_odoo_commits_after_the_client_gave_up_never_doubles_the_order(
    call: tuple[str, str],
) -> None:
    """The client times out; Odoo's transaction is still running and commits later."""
    import httpx

    odoo, clock = MiniOdoo(), Clock()
    late: list[tuple[str, dict[str, Any]]] = []

    def commits_later(result: Any) -> None:
        model = call[0]
        row = odoo.tables[model].pop(int(result))  # not visible yet: still in its transaction
        late.append((model, row))
        raise httpx.ReadTimeout("timed out waiting for Odoo's answer")

    odoo.after[call] = commits_later
    sink = SaleOrderApplier(odoo.client(), clock=clock, settle_s=120.0)
    cmd = command(7)
    with pytest.raises(Unavailable):
        await sink.apply(cmd)
    del odoo.after[call]
    # The redelivery, moments later: the first transaction has not committed.
    clock.now += 1
    with pytest.raises(Deferred, match="may still be running"):
        await sink.apply(cmd)
    # The first transaction commits; once Odoo's longest request time has passed, look again.
    for model, row in late:
        odoo.tables[model][row["id"]] = row
    clock.now += 120
    assert await sink.apply(cmd) is Outcome.APPLIED
    [order] = orders(odoo)
    assert order["state"] == "sale"
    assert [link["res_id"] for link in xmlids(odoo, "sale.order")] == [order["id"]]


async def test_a_connection_refused_before_sending_is_not_ambiguous() -> None:
    odoo, clock = MiniOdoo(), Clock()
    odoo.down = True
    sink = SaleOrderApplier(odoo.client(), clock=clock, settle_s=120.0)
    with pytest.raises(Unavailable):
        await sink.apply(command(8))
    odoo.down = False
    assert await sink.apply(command(8)) is Outcome.APPLIED  # at once: nothing may be running


async def test_the_same_version_with_other_content_is_applied_not_skipped() -> None:
    """Two states stamped with one millisecond: the later one in the partition wins."""
    odoo = MiniOdoo()
    sink = applier(odoo)
    assert await sink.apply(command(9)) is Outcome.APPLIED
    changed = command(9, client_order_ref="#9-gift")  # same source_updated_at
    assert await sink.apply(changed) is Outcome.APPLIED
    [order] = orders(odoo)
    assert order["client_order_ref"] == "#9-gift"
    assert await sink.apply(changed) is Outcome.DUPLICATE  # that content again: nothing to do


async def test_same_version_other_lines_on_a_confirmed_order_is_applied_not_skipped() -> None:
    odoo = MiniOdoo()
    sink = applier(odoo)
    await sink.apply(command(10))
    assert await sink.apply(command(10, skus=("SKU-002",))) is Outcome.APPLIED
    assert line_state(odoo) == [("SKU-001", 0.0), ("SKU-002", 2.0)]


async def test_a_cancelled_shop_order_cancels_the_sale_order_once() -> None:
    odoo = MiniOdoo()
    sink = applier(odoo)
    await sink.apply(command(11))
    later = command(
        11, cancel=True, confirm=False, source_updated_at=datetime(2026, 11, 2, tzinfo=UTC)
    )
    assert await sink.apply(later) is Outcome.APPLIED
    [order] = orders(odoo)
    assert order["state"] == "cancel"
    assert (
        parse_stamp("ferry.shop_order_11", order["x_ferry_version"]) == later["source_updated_at"]
    )
    assert await sink.apply(later) is Outcome.DUPLICATE  # a redelivery
    assert await sink.apply(command(11)) is Outcome.DUPLICATE  # the older state: never revives
    newer = command(11, source_updated_at=datetime(2026, 11, 3, tzinfo=UTC))
    with pytest.raises(Rejected) as caught:
        await sink.apply(newer)  # a newer state that is not cancelled: Odoo keeps it cancelled
    assert (caught.value.field, caught.value.rule) == ("state", "order_locked")


async def test_an_order_cancelled_before_odoo_saw_it_is_recorded_cancelled() -> None:
    odoo = MiniOdoo()
    assert await applier(odoo).apply(command(12, cancel=True, confirm=False)) is Outcome.APPLIED
    [order] = orders(odoo)
    assert order["state"] == "cancel"
    assert [link["res_id"] for link in xmlids(odoo, "sale.order")] == [order["id"]]


async def test_a_locked_order_is_not_cancelled_and_the_refusal_names_it() -> None:
    odoo = MiniOdoo()
    sink = applier(odoo)
    await sink.apply(command(13))
    [order] = orders(odoo)
    order["locked"] = True
    later = command(
        13, cancel=True, confirm=False, source_updated_at=datetime(2026, 11, 2, tzinfo=UTC)
    )
    with pytest.raises(Rejected) as caught:
        await sink.apply(later)
    assert (caught.value.field, caught.value.rule) == ("cancel", "order_locked")
    assert orders(odoo)[0]["state"] == "sale"
