"""The one way a command loads its configuration: ``.env``, then the settings and registry.

A configuration problem is one line naming the key, and exit status 2, in every command.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from ferry.dotenv import load_dotenv
from ferry.errors import ConfigError
from ferry.registry import Registry, load

__all__ = ["CONFIG_EXIT", "ConfigProblem", "config_option", "load_registry"]

CONFIG_EXIT = 2


class ConfigProblem(click.ClickException):
    """A configuration error: one line naming the key, exit status 2, no traceback."""

    exit_code = CONFIG_EXIT

    def __init__(self, error: ConfigError) -> None:
        super().__init__(f"configuration: {error}")


def load_registry(
    config_path: str | Path | None, *, secrets: bool = False, dotenv: str | Path = ".env"
) -> Registry:
    """Load ``dotenv`` (a real environment wins), the settings and the registry.

    With ``secrets``, every secret of the active systems is resolved now, so a missing one
    fails at start-up. Raises :class:`ConfigProblem`.
    """
    load_dotenv(dotenv)
    try:
        registry = load(config_path)
        if secrets:
            registry.resolve_secrets()
    except ConfigError as exc:
        raise ConfigProblem(exc) from None
    return registry


def config_option(function: Callable[..., object]) -> Callable[..., object]:
    """``--config FILE`` (default ``$FERRY_CONFIG``, else the embedded defaults)."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="ferry.yaml (default: $FERRY_CONFIG, else the embedded defaults).",
    )(function)
