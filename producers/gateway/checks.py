"""A webhook route's checks, in the order the endpoint runs them; each raises a Rejection.

content type (415) → body within the size limit (413, see :mod:`.limits`) → signature (401)
→ webhook topic (422) → well-formed JSON (400) → decodable into the schema (422).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from starlette.datastructures import Headers

from ferry.errors import ValidationError
from ferry.flow import first_header
from producers.gateway.rejections import Rejection
from producers.gateway.routes import WebhookRoute

__all__ = [
    "JSON_MEDIA_TYPE",
    "invalid_record",
    "parse_json",
    "require_json",
    "require_json_content_type",
    "require_signature",
    "require_webhook_topic",
]

JSON_MEDIA_TYPE = "application/json"


def parse_json(body: bytes) -> Any:
    """Parse a webhook body; fractions become ``Decimal``, ``NaN``/``Infinity`` are refused.

    Raises :class:`ValueError` (``json.JSONDecodeError`` or ``UnicodeDecodeError``) when the
    body is not JSON.
    """

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    return json.loads(body, parse_float=Decimal, parse_constant=no_constants)


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


def require_signature(route: WebhookRoute, body: bytes, headers: Headers) -> None:
    scheme = route.source.signature
    name, signature = first_header(headers, scheme.headers)
    if not signature:
        raise Rejection(
            401,
            f"missing signature header {name}",
            reason="missing signature",
            field=name,
            rule=scheme.rule,
        )
    if not scheme.verify(route.secret, body, signature):
        raise Rejection(
            401,
            "signature does not match the body",
            reason="bad signature",
            field=name,
            rule=scheme.rule,
        )


def require_webhook_topic(route: WebhookRoute, headers: Headers) -> None:
    """The topic header is optional; when sent it must name the kind this route takes."""
    source = route.source
    if not source.topic_headers or not source.webhook_topics:
        return
    name, topic = first_header(headers, source.topic_headers)
    if topic is not None and topic.strip() not in source.webhook_topics:
        kinds = ", ".join(source.webhook_topics)
        raise Rejection(
            422,
            f"this endpoint takes {kinds} webhooks only",
            reason="unsupported webhook topic",
            field=name,
            rule=kinds,
        )


def require_json(body: bytes) -> Any:
    try:
        return parse_json(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        detail = str(exc) if not isinstance(exc, UnicodeDecodeError) else "not UTF-8"
        raise Rejection(400, f"malformed JSON: {detail}", reason="malformed json") from None


def invalid_record(exc: ValidationError, event_type: str) -> Rejection:
    """A body that is JSON but cannot become an ``event_type`` record."""
    return Rejection(
        422,
        f"cannot become a {event_type} record: {exc}",
        reason="invalid record",
        field=exc.field,
        rule=exc.rule,
    )
