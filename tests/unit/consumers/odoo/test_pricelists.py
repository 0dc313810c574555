"""The order's currency reaches Odoo through its pricelist (``sale.order.currency_id`` is
computed from ``pricelist_id.currency_id`` in Odoo 17 and 18)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from consumers.odoo.lookups import Lookups
from consumers.odoo.sale_orders import SaleOrderApplier
from consumers.runner import Outcome
from ferry.errors import ValidationError
from tests.unit.consumers.fakes import command
from tests.unit.consumers.odoo.mini_odoo import MiniOdoo


def applier(odoo: MiniOdoo) -> SaleOrderApplier:
    return SaleOrderApplier(odoo.client())


def currency_id(odoo: MiniOdoo, code: str) -> int:
    return next(int(r["id"]) for r in odoo.rows("res.currency") if r["name"] == code)


def pricelists_in(odoo: MiniOdoo, code: str) -> list[dict[str, Any]]:
    wanted = currency_id(odoo, code)
    return [r for r in odoo.rows("product.pricelist") if r["currency_id"] == wanted]


def pricelist_xmlids(odoo: MiniOdoo) -> list[dict[str, Any]]:
    return [r for r in odoo.rows("ir.model.data") if r["model"] == "product.pricelist"]


def order_of(odoo: MiniOdoo, ref: str) -> dict[str, Any]:
    return next(r for r in odoo.rows("sale.order") if r["client_order_ref"] == ref)


async def test_an_eur_order_gets_an_eur_pricelist_created_once_then_reused() -> None:
    odoo = MiniOdoo()
    assert await applier(odoo).apply(command(1, currency_code="EUR")) is Outcome.APPLIED
    [pricelist] = pricelists_in(odoo, "EUR")
    assert pricelist["name"] == "Ferry EUR"
    [link] = pricelist_xmlids(odoo)
    assert (link["module"], link["name"], link["res_id"]) == (
        "ferry",
        "pricelist_eur",
        pricelist["id"],
    )
    first = order_of(odoo, "#1")
    assert first["pricelist_id"] == pricelist["id"]
    assert "currency_id" not in first  # computed by Odoo from the pricelist
    assert odoo.currency_of(first) == "EUR"

    await applier(odoo).apply(command(2, currency_code="eur"))  # a fresh process, empty cache
    assert order_of(odoo, "#2")["pricelist_id"] == pricelist["id"]
    assert len(pricelists_in(odoo, "EUR")) == 1
    assert odoo.calls.count(("product.pricelist", "create")) == 1


async def test_a_usd_order_uses_the_company_default_pricelist_in_usd() -> None:
    odoo = MiniOdoo()
    [default] = pricelists_in(odoo, "USD")
    await applier(odoo).apply(command(1, currency_code="USD"))
    order = order_of(odoo, "#1")
    assert order["pricelist_id"] == default["id"]
    assert odoo.currency_of(order) == "USD"
    assert ("product.pricelist", "create") not in odoo.calls
    assert pricelist_xmlids(odoo) == []


async def test_an_archived_pricelist_is_not_used() -> None:
    odoo = MiniOdoo()
    eur = currency_id(odoo, "EUR")
    odoo.insert("product.pricelist", {"name": "Old EUR", "currency_id": eur, "active": False})
    await applier(odoo).apply(command(1, currency_code="EUR"))
    [active] = [p for p in pricelists_in(odoo, "EUR") if p.get("active", True)]
    assert active["name"] == "Ferry EUR"
    assert order_of(odoo, "#1")["pricelist_id"] == active["id"]


@pytest.mark.parametrize(("code", "rule"), [("XAU", "inactive currency"), ("XXX", "unknown")])
async def test_an_inactive_or_unknown_currency_is_rejected_naming_currency_code(
    code: str, rule: str
) -> None:
    odoo = MiniOdoo()
    before = odoo.rows("product.pricelist")
    with pytest.raises(ValidationError, match=rule) as caught:
        await applier(odoo).apply(command(1, currency_code=code))
    assert caught.value.field == "currency_code"
    assert odoo.rows("product.pricelist") == before
    assert odoo.rows("sale.order") == []


async def test_an_unknown_sku_creates_no_pricelist() -> None:
    odoo = MiniOdoo()
    with pytest.raises(ValidationError):
        await applier(odoo).apply(command(1, skus=("SKU-404",), currency_code="EUR"))
    assert pricelists_in(odoo, "EUR") == []


async def test_racing_sinks_converge_on_one_ferry_pricelist() -> None:
    odoo = MiniOdoo()
    eur = currency_id(odoo, "EUR")
    winner: list[int] = []

    def other_sink_wins(_: Any) -> None:
        # Between our create and our external id, another sink registers its own pricelist.
        del odoo.after[("product.pricelist", "create")]
        pid = odoo.insert("product.pricelist", {"name": "Ferry EUR", "currency_id": eur})
        odoo.insert(
            "ir.model.data",
            {
                "module": "ferry",
                "name": "pricelist_eur",
                "model": "product.pricelist",
                "res_id": pid,
            },
        )
        winner.append(pid)

    odoo.after[("product.pricelist", "create")] = other_sink_wins
    await applier(odoo).apply(command(1, currency_code="EUR"))
    assert [p["id"] for p in pricelists_in(odoo, "EUR")] == winner
    assert order_of(odoo, "#1")["pricelist_id"] == winner[0]


async def test_ferrys_pricelist_archived_by_an_operator_is_rejected_naming_currency_code() -> None:
    odoo = MiniOdoo()
    await applier(odoo).apply(command(1, currency_code="EUR"))
    [ours] = pricelists_in(odoo, "EUR")
    ours["active"] = False
    with pytest.raises(ValidationError, match="active pricelist") as caught:
        await applier(odoo).apply(command(2, currency_code="EUR"))
    assert caught.value.field == "currency_code"
    assert "ferry.pricelist_eur" in str(caught.value)
    assert len(pricelists_in(odoo, "EUR")) == 1
    assert [r["client_order_ref"] for r in odoo.rows("sale.order")] == ["#1"]


async def test_a_newer_command_moves_a_draft_order_to_its_new_currency() -> None:
    odoo = MiniOdoo()
    sink = applier(odoo)
    base = command(1, confirm=False, currency_code="EUR")
    newer = command(
        1,
        confirm=False,
        currency_code="USD",
        source_updated_at=base["source_updated_at"] + timedelta(minutes=5),
    )
    await sink.apply(base)
    assert odoo.currency_of(order_of(odoo, "#1")) == "EUR"
    assert await sink.apply(newer) is Outcome.APPLIED
    assert odoo.currency_of(order_of(odoo, "#1")) == "USD"


async def test_pricelists_are_cached_for_a_short_time() -> None:
    odoo = MiniOdoo()
    now = [0.0]
    client = odoo.client()
    sink = SaleOrderApplier(client, Lookups(client, ttl_s=60, clock=lambda: now[0]))
    await sink.apply(command(1))
    await sink.apply(command(2))
    assert odoo.calls.count(("product.pricelist", "search_read")) == 1
    now[0] = 61.0
    await sink.apply(command(3))
    assert odoo.calls.count(("product.pricelist", "search_read")) == 2
    assert odoo.calls.count(("product.pricelist", "create")) == 1
