from __future__ import annotations

import pytest

from ferry.errors import OwnershipViolation
from ferry.ownership import Grant, OwnershipGuard, grant_of_flow
from ferry.registry import load
from ferry.topics import system_of_topic
from streams.flows.shop_orders import FLOW

OWNERS = {"sale_order": "odoo", "customer": "odoo", "product": "odoo", "inventory": "odoo"}


@pytest.fixture
def guard() -> OwnershipGuard:
    return OwnershipGuard.of_flows(OWNERS, [FLOW])


def test_the_shop_orders_flow_lets_the_shop_create_sale_orders_in_odoo(
    guard: OwnershipGuard,
) -> None:
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
    guard = OwnershipGuard.of_flows(OWNERS, [])
    with pytest.raises(OwnershipViolation):
        guard.check(source="shop", entity="sale_order", target="odoo")


def test_owners_come_from_the_flows_overridden_by_the_settings() -> None:
    assert load(environ={}).ownership["sale_order"] == "odoo"
    assert load(environ={}).ownership["inventory"] == "odoo"
    registry = load(environ={"FERRY__OWNERSHIP__SALE_ORDER": "shop"})
    assert registry.ownership["sale_order"] == "shop"
    guard = OwnershipGuard.of_flows(registry.ownership, registry.enabled)
    guard.check(source="shop", entity="sale_order", target="odoo")
    with pytest.raises(OwnershipViolation, match="owned by shop"):
        guard.check(source="odoo", entity="sale_order", target="shop")


def test_grant_of_flow_and_topic_systems() -> None:
    assert grant_of_flow(FLOW) == Grant("shop", "sale_order", "odoo")
    assert system_of_topic("src.shop.orders") == "shop"
    assert system_of_topic("sink.odoo.sale_orders") == "odoo"
    with pytest.raises(ValueError):
        system_of_topic("dlq.src.shop.orders")
