"""App keys: ``fy_<app>_<random>``, shown once, stored only as a peppered hash."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from pydantic import SecretStr

from ferry.errors import ConfigError

__all__ = ["APP_NAME", "app_of", "check_name", "key_hash", "new_key"]

APP_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_KEY = re.compile(r"fy_([a-z0-9][a-z0-9-]{0,39})_[A-Za-z0-9_-]{20,}")


def check_name(name: str) -> str:
    """``name`` if it is a valid app name; ValueError naming the rule otherwise."""
    if not APP_NAME.fullmatch(name):
        raise ValueError(
            f"app name {name!r}: use 1 to 40 lowercase letters, digits and -, "
            "starting with a letter or digit"
        )
    return name


def new_key(app: str) -> str:
    return f"fy_{check_name(app)}_{secrets.token_urlsafe(32)}"


def app_of(key: str) -> str | None:
    """The app a key belongs to (None when it is not shaped like a Ferry key)."""
    match = _KEY.fullmatch(key)
    return match.group(1) if match else None


def key_hash(key: str, pepper: SecretStr) -> str:
    """hex HMAC-SHA256(pepper, key): what is stored instead of the key."""
    if not pepper.get_secret_value():
        raise ConfigError("apps.pepper", "is empty")
    digest = hmac.new(pepper.get_secret_value().encode(), key.encode(), hashlib.sha256)
    return digest.hexdigest()
