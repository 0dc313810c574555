"""The operator console in a real headless Chromium, against the whole platform: sign in, find
a dead letter (an order for a product Odoo lacks), create the product, replay the dead letter
through the confirmation page, and find exactly one sale order for it in the sandbox Odoo.

A screenshot of each page is saved under ``test-artifacts/console/`` (or
``$FERRY_TEST_ARTIFACTS/console``). Chromium and its driver are required: without them the test
fails (CI installs the Debian packages ``chromium`` and ``chromium-driver``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from consumers.runner import group_id
from ferry.ops.dlq import Filters, dead_letters
from ferry.supervisor import Supervisor
from producers.shop.sample import signed_request
from streams.app import APP_ID
from tests.support.kafka_read import until_no_lag
from tests.support.odoo_rpc import OdooReader
from tests.support.orders import order_ids, unique_order
from tests.support.platform import ROOT, Platform, logged_errors
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SRC, SINK, DLQ = "src.shop.orders", "sink.odoo.sale_orders", "dlq.sink.odoo.sale_orders"
FLOW = "shop-orders-to-odoo"
PACKAGES = "apt-get install -y --no-install-recommends chromium chromium-driver"


def _artifacts() -> Path:
    base = os.environ.get("FERRY_TEST_ARTIFACTS")
    folder = (Path(base) if base else ROOT / "test-artifacts") / "console"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _executable(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        f"the console's browser test needs {' or '.join(names)} (Debian: {PACKAGES})",
        pytrace=False,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = _executable("chromium", "chromium-browser", "google-chrome")
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1500,1100",
    ):
        options.add_argument(argument)
    service = Service(executable_path=_executable("chromedriver"))
    try:
        driver = webdriver.Chrome(options=options, service=service)
    except WebDriverException as exc:
        pytest.fail(f"headless Chromium did not start: {exc.msg}", pytrace=False)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


class Pages:
    """The browser on the console, with a screenshot of each page it is asked to keep."""

    def __init__(self, driver: webdriver.Chrome, base: str, folder: Path) -> None:
        self.driver = driver
        self.base = base
        self.folder = folder
        self.saved: list[Path] = []

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def find(self, css: str, timeout_s: float = 60.0) -> WebElement:
        wait = WebDriverWait(self.driver, timeout_s)
        found: WebElement = wait.until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        )
        return found

    def submit(self, css: str, then: str) -> WebElement:
        """Click ``css`` and wait for the next page's ``then``."""
        old = self.driver.find_element(By.TAG_NAME, "html")
        self.driver.find_element(By.CSS_SELECTOR, css).click()
        WebDriverWait(self.driver, 120).until(lambda _driver: _gone(old))
        return self.find(then)

    def shot(self, name: str) -> None:
        path = self.folder / f"{len(self.saved) + 1:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        self.saved.append(path)


