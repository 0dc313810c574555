"""What the capture service checks at start, without Odoo or Kafka."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import pytest

from ferry.errors import ConfigError
from ferry.odoo import OdooClient
from ferry.registry import load
from producers.odoo.feeds import PARTNERS, PRODUCTS, STOCK
from producers.odoo.service import captured_feeds, check_fields, warehouse_id
from producers.odoo.settings import CaptureSettings


class Odoo:
    def __init__(self, fields: dict[str, list[str]], warehouses: list[dict[str, Any]]) -> None:
        self.fields = fields
        self.warehouses = warehouses

    async def execute_kw(
        self, model: str, method: str, args: Sequence[Any], kwargs: dict[str, Any]
    ) -> Any:
        assert method == "fields_get"
        return {name: {"type": "char"} for name in self.fields[model]}

    async def search(self, model: str, domain: Sequence[Any], *, limit: int) -> list[int]:
        ((field, _, value),) = domain
        return [w["id"] for w in self.warehouses if w[field] == value][:limit]

    async def search_read(self, model: str, domain: Sequence[Any], fields: Sequence[str]) -> Any:
        return self.warehouses


def client(odoo: Odoo) -> OdooClient:
    return cast(OdooClient, odoo)


async def test_a_captured_field_missing_in_odoo_stops_the_capture_naming_it() -> None:
    fields = {"product.product": [f for f in PRODUCTS.fields if f != "default_code"]}
    with pytest.raises(ConfigError) as caught:
        await check_fields(client(Odoo(fields, [])), [PRODUCTS])
    assert str(caught.value) == (
        "capture product.product: field default_code does not exist in this Odoo "
        "(renamed or removed?)"
    )
    await check_fields(client(Odoo({"product.product": list(PRODUCTS.fields)}, [])), [PRODUCTS])


async def test_the_warehouse_is_found_by_code_then_name_or_named_missing() -> None:
    odoo = Odoo({}, [{"id": 1, "code": "WH", "name": "My Company"}])
    assert await warehouse_id(client(odoo), "WH") == 1
    assert await warehouse_id(client(odoo), "My Company") == 1
    with pytest.raises(ConfigError, match=r"^systems\.odoo\.capture\.warehouse: no warehouse 'X'"):
        await warehouse_id(client(odoo), "X")


def test_the_capture_reads_what_the_enabled_flows_need_plus_configured_models() -> None:
    registry = load(environ={})
    feeds = captured_feeds(registry.enabled, CaptureSettings(models=["res.partner"]))
    assert {f.model for f in feeds} == {STOCK.model, PRODUCTS.model, PARTNERS.model}
    with pytest.raises(ConfigError, match=r"res\.users: not capturable"):
        captured_feeds([], CaptureSettings(models=["res.users"]))
