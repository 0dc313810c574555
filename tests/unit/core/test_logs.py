from __future__ import annotations

import logging

import pytest

from ferry.logs import configure


def test_transient_kafka_conditions_are_warnings_and_real_errors_stay_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure()
    logger = logging.getLogger("aiokafka.consumer.group_coordinator")
    with caplog.at_level(logging.DEBUG):
        logger.error(
            "Group Coordinator Request failed: [Error 15] GroupCoordinatorNotAvailableError"
        )
        logger.error("Unexpected error in coordinator routine")
    levels = [(r.levelname, r.getMessage().split(":")[0]) for r in caplog.records]
    assert levels == [
        ("WARNING", "Group Coordinator Request failed"),
        ("ERROR", "Unexpected error in coordinator routine"),
    ]
