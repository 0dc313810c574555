from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from ferry import logs
from ferry.logs import configure
from ferry.settings import LoggingSettings, load_settings


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root handler that :func:`configure` installed, writing into a buffer instead."""
    out = io.StringIO()
    yield out
    structlog.contextvars.clear_contextvars()


def _configured(out: io.StringIO, service: str, **settings: str) -> None:
    configure(service, LoggingSettings.model_validate(settings))
    [handler] = [h for h in logging.getLogger().handlers if isinstance(h, logs._Handler)]
    handler.setStream(out)


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


def test_a_key_value_line_starts_with_time_level_service_logger_and_the_events_fields(
    captured: io.StringIO,
) -> None:
    _configured(captured, "streams")
    logs.bind(flow="people-to-crm")
    logs.bind_event(b"crm:person:7", [("ce_type", b"x"), ("ce_id", b"ev-1")])
    logging.getLogger("streams.stage").warning("dead-lettered %s", "src.people[0]@3")
    [line] = captured.getvalue().splitlines()
    fields = line.split(" ", 7)
    assert fields[0].startswith("time=")
    assert fields[0].endswith("Z")
    assert fields[1:7] == [
        "level=warning",
        "service=streams",
        "logger=streams.stage",
        "flow=people-to-crm",
        "key=crm:person:7",
        "event_id=ev-1",
    ]
    assert fields[7] == 'msg="dead-lettered src.people[0]@3"'


def test_json_lines_carry_the_same_fields_and_extras(captured: io.StringIO) -> None:
    _configured(captured, "gateway", format="json")
    logs.bind_event("crm:person:8", {"ce_id": "ev-2"})
    logging.getLogger("producers.gateway.app").info("accepted", extra={"topic": "src.people"})
    [line] = captured.getvalue().splitlines()
    parsed = json.loads(line)
    assert list(parsed)[:7] == ["time", "level", "service", "logger", "key", "event_id", "msg"]
    assert parsed["service"] == "gateway"
    assert (parsed["level"], parsed["msg"], parsed["topic"]) == ("info", "accepted", "src.people")
    assert (parsed["key"], parsed["event_id"]) == ("crm:person:8", "ev-2")


def test_the_next_event_replaces_the_last_ones_fields(captured: io.StringIO) -> None:
    _configured(captured, "sink")
    logs.bind_event(b"a", [("ce_id", b"1")])
    logs.bind_event(b"b", None)  # no ce_id: no event_id at all, not the last one's
    logging.getLogger("consumers.runner").warning("x")
    [line] = captured.getvalue().splitlines()
    assert " key=b " in line
    assert "event_id" not in line


def test_each_task_has_its_own_event(captured: io.StringIO) -> None:
    _configured(captured, "streams")

    async def handle(key: str, gate: asyncio.Event, other: asyncio.Event) -> None:
        logs.bind_event(key, {"ce_id": f"id-{key}"})
        gate.set()
        await other.wait()  # the other task binds its own event meanwhile
        logging.getLogger("streams.stage").warning("handled")

    async def both() -> None:
        first, second = asyncio.Event(), asyncio.Event()
        await asyncio.gather(handle("one", first, second), handle("two", second, first))

    asyncio.run(both())
    one, two = sorted(captured.getvalue().splitlines(), key=lambda line: "key=two" in line)
    assert "key=one event_id=id-one" in one
    assert "key=two event_id=id-two" in two


def test_a_traceback_stays_on_its_line_and_emails_are_masked(captured: io.StringIO) -> None:
    _configured(captured, "sink")
    log = logging.getLogger("consumers.runner")
    try:
        raise RuntimeError("refused: ada.lovelace@example.com exists")
    except RuntimeError:
        log.exception("unexpected error for grace@example.org")
    [line] = captured.getvalue().splitlines()
    assert line.split(" ")[1] == "level=error"
    assert "Traceback (most recent call last)" in line
    assert "ada.lovelace" not in line
    assert "grace@" not in line
    assert "a***@example.com" in line
    assert "g***@example.org" in line


def test_debug_is_for_ferrys_own_loggers_only(captured: io.StringIO) -> None:
    _configured(captured, "streams", level="debug")
    logging.getLogger("streams.stage").debug("event mapped")
    logging.getLogger("aiokafka.consumer.fetcher").debug("fetch details")
    logging.getLogger("faust.worker").info("Ready")
    text = captured.getvalue()
    assert "event mapped" in text
    assert "fetch details" not in text
    assert "msg=Ready" in text


def test_info_hides_debug_and_warning_hides_info(captured: io.StringIO) -> None:
    _configured(captured, "gateway")
    logging.getLogger("producers.gateway.app").debug("per event")
    logging.getLogger("producers.gateway.app").info("started")
    _configured(captured, "gateway", level="warning")
    logging.getLogger("producers.gateway.app").info("not shown")
    assert [line.rsplit("msg=", 1)[1] for line in captured.getvalue().splitlines()] == ["started"]


def test_the_format_and_level_are_settings_the_environment_overrides() -> None:
    settings = load_settings(
        environ={"FERRY__LOGGING__FORMAT": "json", "FERRY__LOGGING__LEVEL": "debug"}
    )
    assert (settings.logging.format, settings.logging.level) == ("json", "debug")
    assert load_settings(environ={}).logging == LoggingSettings(format="kv", level="info")
    with pytest.raises(Exception, match=r"logging\.format"):
        load_settings(environ={"FERRY__LOGGING__FORMAT": "xml"})
