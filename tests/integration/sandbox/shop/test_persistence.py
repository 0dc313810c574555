"""State in --data-dir survives a restart; the command line serves the same API."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
from click.testing import CliRunner

from ferry.cli import cli
from sandbox.shop import RunningShop, ShopConfig
from tests.support.platform import free_port

from .conftest import CLIENT_ID, LOCATION, SECRET, Api, get_token, wait_for

SET = """mutation($q: [InventoryQuantityInput!]!, $key: String!) {
  inventorySetQuantities(input: {name: "available", reason: "correction", quantities: $q})
  @idempotent(key: $key) { inventoryAdjustmentGroup { id } userErrors { code } } }"""


def test_state_survives_a_restart_with_a_data_dir(tmp_path: Path) -> None:
    config = ShopConfig(client_secret=SECRET, client_id=CLIENT_ID, data_dir=tmp_path)
    key = str(uuid.uuid4())
    with RunningShop(config) as first:
        token = get_token(first)
        api = Api(first, token)
        item = api.level("SKU-002")["inventory_item_id"]
        variables = {
            "q": [
                {
                    "inventoryItemId": item,
                    "locationId": LOCATION,
                    "quantity": 7,
                    "changeFromQuantity": 100,
                }
            ],
            "key": key,
        }
        group = api.data(SET, variables)["inventorySetQuantities"]["inventoryAdjustmentGroup"]
        api.control("POST", "inventory", {"sku": "SKU-005", "price": "4.75"})
        api.control("POST", "orders", {"line_items": [{"sku": "SKU-003", "quantity": 4}]})
    with RunningShop(
        ShopConfig(client_secret=SECRET, client_id=CLIENT_ID, data_dir=tmp_path)
    ) as second:
        api = Api(second, token)  # the token issued before the restart is still good
        assert api.level("SKU-002")["available"] == 7
        assert api.level("SKU-005")["price"] == "4.75"
        level = api.level("SKU-003")
        assert (level["available"], level["on_hand"]) == (96, 100)
        replay = api.data(SET, variables)["inventorySetQuantities"]
        assert replay["inventoryAdjustmentGroup"] == group
        placed = api.control("POST", "orders", {"line_items": [{"sku": "SKU-001", "quantity": 1}]})
        assert placed["order"]["name"] == "#1002"
        assert len(api.control("GET", "orders")["orders"]) == 2


def test_python_dash_m_serves_with_the_secret_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "FERRY_TEST_SHOP_SECRET": SECRET, "SANDBOX_SHOP_CLIENT_ID": CLIENT_ID}
    args = [sys.executable, "-m", "sandbox.shop", "--port", str(port), "--data-dir", str(tmp_path)]
    args += ["--client-secret-env", "FERRY_TEST_SHOP_SECRET"]
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/__sandbox__/health").status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(up, timeout_s=20, what="the shop emulator to start")
        grant = httpx.post(
            f"{base}/admin/oauth/access_token",
            json={
                "client_id": CLIENT_ID,
                "client_secret": SECRET,
                "grant_type": "client_credentials",
            },
        )
        assert grant.status_code == 200
        answer = httpx.post(
            f"{base}/admin/api/2026-10/graphql.json",
            json={"query": "{ productVariants(first: 1) { nodes { sku } } }"},
            headers={"X-Shopify-Access-Token": grant.json()["access_token"]},
        )
        assert answer.json()["data"] == {"productVariants": {"nodes": [{"sku": "SKU-001"}]}}
        assert (tmp_path / "shop.sqlite3").exists()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_ferry_sandbox_shop_is_registered_and_wants_a_secret() -> None:
    runner = CliRunner()
    helped = runner.invoke(cli, ["sandbox", "shop", "--help"])
    assert helped.exit_code == 0
    assert "--client-secret-env" in helped.output
    assert "--webhook-url" in helped.output
    missing = runner.invoke(cli, ["sandbox", "shop", "--client-secret-env", "FERRY_TEST_UNSET_VAR"])
    assert missing.exit_code == 2
    assert "FERRY_TEST_UNSET_VAR" in missing.output