def _gone(element: WebElement) -> bool:
    """Whether ``element`` left the document (the page it was on was replaced). Chromium may
    say so with "Node with given id does not belong to the document" instead of a stale
    element reference, while the next page loads."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in str(exc):
            return True
        raise
    return False


async def _send(platform: Platform, order: dict[str, Any]) -> None:
    body, headers = signed_request(order, platform.webhook_secret, delivery_id=str(uuid.uuid4()))
    async with httpx.AsyncClient(timeout=30.0) as http:
        answer = await http.post(platform.gateway_url, content=body, headers=headers)
    assert answer.status_code == 202, answer.text


async def test_an_operator_replays_a_fixed_dead_letter_through_the_console(
    platform: Platform, odoo: OdooReader, browser: webdriver.Chrome
) -> None:
    # The services page reads what a supervisor of ferry up writes; this one watches the
    # platform's stack (the console reads <state>/status.json).
    Supervisor(
        platform.stack, status_file=platform.log_dir.parent / "status.json", report=lambda _: None
    )

    [order_id] = order_ids(1)
    sku = f"SKU-C{order_id}"
    order = unique_order(order_id)
    order["line_items"][0]["sku"] = sku  # a product Odoo does not have yet
    key = f"shop:order:{order_id}"
    await _send(platform, order)
    deadline = asyncio.get_running_loop().time() + 120
    while not await dead_letters(platform.bootstrap, [DLQ], Filters(key=key)):
        assert asyncio.get_running_loop().time() < deadline, "the order was not dead-lettered"
        await asyncio.sleep(0.5)

    pages = Pages(browser, platform.console_url, _artifacts())
    try:
        # Signing in: every page sends a browser without a session to the sign-in page.
        pages.open("/flows")
        pages.find("#token")
        assert "/login" in browser.current_url
        pages.shot("login")
        pages.find("#token").send_keys("not-the-token")
        assert "not the operator token" in pages.submit("#sign-in", "#login-error").text
        pages.find("#token").send_keys(platform.console_token)
        pages.submit("#sign-in", "#flow-shop-orders-to-odoo")
        await asyncio.sleep(1.5)
        pages.open("/flows")  # a second view: rates from the two scrapes
        flows = pages.find("#flow-shop-orders-to-odoo")
        assert "src.shop.orders → sink.odoo.sale_orders" in browser.page_source
        assert "odoo-sink" in browser.page_source
        assert flows.is_displayed()
        assert "rates over the" in browser.page_source
        pages.shot("flows")

        # The dead letters, filtered by topic and key.
        pages.open("/dead-letters")
        Select(pages.find("#f-topic")).select_by_value(DLQ)
        pages.find("#f-key").send_keys(key)
        pages.submit("#filter", "#count")
        rows = browser.find_elements(By.CSS_SELECTOR, "#letters tr td.key")
        assert [r.text for r in rows] == [key]
        assert "order_lines[0].default_code" in browser.page_source
        pages.shot("dead-letters")

        # The record page: the whole record, every header.
        ref = browser.find_element(By.CSS_SELECTOR, "#letters a.ref").text
        pages.submit("#letters a.ref", "#headers")
        headers = pages.find("#headers").text
        for name in ("ferry.error.class", "ferry.error.field", "ferry.error.topic", "ce_id"):
            assert name in headers
        assert sku in pages.find("#value").text
        pages.shot("record")

        # The cause fixed: the product exists in Odoo now. Replay, with the confirmation.
        odoo.execute_kw(
            "product.product",
            "create",
            [{"name": "Console mug", "default_code": sku, "list_price": 5.0}],
        )
        pages.submit("#replay-this", "#confirm-replay")
        assert "1 to sink.odoo.sale_orders" in pages.find("#origins").text
        assert ref in pages.find("#chosen").text
        pages.shot("replay-confirmation")
        result = pages.submit("#confirm-replay", "#result").text
        assert "Sent: 1" in result
        assert "skipped (replayed before): 0" in result
        pages.shot("replay-result")

        # Exactly one sale order for it, counted once nothing is left to apply.
        name = f"shop_order_{order_id}"
        await eventually(
            lambda: (
                sum(o["state"] == "sale" for o in odoo.sale_orders_by_xmlid([name]).values()) == 1
            ),
            what="the replayed order confirmed in Odoo",
        )
        await until_no_lag(platform.bootstrap, APP_ID, SRC)
        await until_no_lag(platform.bootstrap, group_id(FLOW), SINK)
        assert odoo.count("sale.order", [["client_order_ref", "=", order["name"]]]) == 1

        # Replayed before: the table says when, and a second replay needs "again".
        pages.open(f"/dead-letters?{httpx.QueryParams({'topic': DLQ, 'key': key})}")
        pages.find("#letters")
        pages.find("#select-1").click()
        pages.submit("#replay-selected", "h1")
        assert "Replay 0 dead letter(s)?" in browser.page_source
        assert ref in pages.find("#skipped").text

        # Reconciliation: the gauges, and a run of the flow now.
        pages.open("/reconcile")
        pages.find("#reconcile")
        pages.submit(f"#run-{FLOW}", "#report-summary")
        assert "checked" in pages.find("#report-summary").text
        pages.shot("reconciliation")

        # Services, as the supervisor wrote them, with readiness from their metrics.
        pages.open("/services")
        table = pages.find("#services").text
        for service in ("gateway", "streams", "odoo-sink", "console"):
            assert service in table
        pages.shot("services")
    finally:
        print(f"\nconsole screenshots: {pages.folder} ({len(pages.saved)} pages)")
    found = [line for line in logged_errors(platform.log_dir) if line.startswith("console:")]
    assert not found, found
