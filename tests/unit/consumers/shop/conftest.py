"""Fixtures: a fake Shopify, a fake clock and sleep, and a client wired to all three."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from consumers.shop.client import ShopifyClient

from .fake import URL, VERSION, FakeClock, FakeShopify, FakeSleep

CLIENT_ID = "ferry-test-app"


@dataclass
class Harness:
    fake: FakeShopify
    clock: FakeClock
    sleep: FakeSleep
    client: ShopifyClient

    @property
    def secret(self) -> str:
        return self.fake.client_secret


def build(fake: FakeShopify, clock: FakeClock | None = None) -> Harness:
    clock = clock or FakeClock()
    sleep = FakeSleep(clock)
    client = ShopifyClient(
        URL,
        client_id=CLIENT_ID,
        client_secret=SecretStr(fake.client_secret),
        api_version=VERSION,
        http=fake.client(),
        clock=clock,
        sleep=sleep,
    )
    return Harness(fake, clock, sleep, client)


@pytest.fixture
async def shop() -> AsyncIterator[Harness]:
    harness = build(FakeShopify(CLIENT_ID))
    yield harness
    await harness.client.aclose()
