"""A bounded run of ``bench.chaos`` (``make chaos`` runs the full one): shop orders through a
platform of its own while every Ferry service is SIGKILLed and restarted by the supervisor, the
sandbox Odoo is down for 10 s and the sandbox shop answers 429 for 10 s."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench.chaos import FERRY_SERVICES, run
from tests.support.platform import running_platform

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(900)]

ORDERS, RATE, KILLS = 600, 20.0, 1


def test_every_service_killed_under_load_nothing_lost_doubled_or_dead_lettered(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    seed = random.randrange(1 << 30)
    print(f"\nseed {seed}")
    with running_platform(kafka_bootstrap, tmp_path) as platform:
        outcome = run(
            platform, ORDERS, RATE, KILLS, seed, max_s=300, odoo_down_s=10.0, shop_429_s=10.0
        )
    assert outcome.kills == dict.fromkeys(FERRY_SERVICES, KILLS)
    assert outcome.accepted == ORDERS  # the sender retries until the gateway answers 2xx
    assert outcome.confirmed
    assert (outcome.lost, outcome.doubled, outcome.dead_lettered) == (0, 0, 0)
