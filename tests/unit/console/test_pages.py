"""What each page shows, from fake sources; bad input is a message on the page, never a 500;
no page shows a secret."""

from __future__ import annotations

import httpx
import pytest

from ferry.console.auth import CSRF_FIELD
from tests.unit.console.fakes import (
    DLQ,
    SECRETS,
    TOKEN,
    FakeSources,
    client,
    csrf_of,
    letter,
    signed_in,
)


async def test_flows_show_each_flows_counts_from_the_services_metrics() -> None:
    http, _ = await signed_in()
    page = (await http.get("/flows")).text
    assert "shop-orders-to-odoo" in page
    assert "odoo-stock-to-shop" in page
    assert "src.shop.orders → sink.odoo.sale_orders" in page
    # streams read 12 and produced 10; the sink applied 9; 2 + 1 dead letters; lag 3.
    flow = page.split('id="flow-shop-orders-to-odoo"')[1].split("<h2")[0]
    assert ">12<" in flow
    assert ">10<" in flow
    assert ">9<" in flow
    assert "dead letters: <a" in flow
    assert ">3</a>" in flow
    assert "reconciliation mismatches" in flow
    assert "rates appear from the next view" in page
    again = (await http.get("/flows")).text
    assert "rates over the" in again or "rates appear" in again
    assert "unreachable (ConnectError)" in page  # the gateway's scrape failed: said so


async def test_the_dead_letters_table_filters_and_links_each_record() -> None:
    sources = FakeSources(
        [letter(1), letter(2, key="shop:order:2", replayed_at="2026-11-02T00:00:00.000Z")]
    )
    http, _ = await signed_in(sources)
    page = (await http.get("/dead-letters", params={"key": "shop:order:2"})).text
    assert f'href="/dead-letters/{DLQ}:0:2"' in page
    assert f"{DLQ}:0:1" not in page
    assert "2026-11-02T00:00:00.000Z" in page  # replayed at
    assert "Rejected" in page
    assert "order_lines[0].default_code" in page
    topics, filters = sources.asked[-1]
    assert topics == [
        "dlq.src.shop.orders",
        DLQ,
        "dlq.src.odoo.stock",
        "dlq.sink.shop.inventory",
        "dlq.src.odoo.products",
        "dlq.sink.shop.prices",
    ]
    assert filters.key == "shop:order:2"
    newest = (await http.get("/dead-letters", params={"limit": "1"})).text
    assert f"{DLQ}:0:2" in newest
    assert f"{DLQ}:0:1<" not in newest
    assert "the newest 1 shown" in newest


@pytest.mark.parametrize(
    ("params", "named", "said"),
    [
        ({"since": "yesterday"}, "since", "RFC 3339"),
        ({"until": "2026-13-01T00:00:00Z"}, "until", "30m"),
        ({"topic": "src.shop.orders.nope"}, "topic", "known: dlq.src.shop.orders"),
        ({"topic": "sink.odoo.sale_orders"}, None, None),
        ({"limit": "0"}, "limit", "whole number"),
        ({"limit": "ten"}, "limit", "whole number"),
    ],
)
async def test_bad_filters_are_a_clear_message_on_the_page(
    params: dict[str, str], named: str | None, said: str | None
) -> None:
    http, _ = await signed_in(FakeSources([letter(1)]))
    answer = await http.get("/dead-letters", params=params)
    if named is None:
        assert answer.status_code == 200  # the topic without its dlq. prefix is understood
        return
    assert answer.status_code == 400
    assert f'id="filter-error">{named}:' in answer.text
    assert said is not None
    assert said in answer.text


async def test_the_record_page_shows_every_header_and_the_value() -> None:
    http, _ = await signed_in(FakeSources([letter(1)]))
    page = (await http.get(f"/dead-letters/{DLQ}:0:1")).text
    assert "ferry.error.message" in page
    assert "no product with default_code SKU-999" in page
    assert "ce_type" in page
    assert "odoo.sale_order.upsert" in page
    assert "not-avro" in page  # a value that is not Avro is shown as bytes
    missing = await http.get(f"/dead-letters/{DLQ}:0:99")
    assert missing.status_code == 404
    assert "no dead letter at" in missing.text
    foreign = await http.get("/dead-letters/src.shop.orders:0:1")
    assert foreign.status_code == 400
    assert "not a dead-letter topic" in foreign.text
    garbled = await http.get("/dead-letters/nonsense")
    assert garbled.status_code == 400
    assert "TOPIC:PARTITION:OFFSET" in garbled.text


