from __future__ import annotations

import pytest

from ferry.errors import OwnershipViolation
from ferry.settings import FlowSettings, Settings
from streams.flows.shop_orders.mapping import MAPPINGS
from streams.ownership import Grant, OwnershipGuard, grant_of_flow, system_of_topic

ENTITIES = {name: m.entity for name, m in MAPPINGS.items()}


@pytest.fixture
def guard() -> OwnershipGuard:
    return OwnershipGuard.from_settings(Settings(), ENTITIES)


def test_the_default_flow_lets_the_shop_create_sale_orders_in_odoo(guard: OwnershipGuard) -> None:
    guard.check(source="shop", entity="sale_order", target="odoo")
    assert guard.allows(source="shop", entity="sale_order", target="odoo")


def test_the_shop_may_not_write_products_into_odoo(guard: OwnershipGuard) -> None:
    with pytest.raises(OwnershipViolation) as caught:
        guard.check(source="shop", entity="product", target="odoo")
    error = caught.value
    assert (error.system, error.entity, error.owner) == ("shop", "product", "odoo")
    assert str(error) == "shop may not change product: owned by odoo"


def test_the_owner_may_spread_its_own_data(guard: OwnershipGuard) -> None:
    guard.check(source="odoo", entity="product", target="shop")
    guard.check(source="odoo", entity="inventory", target="shop")


def test_a_grant_only_writes_into_the_owner(guard: OwnershipGuard) -> None:
    with pytest.raises(OwnershipViolation):
        guard.check(source="shop", entity="sale_order", target="accounting")


def test_an_entity_nobody_owns_is_refused(guard: OwnershipGuard) -> None:
    with pytest.raises(OwnershipViolation, match="owned by nobody"):
        guard.check(source="shop", entity="invoice", target="odoo")
    assert guard.owner("invoice") is None


def test_without_the_flow_the_shop_may_not_create_sale_orders() -> None:
    guard = OwnershipGuard.from_settings(Settings(flows=[]), ENTITIES)
    with pytest.raises(OwnershipViolation):
        guard.check(source="shop", entity="sale_order", target="odoo")


def test_ownership_comes_from_the_settings() -> None:
    settings = Settings(ownership={"sale_order": "shop"}, flows=[])
    guard = OwnershipGuard.from_settings(settings, ENTITIES)
    guard.check(source="shop", entity="sale_order", target="odoo")
    with pytest.raises(OwnershipViolation, match="owned by shop"):
        guard.check(source="odoo", entity="sale_order", target="shop")


def test_flows_with_an_unknown_mapping_grant_nothing() -> None:
    flow = FlowSettings(name="x", source="src.shop.products", mapping="nope", target="sink.odoo.x")
    guard = OwnershipGuard.from_settings(Settings(flows=[flow]), ENTITIES)
    assert not guard.allows(source="shop", entity="product", target="odoo")


def test_grant_of_flow_and_topic_systems() -> None:
    flow = Settings().flows[0]
    assert grant_of_flow(flow, "sale_order") == Grant("shop", "sale_order", "odoo")
    assert system_of_topic("src.shop.orders") == "shop"
    assert system_of_topic("sink.odoo.sale_orders") == "odoo"
    with pytest.raises(ValueError):
        system_of_topic("dlq.src.shop.orders")
