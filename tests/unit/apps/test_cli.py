"""``ferry apps``: arguments are checked before Kafka is contacted, errors are one clear line."""

from __future__ import annotations

import secrets
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from ferry.cli import cli
from ferry.cli.apps import parse_rate
from ferry.registry import load
from infra.kafka.ports import free_ports
from tests.unit.apps.helpers import TYPE


@pytest.fixture
def no_kafka(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A pepper, no .env, and a bootstrap address where nothing listens: a command that
    reached for Kafka would fail with "Kafka at <that address>"."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FERRY_CONFIG", raising=False)
    monkeypatch.setenv("FERRY_APPS_PEPPER", secrets.token_urlsafe(24))
    bootstrap = f"127.0.0.1:{free_ports(1)[0]}"
    monkeypatch.setenv("FERRY__KAFKA__BOOTSTRAP_SERVERS", bootstrap)
    return bootstrap


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["apps", *args])


def test_publishable_types_are_those_of_the_enabled_flows() -> None:
    publishable = {f.source.event_type for f in load(environ={}).publish_flows()}
    assert TYPE in publishable


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["create", "POS", "--publish", TYPE], "Invalid value for NAME: app name 'POS'"),
        (["create", "pos_1", "--publish", TYPE], "1 to 40 lowercase letters, digits and -"),
        (["create", "pos"], "Missing option '--publish'"),
        (["create", "pos", "--publish", TYPE, "--rate", "fast"], "give events per second"),
        (["create", "pos", "--publish", TYPE, "--rate", "0/s"], "give events per second"),
        (["create", "pos", "--publish", "no.such.type"], "no.such.type: not an event type apps"),
        (["create", "pos", "--publish", TYPE, "--publish", "x"], "x: not an event type apps"),
        (["create", "--publish", TYPE], "Missing argument 'NAME'"),
        (["revoke", "Pos"], "Invalid value for NAME"),
        (["revoke"], "Missing argument 'NAME'"),
        (["rotate", "pos", "--grace", "-1"], "-1.0 is not in the range x>=0"),
        (["rotate", "pos", "--grace", "soon"], "'soon' is not a valid float"),
        (["rotate", "a" * 41], "Invalid value for NAME"),
    ],
)
def test_argument_errors_are_usage_errors_before_kafka(
    no_kafka: str, args: list[str], error: str
) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert error in result.output
    assert "Kafka at" not in result.output
    assert "fy_" not in result.output
    assert "Traceback" not in result.output


def test_an_unknown_type_error_lists_the_publishable_types(no_kafka: str) -> None:
    result = run("create", "pos", "--publish", "shop.order.lost")
    assert result.exit_code == 2
    assert f"those are the types enabled flows take from outside: {TYPE}" in result.output


@pytest.mark.parametrize(
    "args", [["create", "pos", "--publish", TYPE], ["list"], ["revoke", "pos"], ["rotate", "pos"]]
)
def test_a_missing_pepper_is_one_line_naming_apps_pepper(
    no_kafka: str, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.delenv("FERRY_APPS_PEPPER")
    result = run(*args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: configuration: apps.pepper: environment variable FERRY_APPS_PEPPER is not set "
        "or empty"
    ]


@pytest.mark.parametrize(
    "args", [["create", "pos", "--publish", TYPE, "--rate", "5/s"], ["list"], ["rotate", "pos"]]
)
def test_kafka_out_of_reach_is_one_line_and_no_key(no_kafka: str, args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 1
    assert f"Error: Kafka at {no_kafka}: Kafka unavailable" in result.output
    assert "fy_" not in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("text", "rate"), [("50/s", 50.0), ("2.5", 2.5), (" 10 /s ", 10.0)])
def test_rates_are_events_per_second(text: str, rate: float) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["0/s", "fast", "-1", "10/m", "1e3", ""])
def test_a_rate_that_is_not_events_per_second_is_refused(text: str) -> None:
    with pytest.raises(click.BadParameter, match="events per second"):
        parse_rate(text)


def test_the_commands_are_registered() -> None:
    result = CliRunner().invoke(cli, ["apps", "--help"])
    assert result.exit_code == 0
    for command in ("create", "list", "revoke", "rotate"):
        assert command in result.output
