"""App keys: ``fy_<app>_<random>``, shown once, stored only as a peppered hash.

The app's name is part of its key, so a gateway finds the app by a dict lookup and checks the
key with one HMAC. Names cannot hold ``_``: the first ``_`` after ``fy_`` ends the name.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from pydantic import SecretStr

from ferry.errors import ConfigError

__all__ = ["APP_NAME", "NAME_RULE", "app_of", "check_name", "key_hash", "new_key"]

APP_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
NAME_RULE = (
    f"{APP_NAME.pattern}: 1 to 40 lowercase letters, digits and -, starting with a letter or digit"
)
# token_urlsafe(32) gives 43 characters; anything much longer is not a Ferry key (and is not
# worth hashing on the request path).
_KEY = re.compile(r"fy_([a-z0-9][a-z0-9-]{0,39})_[A-Za-z0-9_-]{20,128}")


def check_name(name: str) -> str:
    """``name`` if it is a valid app name; ValueError naming the rule otherwise."""
    if not APP_NAME.fullmatch(name):
        raise ValueError(f"app name {name!r} does not match {NAME_RULE}")
    return name


def new_key(app: str) -> str:
    """A fresh key of ``app``: ``fy_<app>_<43 random URL-safe characters>``."""
    return f"fy_{check_name(app)}_{secrets.token_urlsafe(32)}"


def app_of(key: str) -> str | None:
    """The app a key belongs to (None when it is not shaped like a Ferry key)."""
    match = _KEY.fullmatch(key)
    return match.group(1) if match else None


def key_hash(key: str, pepper: SecretStr) -> str:
    """hex HMAC-SHA256(pepper, key): what is stored instead of the key."""
    secret = pepper.get_secret_value()
    if not secret:
        raise ConfigError("apps.pepper", "is empty")
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()
