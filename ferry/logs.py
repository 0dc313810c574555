"""How a Ferry service logs: one format for every service, the fields an operator filters by,
quiet libraries, no false alarms and no personal data.

Every line of a service (its own, and those of aiokafka, faust, mode and uvicorn under it) goes
through one handler on the root logger that renders it with structlog, as ``key=value`` pairs
(logfmt, the default) or as one JSON object per line (``logging.format: json``)::

    time=2024-05-01T12:00:00.123456Z level=info service=streams logger=streams.stage
    flow=<flow> key=<entity key> event_id=<ce_id> msg="..."

``time`` (UTC), ``level``, ``service``, ``logger`` and ``msg`` are on every line; ``flow``,
``key`` and ``event_id`` where known: the stages bind them per event (:func:`bind_event`), so
every line logged while an event is handled carries them; other fields a line adds
(``extra=``) follow. A failure's traceback is in ``exception``, on the same line.

Levels: INFO for state changes (started, partitions assigned, a breaker opened or closed,
ready), DEBUG for every event, WARNING for what an operator may want to know (an event
dead-lettered, a retry), ERROR only for what needs one. ``logging.level`` sets Ferry's own
loggers; the libraries' stay at INFO or above, their DEBUG output is too much for a service.

aiokafka logs some conditions at ERROR that it then retries by itself and that pass on their
own (a group coordinator still being elected, a partition whose leader is still being chosen
right after the topic was created): shown as WARNING, so an ERROR line in a Ferry log always
means something an operator must look at. E-mail addresses are masked in every line
(:func:`ferry.privacy.scrub`), a last line of defence: errors already mask the personal
fields they name.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from ferry import privacy
from ferry.settings import LoggingSettings

__all__ = [
    "FORMATS",
    "LEVELS",
    "OWN_LOGGERS",
    "TRANSIENT_KAFKA_ERRORS",
    "LoggingSettings",
    "bind",
    "bind_event",
    "configure",
    "event_fields",
    "formatter",
]

FORMATS: tuple[str, ...] = ("kv", "json")
LEVELS: tuple[str, ...] = ("debug", "info", "warning", "error")
# The packages whose loggers follow ``logging.level``; every other logger stays at INFO or above.
OWN_LOGGERS = ("ferry", "producers", "consumers", "streams", "sandbox")
# The first keys of a key=value line, in this order; the rest follow as they were added.
KEY_ORDER = ("time", "level", "service", "logger", "flow", "key", "event_id", "msg")

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
_CE_ID = "ce_id"
# Record attributes ExtraAdder would take for extras: set by other formatters (message,
# asctime) or a duplicate of the message (uvicorn's color_message).
_NOT_EXTRAS = ("message", "asctime", "color_message", "taskName")


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler :func:`configure` installs (a later call replaces it)."""


class _Transient(logging.Filter):
    """ERROR records of conditions aiokafka retries by itself become WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and any(
            name in record.getMessage() for name in TRANSIENT_KAFKA_ERRORS
        ):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _service(name: str) -> Processor:
    def add(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
        if name:
            event.setdefault("service", name)
        return event

    return add


def _scrub(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    for k, v in event.items():
        if isinstance(v, str) and "@" in v:
            event[k] = privacy.scrub(v)
    return event


def _text_values(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """Values the renderers would not show well (bytes keys, objects) as text; None left out."""
    for k, v in list(event.items()):
        if v is None or k in _NOT_EXTRAS:
            del event[k]
        elif isinstance(v, bytes):
            event[k] = v.decode("utf-8", errors="backslashreplace")
        elif not isinstance(v, str | int | float | bool | type(None) | list | dict):
            event[k] = str(v)
    return event


def _ordered(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """The keys of :data:`KEY_ORDER` first (for JSON; logfmt sorts them itself)."""
    first = {k: event.pop(k) for k in KEY_ORDER if k in event}
    return {**first, **event}


def formatter(service: str = "", fmt: str = "kv") -> logging.Formatter:
    """The formatter of every Ferry log line: ``fmt`` is ``kv`` or ``json``."""
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}: one of {', '.join(FORMATS)}")
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.processors.LogfmtRenderer(
            key_order=list(KEY_ORDER), drop_missing=True, bool_as_flag=False
        )
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
            _service(service),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _text_values,
            _scrub,
            structlog.processors.EventRenamer("msg"),
            _ordered,
            renderer,
        ],
    )


def _level(level: int | str) -> int:
    if isinstance(level, int):
        return level
    number = logging.getLevelName(level.upper())
    if not isinstance(number, int):
        raise ValueError(f"log level {level!r}: one of {', '.join(LEVELS)}")
    return number


def configure(
    service: str = "",
    settings: LoggingSettings | None = None,
    *,
    level: int | str | None = None,
) -> None:
    """Every log line of this process in Ferry's format, marked with ``service``.

    ``settings`` (``logging``) chooses the format and the level of Ferry's loggers; ``level``
    overrides that level. Replaces an earlier call's handler (or ``basicConfig``'s);
    httpx is quiet (one line per call is noise); transient Kafka conditions are warnings.
    """
    settings = settings or LoggingSettings()
    own = _level(level if level is not None else settings.level)
    handler = _Handler(sys.stderr)
    handler.setFormatter(formatter(service, settings.format))
    root = logging.getLogger()
    for old in list(root.handlers):  # an earlier configure's, or logging.basicConfig's
        if isinstance(old, _Handler) or type(old) is logging.StreamHandler:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(max(own, logging.INFO))
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(own)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    quiet = _Transient()
    for name in _AIOKAFKA_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _Transient) for f in logger.filters):
            logger.addFilter(quiet)


def event_fields(
    key: bytes | str | None, headers: Iterable[tuple[str, bytes]] | Mapping[str, Any] | None
) -> dict[str, str]:
    """``key`` and ``event_id`` (the ``ce_id`` header) of a record, where it has them."""
    out: dict[str, str] = {}
    if key is not None:
        out["key"] = (
            key.decode("utf-8", errors="backslashreplace") if isinstance(key, bytes) else key
        )
    if headers:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        for name, value in pairs:
            if name == _CE_ID and value is not None:
                raw = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
                out["event_id"] = str(raw)
                break
    return out


def bind(**fields: str) -> None:
    """Mark every line logged from here on in this task (and the tasks it starts) with
    ``fields``, e.g. ``flow``."""
    structlog.contextvars.bind_contextvars(**fields)


def bind_event(
    key: bytes | str | None,
    headers: Iterable[tuple[str, bytes]] | Mapping[str, Any] | None,
    **more: str,
) -> None:
    """Mark every line logged from here on in this task with the record's ``key`` and
    ``event_id`` (and ``more``, e.g. ``flow``) until the next call. An asyncio task has its
    own copy of these, so a loop that handles one event at a time binds each in turn."""
    structlog.contextvars.unbind_contextvars("key", "event_id")
    structlog.contextvars.bind_contextvars(**event_fields(key, headers), **more)
