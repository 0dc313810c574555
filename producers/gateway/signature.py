"""Webhook signature schemes. :class:`HmacSha256Base64`: base64(HMAC-SHA256(secret, raw body)).

The signature covers the raw bytes as received, so it is checked before the body is parsed.
The comparison is constant-time (:func:`hmac.compare_digest`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from pydantic import SecretStr

__all__ = ["HmacSha256Base64", "sign", "verify"]


def _key(secret: SecretStr | str | bytes) -> bytes:
    if isinstance(secret, SecretStr):
        secret = secret.get_secret_value()
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def sign(secret: SecretStr | str | bytes, body: bytes) -> str:
    """base64(HMAC-SHA256(secret, body)): the header value a sender sends for ``body``."""
    digest = hmac.new(_key(secret), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(secret: SecretStr | str | bytes, body: bytes, signature: str | None) -> bool:
    """True when ``signature`` is the signature of ``body``; False when missing or wrong."""
    if not signature:
        return False
    expected = sign(secret, body).encode("ascii")
    try:
        given = signature.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected, given)


@dataclass(frozen=True, slots=True)
class HmacSha256Base64:
    """The scheme of Shopify-style webhooks, with the header that carries the signature."""

    headers: tuple[str, ...]
    rule: str = "base64 HMAC-SHA256 of the raw body"

    def sign(self, secret: SecretStr | str | bytes, body: bytes) -> str:
        return sign(secret, body)

    def verify(self, secret: SecretStr, body: bytes, signature: str) -> bool:
        return verify(secret, body, signature)
