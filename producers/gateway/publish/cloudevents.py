"""CloudEvents 1.0 over HTTP: structured, binary and batch mode into :class:`IncomingEvent`.

Only the attributes Ferry uses are read (``specversion``, ``id``, ``source``, ``type``,
``subject``, ``time``, ``datacontenttype``, ``data``); other extension attributes are allowed and
ignored. Every problem is a :class:`EventError` naming the attribute and the rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BATCH",
    "BINARY",
    "STRUCTURED",
    "EventError",
    "IncomingEvent",
    "from_binary",
    "from_structured",
    "media_type",
]

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
BINARY = "application/json"
SPECVERSION = "1.0"
_MAX_ATTRIBUTE = 256  # id, source, type, subject: longer is refused


class EventError(ValueError):
    """The request is not a CloudEvent Ferry can take: ``field`` broke ``rule``."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    id: str
    source: str
    type: str
    data: Any
    subject: str | None = None


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _attribute(value: Any, name: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise EventError(name, "non-empty string", f"{name} must be a non-empty string")
    if len(value) > _MAX_ATTRIBUTE:
        raise EventError(name, f"at most {_MAX_ATTRIBUTE} characters", f"{name} is too long")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise EventError(name, "valid Unicode", f"{name} holds a lone surrogate") from None
    return value


def _event(attributes: Mapping[str, Any], data: Any, prefix: str) -> IncomingEvent:
    version = attributes.get("specversion")
    if version != SPECVERSION:
        raise EventError(
            f"{prefix}specversion", SPECVERSION, f"specversion must be {SPECVERSION!r}"
        )
    content = attributes.get("datacontenttype")
    if content is not None and media_type(str(content)) != BINARY:
        raise EventError(
            f"{prefix}datacontenttype", BINARY, f"datacontenttype must be {BINARY} if given"
        )
    return IncomingEvent(
        id=_required(attributes.get("id"), f"{prefix}id"),
        source=_required(attributes.get("source"), f"{prefix}source"),
        type=_required(attributes.get("type"), f"{prefix}type"),
        data=data,
        subject=_attribute(attributes.get("subject"), f"{prefix}subject", required=False),
    )


def _required(value: Any, name: str) -> str:
    found = _attribute(value, name)
    assert found is not None
    return found


def from_structured(value: Any, prefix: str = "") -> IncomingEvent:
    """One structured-mode event (a parsed JSON object); ``prefix`` names it in a batch."""
    if not isinstance(value, dict):
        raise EventError(prefix.rstrip(".") or "body", "object", "a CloudEvent is a JSON object")
    if "data_base64" in value:
        raise EventError(f"{prefix}data_base64", "JSON data", "data_base64 is not accepted")
    if "data" not in value:
        raise EventError(f"{prefix}data", "required", "data is required")
    return _event(value, value["data"], prefix)


def from_binary(headers: Mapping[str, str], data: Any) -> IncomingEvent:
    """A binary-mode event: ``ce-*`` headers, the body is ``data``."""
    attributes = {
        name: headers.get(f"ce-{name}")
        for name in ("specversion", "id", "source", "type", "subject")
    }
    if attributes["specversion"] is None:
        raise EventError(
            "ce-specversion", "required", "binary mode needs the ce-specversion header"
        )
    try:
        return _event(attributes, data, "")
    except EventError as exc:
        raise EventError(
            f"ce-{exc.field}", exc.rule, str(exc).replace(exc.field, f"ce-{exc.field}", 1)
        ) from None
