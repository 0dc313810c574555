"""Bad input to the operations commands, caught before Kafka is asked anything."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from ferry.cli import cli
from ferry.cli.guards import confirm

# No broker listens here: each command must fail on its input before it connects.
NOWHERE = {"FERRY__KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:9"}


@pytest.mark.parametrize(
    "args",
    [
        ["replay", "src.shop.orders", "--from", "yesterday"],
        ["replay", "src.shop.orders", "--from", "1h", "--to", "2026-13-01T00:00:00Z"],
        ["dlq", "list", "--since", "2026-12-01 09:00"],  # no offset: ambiguous
        ["dlq", "replay", "--until", "3 weeks"],
        ["offsets", "reset", "ferry-streams", "--to-datetime", "noon"],
        ["reconcile", "shop-orders-to-odoo", "--since", "-2h"],
    ],
)
def test_a_malformed_time_lists_the_accepted_formats(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args, env=NOWHERE)
    assert result.exit_code == 2, result.output
    assert "is not a time" in result.output
    for form in ("RFC 3339", "2026-12-01T09:00:00Z", "30m", "1d"):
        assert form in result.output, result.output


def test_a_dead_letter_reference_must_have_its_three_parts() -> None:
    result = CliRunner().invoke(cli, ["dlq", "show", "dlq.src.shop.orders:7"], env=NOWHERE)
    assert result.exit_code == 2
    assert "TOPIC:PARTITION:OFFSET" in result.output


def test_an_unreachable_broker_is_one_line_naming_it() -> None:
    result = CliRunner().invoke(cli, ["offsets", "show", "ferry-streams"], env=NOWHERE)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "127.0.0.1:9" in lines[0]
    assert "Traceback" not in result.output


def test_confirm_goes_on_with_yes_and_refuses_without_a_terminal() -> None:
    confirm("Move the offsets?", True, interactive=lambda: False)  # --yes: no question
    with pytest.raises(click.ClickException) as refused:
        confirm("Move the offsets?", False, interactive=lambda: False)
    assert "add --yes" in refused.value.message
    assert "Move the offsets?" in refused.value.message
