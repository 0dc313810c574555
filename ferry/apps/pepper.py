"""The pepper of key hashes: a server-side secret (``apps.pepper``), never in the topic."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import SecretStr

from ferry.errors import ConfigError
from ferry.secrets import parse_secret_ref
from ferry.settings import AppsSettings

__all__ = ["MIN_PEPPER", "resolve_pepper"]

MIN_PEPPER = 16  # characters; ``ferry.dotenv`` generates 43


def resolve_pepper(settings: AppsSettings, environ: Mapping[str, str] | None = None) -> SecretStr:
    """The pepper, from its secret reference (``env:NAME`` or ``file:PATH``).

    Raises :class:`~ferry.errors.ConfigError` naming ``apps.pepper`` when it is missing,
    empty or shorter than :data:`MIN_PEPPER` characters.
    """
    pepper = parse_secret_ref("apps.pepper", settings.pepper).resolve("apps.pepper", environ)
    if len(pepper.get_secret_value()) < MIN_PEPPER:
        raise ConfigError("apps.pepper", f"must be at least {MIN_PEPPER} characters")
    return pepper
