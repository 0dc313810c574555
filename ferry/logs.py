"""How a Ferry service logs: one format, quiet libraries, and no false alarms.

aiokafka logs some conditions at ERROR that it then retries by itself and that pass on their
own (a group coordinator still being elected, a partition whose leader is still being chosen
right after the topic was created). :func:`configure` shows them as WARNING, so an ERROR line
in a Ferry log always means something an operator must look at.
"""

from __future__ import annotations

import logging

__all__ = ["TRANSIENT_KAFKA_ERRORS", "configure"]

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
TRANSIENT_KAFKA_ERRORS = (
    "GroupCoordinatorNotAvailableError",
    "NotCoordinatorForGroupError",
    "NotLeaderForPartitionError",
    "LeaderNotAvailableError",
    "UnknownTopicOrPartitionError",
)
_AIOKAFKA_LOGGERS = (
    "aiokafka.consumer.group_coordinator",
    "aiokafka.consumer.fetcher",
    "aiokafka.cluster",
    "aiokafka.conn",
)


class _Transient(logging.Filter):
    """ERROR records of conditions aiokafka retries by itself become WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and any(
            name in record.getMessage() for name in TRANSIENT_KAFKA_ERRORS
        ):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def configure(level: int | str = logging.INFO) -> None:
    """The root logger at ``level`` in Ferry's format; httpx quiet; transient Kafka
    conditions as warnings (also under faust, which installs its own handlers)."""
    logging.basicConfig(level=level, format=FORMAT)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per call is noise
    quiet = _Transient()
    for name in _AIOKAFKA_LOGGERS:
        logger = logging.getLogger(name)
        if quiet not in logger.filters and not any(
            isinstance(f, _Transient) for f in logger.filters
        ):
            logger.addFilter(quiet)
