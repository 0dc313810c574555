"""Who may use the console, and that every form it receives was one it served.

Sign-in: the operator token (``console.token``, a secret reference ``env:NAME`` or
``file:PATH``) is compared in constant time (:func:`hmac.compare_digest`). A signed-in browser
holds a session cookie (Starlette's ``SessionMiddleware``: signed with itsdangerous, HttpOnly,
SameSite=Strict) whose signing key is derived from the token, so changing the token signs every
browser out. The session holds a flag and a CSRF token, never the operator token.

CSRF: every session (signed in or not) has a random token; every form carries it in a hidden
field, and every POST is refused (403) unless the field equals the session's token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, MutableMapping
from typing import Any

from pydantic import SecretStr

from ferry.errors import ConfigError
from ferry.secrets import parse_secret_ref
from ferry.settings import ConsoleSettings

__all__ = [
    "CSRF_FIELD",
    "MIN_TOKEN",
    "csrf_token",
    "csrf_valid",
    "resolve_token",
    "session_key",
    "sign_in",
    "signed_in",
    "token_matches",
]

MIN_TOKEN = 16  # characters; ``ferry.dotenv`` generates 43
CSRF_FIELD = "csrf_token"
_CSRF = "csrf"
_OPERATOR = "operator"


def resolve_token(settings: ConsoleSettings, environ: Mapping[str, str] | None = None) -> SecretStr:
    """The operator token from its reference; :class:`ConfigError` naming ``console.token``
    when it is missing, empty or shorter than :data:`MIN_TOKEN` characters."""
    token = parse_secret_ref("console.token", settings.token).resolve("console.token", environ)
    if len(token.get_secret_value()) < MIN_TOKEN:
        raise ConfigError("console.token", f"must be at least {MIN_TOKEN} characters")
    return token


def session_key(token: SecretStr) -> str:
    """The key that signs session cookies: derived from the token, never the token itself."""
    return hmac.new(
        token.get_secret_value().encode(), b"ferry-console-session", hashlib.sha256
    ).hexdigest()


def token_matches(token: SecretStr, given: str) -> bool:
    return hmac.compare_digest(token.get_secret_value().encode(), given.encode())


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, made on first use."""
    value = session.get(_CSRF)
    if not isinstance(value, str) or not value:
        value = secrets.token_urlsafe(32)
        session[_CSRF] = value
    return value


def csrf_valid(session: Mapping[str, Any], given: str | None) -> bool:
    expected = session.get(_CSRF)
    if not isinstance(expected, str) or not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def sign_in(session: MutableMapping[str, Any]) -> None:
    """A fresh session for the operator: a new CSRF token, nothing of the old one kept."""
    session.clear()
    session[_OPERATOR] = True
    session[_CSRF] = secrets.token_urlsafe(32)


def signed_in(session: Mapping[str, Any]) -> bool:
    return session.get(_OPERATOR) is True
