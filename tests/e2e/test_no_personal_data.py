"""No personal data leaves a record: after orders with distinctive customers went through every
stage (one into Odoo, some dead-lettered by the stream stage for their very e-mail, one by the
sink), no service's log and no dead letter's headers hold a customer's e-mail, name or street.

The dead letters still say what broke: the field and the rule, the e-mail masked. The platform
logs at DEBUG, so the per-event lines are scanned too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from consumers.runner import group_id
from ferry.envelope import header
from ferry.registry import load
from producers.shop.sample import signed_request
from streams.app import APP_ID
from tests.support.kafka_read import read_all, until_no_lag, wait_for_keys
from tests.support.odoo_rpc import OdooReader
from tests.support.orders import order_ids, unique_order
from tests.support.platform import Platform, running_platform
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

RUN = uuid.uuid4().hex[:10]
DEBUG = {"FERRY__LOGGING__LEVEL": "debug"}


@pytest.fixture(scope="module")
def platform(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    state_dir = tmp_path_factory.mktemp("privacy-platform")
    with running_platform(kafka_bootstrap, state_dir, extra_env=DEBUG) as running:
        yield running


def _customer(n: int) -> dict[str, str]:
    """A customer no other run has: every personal value carries this run's tag."""
    tag = f"{RUN}x{n}"
    first, last = f"Ottilie{tag}", f"Quennell{tag}"
    local = f"ottilie.quennell.{tag}"
    return {
        "first": first,
        "last": last,
        "local": local,
        "email": f"{local}@example.com",
        "street": f"Lindenallee {n} {tag}",
    }


def _order(order_id: int, who: dict[str, str], *, email: str | None = None) -> dict[str, Any]:
    order = unique_order(order_id)
    address = email if email is not None else who["email"]
    order["email"] = address
    order["customer"] = {"first_name": who["first"], "last_name": who["last"], "email": address}
    order["shipping_address"]["name"] = f"{who['first']} {who['last']}"
    order["shipping_address"]["address1"] = who["street"]
    return order


def _secrets(who: dict[str, str]) -> list[str]:
    """What must appear nowhere: the e-mail, its local part, the names, the street."""
    return [who["email"], who["local"], who["first"], who["last"], who["street"]]


async def _post(platform: Platform, orders: list[dict[str, Any]]) -> None:
    async with httpx.AsyncClient(timeout=30.0) as http:
        for order in orders:
            body, headers = signed_request(
                order, platform.webhook_secret, delivery_id=str(uuid.uuid4())
            )
            response = await http.post(platform.gateway_url, content=body, headers=headers)
            assert response.status_code == 202, response.text


async def _dead_letter_topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sorted(t for t in await admin.list_topics() if t.startswith("dlq."))
    finally:
        await admin.close()


async def test_no_log_line_and_no_dead_letter_header_holds_a_customers_data(
    platform: Platform, odoo: OdooReader
) -> None:
    ids = order_ids(4)
    people = [_customer(n) for n in range(len(ids))]
    valid = _order(ids[0], people[0])
    # No "@" at all: the stream's e-mail rule refuses it.
    no_at = _order(ids[1], people[1], email=people[1]["email"].replace("@", " at "))
    # A display name around the address, and two more broken rules listed in the message.
    named = _order(
        ids[2], people[2], email=f"{people[2]['first']} {people[2]['last']} <{people[2]['email']}>"
    )
    named["line_items"][0]["quantity"] = 0
    named["shipping_address"]["country_code"] = "Germany"
    # Valid for the stream, refused by the sink: Odoo has no such product.
    unknown = _order(ids[3], people[3])
    unknown["line_items"][0]["sku"] = "SKU-999"
    await _post(platform, [valid, no_at, named, unknown])

    xmlid = f"shop_order_{ids[0]}"
    await eventually(
        lambda: odoo.sale_orders_by_xmlid([xmlid]).get(xmlid, {}).get("state") == "sale",
        what="the valid order confirmed in Odoo",
    )
    stream_keys = {f"shop:order:{i}".encode() for i in ids[1:3]}
    refused = await wait_for_keys(platform.bootstrap, "dlq.src.shop.orders", stream_keys, count=2)
    sink_key = f"shop:order:{ids[3]}".encode()
    unapplied = await wait_for_keys(
        platform.bootstrap, "dlq.sink.odoo.sale_orders", {sink_key}, count=1
    )
    assert {r.key for r in refused} == stream_keys
    assert [r.key for r in unapplied] == [sink_key]
    # Everything these orders caused is done (and logged): both stages committed all.
    registry = load(environ=platform.env)
    for flow in registry.enabled:
        await until_no_lag(platform.bootstrap, APP_ID, flow.source.topic)
    for flow in registry.sink_flows():
        await until_no_lag(platform.bootstrap, group_id(flow.name), flow.target.topic)

    secrets = [s.lower() for who in people for s in _secrets(who)]
    logs = {
        path.name: path.read_text(encoding="utf-8", errors="replace").splitlines()
        for path in sorted(platform.log_dir.glob("*.log"))
    }
    leaks = [
        f"{name}: {line}"
        for name, lines in logs.items()
        for line in lines
        if any(s in line.lower() for s in secrets)
    ]
    letters = 0
    for topic in await _dead_letter_topics(platform.bootstrap):
        for record in await read_all(platform.bootstrap, topic):
            letters += 1
            for name, value in record.headers or ():
                text = value.decode("utf-8", errors="replace")
                if any(s in text.lower() for s in secrets):
                    leaks.append(f"{topic}[{record.partition}:{record.offset}] {name}: {text}")
    assert letters >= 3, "the dead letters of this run were not read"
    assert not leaks, f"{len(leaks)} personal value(s) found:\n" + "\n".join(leaks[:20])
    # At DEBUG every event leaves lines naming its key: the scan read what the services
    # said about these very orders.
    for i in ids:
        key = f"shop:order:{i}"
        assert any(key in line for lines in logs.values() for line in lines), key

    # The dead letters still say what broke, and where.
    for letter in refused:
        assert header(letter.headers, "ferry.error.field") == "customer.email"
        assert header(letter.headers, "ferry.error.rule"), "the rule must be named"
        message = header(letter.headers, "ferry.error.message") or ""
        assert message.startswith("customer.email: "), message
    [named_letter] = [r for r in refused if r.key == f"shop:order:{ids[2]}".encode()]
    named_message = header(named_letter.headers, "ferry.error.message") or ""
    # The masked e-mail keeps its domain; the rules that are not about a person show values.
    assert "***@example.com" in named_message, named_message
    assert "lines[0].quantity" in named_message
    assert "'Germany'" in named_message
    assert header(unapplied[0].headers, "ferry.error.field") == "order_lines[0].default_code"
