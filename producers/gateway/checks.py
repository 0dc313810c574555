"""A webhook route's checks, in the order the endpoint runs them; each raises a Rejection.

content type (415) → body within the size limit and in time (413, 408, see :mod:`.limits`)
→ signature (401) → webhook topic (422) → strict JSON (400, see :mod:`.jsonbody`) →
decodable into the schema (422) → no timestamp too far ahead (422).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.datastructures import Headers

from ferry.errors import ValidationError
from ferry.flow import first_header
from producers.gateway.jsonbody import JsonBodyError, parse_json_strict
from producers.gateway.rejections import Rejection
from producers.gateway.routes import WebhookRoute
from producers.gateway.schemes import Verified

__all__ = [
    "JSON_MEDIA_TYPE",
    "invalid_record",
    "parse_json",
    "require_json",
    "require_json_content_type",
    "require_not_ahead",
    "require_signature",
    "require_webhook_topic",
]

JSON_MEDIA_TYPE = "application/json"


def parse_json(body: bytes) -> Any:
    """Parse a webhook body strictly (:func:`~.jsonbody.parse_json_strict`): fractions become
    ``Decimal``; raises :class:`~.jsonbody.JsonBodyError` (a ``ValueError``) naming the rule."""
    return parse_json_strict(body)


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


def require_signature(route: WebhookRoute, body: bytes, headers: Headers) -> Verified:
    """The route's scheme accepts the signature (any of its secrets); 401 otherwise."""
    return route.checker.check(route.secrets, body, headers)


def require_webhook_topic(route: WebhookRoute, headers: Headers) -> None:
    """A route that names its webhook kinds requires the topic header, naming one of them
    (without it a signed body of one kind could pass for another)."""
    source = route.source
    if not source.topic_headers or not source.webhook_topics:
        return
    name, topic = first_header(headers, source.topic_headers)
    kinds = ", ".join(source.webhook_topics)
    if topic is None:
        raise Rejection(
            422,
            f"missing header {name}: this endpoint takes {kinds} webhooks",
            reason="missing webhook topic",
            field=name,
            rule=kinds,
        )
    if topic.strip() not in source.webhook_topics:
        raise Rejection(
            422,
            f"this endpoint takes {kinds} webhooks only",
            reason="unsupported webhook topic",
            field=name,
            rule=kinds,
        )


def require_json(body: bytes) -> Any:
    try:
        return parse_json_strict(body)
    except JsonBodyError as exc:
        raise exc.rejection() from None


def require_not_ahead(
    route: WebhookRoute, record: Mapping[str, Any], now: datetime | None = None
) -> None:
    """No timestamp of the record more than ``route.max_future_s`` ahead of now (the flow's
    ``flows.<name>.max_future_s``, as the stream stage checks its versions): 422 naming the
    record's field."""
    limit = (now or datetime.now(UTC)) + timedelta(seconds=route.max_future_s)
    for field, moment in _timestamps(record, ""):
        if moment > limit:
            raise Rejection(
                422,
                f"{field} is more than {route.max_future_s:g} s ahead of now",
                reason="timestamp ahead",
                field=field,
                rule=f"at most {route.max_future_s:g} s ahead of now",
            )


def _timestamps(value: Any, path: str) -> list[tuple[str, datetime]]:
    """The aware datetimes of a record (a few levels deep at most), with their paths."""
    if isinstance(value, datetime):
        return [(path, value)] if value.tzinfo is not None else []
    found: list[tuple[str, datetime]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            found += _timestamps(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _timestamps(item, f"{path}[{i}]")
    return found


def invalid_record(exc: ValidationError, event_type: str) -> Rejection:
    """A body that is JSON but cannot become an ``event_type`` record."""
    return Rejection(
        422,
        f"cannot become a {event_type} record: {exc}",
        reason="invalid record",
        field=exc.field,
        rule=exc.rule,
    )
