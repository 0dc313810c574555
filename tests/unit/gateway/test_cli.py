from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from ferry.cli import cli
from ferry.metrics import ServiceMetrics
from ferry.serde import SingleObjectSerde
from ferry.settings import ServiceSettings
from producers.gateway.app import create_app
from producers.shop.sample import CATALOGUE, sample_order, send_samples
from producers.shop.webhook import order_record
from tests.unit.gateway.test_app import FakeProducer, shop_routes

SECRET = secrets.token_urlsafe(24)  # generated per run: no secret lives in code


@pytest.mark.parametrize("args", [["gateway"], ["shop", "send-sample"]])
def test_a_missing_webhook_secret_is_one_clear_line_and_exit_2(
    args: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("FERRY_SHOP_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("FERRY_CONFIG", raising=False)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "shop.webhook_secret" in lines[0]
    assert "FERRY_SHOP_WEBHOOK_SECRET" in lines[0]
    assert "Traceback" not in result.output


def test_sample_orders_use_the_seeded_skus_and_decode() -> None:
    skus = {sku for sku, _, _ in CATALOGUE}
    assert skus == {f"SKU-00{n}" for n in range(1, 6)}
    for order_id in range(1, 30):
        record = order_record(sample_order(order_id))
        assert {line["sku"] for line in record["lines"]} <= skus
        assert record["currency"] == "EUR"
        assert record["customer"]["email"]


@pytest.mark.parametrize(
    "kind", ["unknown_sku", "zero_quantity", "unknown_currency", "missing_email"]
)
def test_invalid_samples_still_decode(kind: str) -> None:
    record = order_record(sample_order(7, invalid=kind))
    assert record["order_id"] == "7"


async def test_send_samples_posts_signed_orders_and_reports_ce_ids() -> None:
    producer = FakeProducer()
    app = create_app(
        ServiceSettings(port=0),
        producer,
        SingleObjectSerde(),
        ServiceMetrics("gateway"),
        shop_routes(SECRET),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        results = await send_samples(
            "http://gw/webhooks/shop", SECRET, count=3, first_order_id=500, client=client
        )
        invalid = await send_samples(
            "http://gw/webhooks/shop", SECRET, count=4, invalid=True, client=client
        )
        wrong = await send_samples("http://gw/webhooks/shop", "not-the-secret", client=client)
    assert [r.order_id for r in results] == [500, 501, 502]
    assert all(r.accepted and r.ce_id for r in results)
    assert len({r.ce_id for r in results}) == 3
    assert all(r.accepted for r in invalid)
    assert {r.invalid for r in invalid} == {
        "unknown_sku",
        "zero_quantity",
        "unknown_currency",
        "missing_email",
    }
    assert len(producer.sent) == 7
    [refused] = wrong
    assert (refused.status, refused.ce_id) == (401, None)
    assert refused.error