async def test_replay_asks_for_confirmation_then_replays_what_was_confirmed() -> None:
    before = letter(2, replayed_at="2026-11-02T00:00:00.000Z")
    sources = FakeSources([letter(1), before])
    http, csrf = await signed_in(sources)
    refs = [letter(1).ref, before.ref]
    confirm = await http.post("/replay/confirm", data={"ref": refs, CSRF_FIELD: csrf})
    assert confirm.status_code == 200
    assert "Replay 1 dead letter(s)?" in confirm.text
    assert "1 to <strong>sink.odoo.sale_orders</strong>" in confirm.text
    assert "replayed before (1)" in confirm.text
    assert sources.replayed == []  # nothing sent before the confirmation
    done = await http.post(
        "/replay", data={"ref": [letter(1).ref], CSRF_FIELD: csrf_of(confirm.text)}
    )
    assert "Sent: 1 · skipped (replayed before): 0" in done.text
    assert [x.ref for x in sources.replayed] == [letter(1).ref]
    again = await http.post("/replay", data={"ref": refs, "again": "yes", CSRF_FIELD: csrf})
    assert "Sent: 2" in again.text
    skipped = await http.post("/replay", data={"ref": [before.ref], CSRF_FIELD: csrf})
    assert "Sent: 0 · skipped (replayed before): 1" in skipped.text
    nothing = await http.post("/replay/confirm", data={CSRF_FIELD: csrf})
    assert nothing.status_code == 400
    assert "Nothing selected" in nothing.text
    foreign = await http.post("/replay", data={"ref": ["src.shop.orders:0:1"], CSRF_FIELD: csrf})
    assert foreign.status_code == 400


async def test_reconciliation_shows_the_gauges_and_runs_a_flow_on_request() -> None:
    sources = FakeSources()
    http, csrf = await signed_in(sources)
    page = (await http.get("/reconcile")).text
    assert "shop-orders-to-odoo" in page
    assert "2027-01-15T08:00:00.000Z" in page
    ran = await http.post("/reconcile/shop-orders-to-odoo", data={CSRF_FIELD: csrf})
    assert ran.status_code == 200
    assert sources.reconciled == ["shop-orders-to-odoo"]
    assert "10 checked, 1 missing" in ran.text
    assert "ferry.shop_order_7" in ran.text
    unknown = await http.post("/reconcile/no-such-flow", data={CSRF_FIELD: csrf})
    assert unknown.status_code == 404
    assert "no-such-flow" in unknown.text


async def test_services_show_the_supervisors_record() -> None:
    http, _ = await signed_in()
    page = (await http.get("/services")).text
    assert "restarting" in page
    assert ">2<" in page
    assert "odoo-sink" in page


async def _every_page(http: httpx.AsyncClient, csrf: str) -> list[httpx.Response]:
    gets = ["/flows", "/dead-letters", f"/dead-letters/{DLQ}:0:1", "/reconcile", "/services"]
    answers = [await http.get(path) for path in gets]
    answers.append(
        await http.post("/replay/confirm", data={"ref": [letter(1).ref], CSRF_FIELD: csrf})
    )
    answers.append(await http.post("/replay", data={"ref": [letter(1).ref], CSRF_FIELD: csrf}))
    answers.append(await http.post("/reconcile/shop-orders-to-odoo", data={CSRF_FIELD: csrf}))
    answers.append(await http.post("/replay", data={"ref": [letter(1).ref]}))  # 403
    answers.append(await http.get("/dead-letters", params={"since": "soon"}))  # 400
    return answers


async def test_no_page_shows_a_secret() -> None:
    http, csrf = await signed_in(FakeSources([letter(1)]))
    answers = await _every_page(http, csrf)
    login = await client().get("/login")
    for answer in [*answers, login]:
        assert answer.status_code < 500
        shown = answer.text + str(answer.headers)
        for name, value in SECRETS.items():
            assert value not in shown, f"{answer.request.url.path} shows {name}"
    assert TOKEN not in str(http.cookies.jar)
