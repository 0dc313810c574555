"""Webhook signature schemes, chosen per route (``flows.<name>.webhook_scheme``).

- ``shopify``: ``X-Shopify-Hmac-Sha256`` = base64(HMAC-SHA256(secret, raw body)); Ferry's
  older alias names stay accepted. The delivery id (``X-Shopify-Webhook-Id``) is not
  signed by Shopify, so it only catches a replay that keeps it; a replay under a new id is a
  new event whose content the streams' change-only filter lets through once.
- ``standard``: Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature: v1,<base64>``, ``whsec_`` secrets) through the ``standardwebhooks``
  package; the id and the timestamp are signed.
- ``stripe``: ``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">``; the time is
  signed, there is no delivery id.

Every scheme takes several secrets (the current one and those being rotated out): a request
signed with any of them passes. Where the scheme signs a time, a request older or newer than
``tolerance_s`` is refused (a captured request cannot be replayed later). Each check answers
:class:`Verified` (the delivery id, if the scheme has one) or raises a 401
:class:`~producers.gateway.rejections.Rejection` naming the header and the rule.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from pydantic import SecretStr
from standardwebhooks import Webhook

from ferry.errors import ConfigError
from ferry.flow import WebhookSource, first_header
from producers.gateway.rejections import Rejection
from producers.gateway.signature import verify as verify_base64

__all__ = [
    "SCHEMES",
    "ShopifyScheme",
    "StandardWebhooksScheme",
    "StripeScheme",
    "Verified",
    "WebhookScheme",
    "scheme_for",
]


@dataclass(frozen=True, slots=True)
class Verified:
    delivery_id: str | None


class WebhookScheme(Protocol):
    @property
    def name(self) -> str: ...

    def check(
        self, secrets: Sequence[SecretStr], body: bytes, headers: Mapping[str, str]
    ) -> Verified: ...


def _refuse(reason: str, message: str, field: str, rule: str) -> Rejection:
    return Rejection(401, message, reason=reason, field=field, rule=rule)


@dataclass(frozen=True, slots=True)
class ShopifyScheme:
    signature_headers: tuple[str, ...]
    delivery_headers: tuple[str, ...] = ()
    name: str = "shopify"
    rule: str = "base64 HMAC-SHA256 of the raw body"

    def check(
        self, secrets: Sequence[SecretStr], body: bytes, headers: Mapping[str, str]
    ) -> Verified:
        field, signature = first_header(headers, self.signature_headers)
        if not signature:
            raise _refuse(
                "missing signature", f"missing signature header {field}", field, self.rule
            )
        if not any(verify_base64(secret, body, signature) for secret in secrets):
            raise _refuse("bad signature", "signature does not match the body", field, self.rule)
        _, delivery = first_header(headers, self.delivery_headers)
        return Verified(delivery or None)


@dataclass(frozen=True, slots=True)
class StandardWebhooksScheme:
    tolerance_s: float = 300.0
    clock: Callable[[], float] = time.time
    name: str = "standard"
    rule: str = "Standard Webhooks v1 signature of id.timestamp.body"

    def check(
        self, secrets: Sequence[SecretStr], body: bytes, headers: Mapping[str, str]
    ) -> Verified:
        ids = ("webhook-id", "webhook-timestamp", "webhook-signature")
        values = {name: (headers.get(name) or "").strip() for name in ids}
        for name in ids:
            if not values[name]:
                raise _refuse("missing signature", f"missing header {name}", name, self.rule)
        try:
            stamp = int(values["webhook-timestamp"])
        except ValueError:
            raise _refuse(
                "bad timestamp",
                "webhook-timestamp is not a unix time",
                "webhook-timestamp",
                "unix seconds",
            ) from None
        _within(stamp, self.clock(), self.tolerance_s, "webhook-timestamp")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise _refuse(
                "bad signature", "the body is not UTF-8", "webhook-signature", self.rule
            ) from None
        moment = datetime.fromtimestamp(stamp, UTC)
        given = [
            part.split(",", 1)[1]
            for part in values["webhook-signature"].split()
            if part.startswith("v1,")
        ]
        for secret in secrets:
            try:
                expected = Webhook(secret.get_secret_value()).sign(
                    values["webhook-id"], moment, text
                )
            except (ValueError, binascii.Error):
                continue  # a secret that is not whsec_/base64: it cannot match
            want = expected.split(",", 1)[1].encode()
            if any(hmac.compare_digest(want, sig.encode()) for sig in given):
                return Verified(values["webhook-id"])
        raise _refuse(
            "bad signature", "no signature matches the body", "webhook-signature", self.rule
        )


@dataclass(frozen=True, slots=True)
class StripeScheme:
    tolerance_s: float = 300.0
    clock: Callable[[], float] = time.time
    header: str = "Stripe-Signature"
    name: str = "stripe"
    rule: str = "t=<time>,v1=<hex HMAC-SHA256 of t.body>"

    def check(
        self, secrets: Sequence[SecretStr], body: bytes, headers: Mapping[str, str]
    ) -> Verified:
        raw = (headers.get(self.header) or "").strip()
        if not raw:
            raise _refuse(
                "missing signature",
                f"missing signature header {self.header}",
                self.header,
                self.rule,
            )
        parts = [p.split("=", 1) for p in raw.split(",") if "=" in p]
        stamps = [v for k, v in parts if k.strip() == "t"]
        given = [v.strip() for k, v in parts if k.strip() == "v1"]
        if len(stamps) != 1 or not stamps[0].strip().isdigit() or not given:
            raise _refuse(
                "bad signature", f"{self.header} needs one t= and a v1=", self.header, self.rule
            )
        stamp = int(stamps[0])
        _within(stamp, self.clock(), self.tolerance_s, self.header)
        payload = str(stamp).encode() + b"." + body
        for secret in secrets:
            want = hmac.new(secret.get_secret_value().encode(), payload, hashlib.sha256).hexdigest()
            if any(hmac.compare_digest(want, sig) for sig in given):
                return Verified(None)
        raise _refuse("bad signature", "no signature matches the body", self.header, self.rule)


def _within(stamp: int, now: float, tolerance_s: float, field: str) -> None:
    if abs(now - stamp) > tolerance_s:
        raise _refuse(
            "stale signature",
            f"the signed time is {abs(now - stamp):.0f} s from now (at most {tolerance_s:.0f} s)",
            field,
            f"within {tolerance_s:.0f} s",
        )


SCHEMES = ("shopify", "standard", "stripe")


def scheme_for(
    name: str | None, source: WebhookSource, tolerance_s: float, key: str
) -> WebhookScheme:
    """The scheme ``name`` (None: the source's own, Shopify-style) for a route."""
    if name is None or name == "shopify":
        return ShopifyScheme(tuple(source.signature.headers), tuple(source.delivery_headers))
    if name == "standard":
        return StandardWebhooksScheme(tolerance_s)
    if name == "stripe":
        return StripeScheme(tolerance_s)
    raise ConfigError(key, f"unknown webhook scheme {name!r} (one of {', '.join(SCHEMES)})")


def b64_secret(raw: bytes) -> str:
    """A ``whsec_`` secret for Standard Webhooks from raw bytes (for senders and tests)."""
    return "whsec_" + base64.b64encode(raw).decode()
