"""The webhook's checks, in the order the endpoint runs them; each raises a Rejection.

content type (415) → body within the size limit (413, see :mod:`.limits`) → signature (401)
→ webhook topic (422) → well-formed JSON (400) → decodable into the schema (422).
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr
from starlette.datastructures import Headers

from ferry.errors import ValidationError
from producers.gateway.rejections import Rejection
from producers.shop.webhook import WEBHOOK_TOPIC, parse_json
from producers.gateway.signature import SIGNATURE_HEADER, verify

__all__ = [
    "JSON_MEDIA_TYPE",
    "TOPIC_HEADER",
    "invalid_record",
    "require_json",
    "require_json_content_type",
    "require_signature",
    "require_webhook_topic",
]

JSON_MEDIA_TYPE = "application/json"
TOPIC_HEADER = "X-Shop-Topic"


def require_json_content_type(headers: Headers) -> None:
    raw = headers.get("content-type")
    media_type = (raw or "").split(";", 1)[0].strip().lower()
    if media_type != JSON_MEDIA_TYPE:
        raise Rejection(
            415,
            f"content type must be {JSON_MEDIA_TYPE}",
            reason="unsupported content type",
            field="Content-Type",
            rule=JSON_MEDIA_TYPE,
        )


def require_signature(secret: SecretStr, body: bytes, headers: Headers) -> None:
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        raise Rejection(
            401,
            f"missing signature header {SIGNATURE_HEADER}",
            reason="missing signature",
            field=SIGNATURE_HEADER,
            rule="base64 HMAC-SHA256 of the raw body",
        )
    if not verify(secret, body, signature):
        raise Rejection(
            401,
            "signature does not match the body",
            reason="bad signature",
            field=SIGNATURE_HEADER,
            rule="base64 HMAC-SHA256 of the raw body",
        )


def require_webhook_topic(headers: Headers) -> None:
    """``X-Shop-Topic`` is optional; when sent it must be the one this endpoint takes."""
    topic = headers.get(TOPIC_HEADER)
    if topic is not None and topic.strip() != WEBHOOK_TOPIC:
        raise Rejection(
            422,
            f"this endpoint takes {WEBHOOK_TOPIC} webhooks only",
            reason="unsupported webhook topic",
            field=TOPIC_HEADER,
            rule=WEBHOOK_TOPIC,
        )


def require_json(body: bytes) -> Any:
    try:
        return parse_json(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        detail = str(exc) if not isinstance(exc, UnicodeDecodeError) else "not UTF-8"
        raise Rejection(400, f"malformed JSON: {detail}", reason="malformed json") from None


def invalid_record(exc: ValidationError) -> Rejection:
    """A body that is JSON but cannot become a ``shop.order.created`` record."""
    return Rejection(
        422,
        f"cannot become a shop.order.created record: {exc}",
        reason="invalid record",
        field=exc.field,
        rule=exc.rule,
    )
