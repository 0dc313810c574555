"""Schemathesis against ``/v1/openapi.json``: generated requests, valid by the document and
hostile to it, never get an answer of 500 or more (in-process app, fake Kafka and apps).

``FERRY_FUZZ_EXAMPLES`` sets the number of requests (default 10,000: half valid by the schema,
half broken on purpose).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.unit.gateway.publish.test_api import Publisher

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

EXAMPLES = int(os.environ.get("FERRY_FUZZ_EXAMPLES", "10000"))
PUBLISHER = Publisher()
SCHEMA = schemathesis.openapi.from_asgi("/v1/openapi.json", PUBLISHER.client._transport.app)  # type: ignore[attr-defined]
OPERATION = SCHEMA["/v1/events"]["POST"]


@pytest.fixture(autouse=True)
def quiet() -> Iterator[None]:
    """Thousands of rejections would each log a line: keep the output readable."""
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


def test_generated_requests_valid_or_hostile_never_get_a_5xx() -> None:
    statuses: Counter[int] = Counter()

    def call(case: schemathesis.Case[Any]) -> None:
        response = case.call(headers={"Authorization": f"Bearer {PUBLISHER.key}"})
        statuses[response.status_code] += 1
        assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"

    for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

        @settings(
            max_examples=EXAMPLES // 2, deadline=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=OPERATION.as_strategy(generation_mode=mode))
        def fuzz(case: schemathesis.Case[Any]) -> None:
            call(case)

        fuzz()
    total = sum(statuses.values())
    print(f"\nschemathesis: {total} requests, answers by status: {dict(sorted(statuses.items()))}")
    assert total >= EXAMPLES * 0.9  # hypothesis may stop early once a space is exhausted
    assert 202 in statuses or 207 in statuses  # valid events got through, not only refusals
    assert not [status for status in statuses if status >= 500]
