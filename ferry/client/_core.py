"""What both clients share, free of I/O: the events, the requests, the answers, the retries.

The clients only post what :class:`Core` builds and sleep what it says; every decision (what
to send, whether to try again, what an answer means) is taken here, once, so the sync and the
async client cannot drift.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import httpx

from ferry.client._json import dumps, loads
from ferry.retry import Backoff, parse_retry_after

__all__ = [
    "BATCH",
    "EVENTS_PATH",
    "STRUCTURED",
    "BatchPublished",
    "Core",
    "Event",
    "EventResult",
    "PublishError",
    "Published",
]

EVENTS_PATH = "/v1/events"
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
RETRIED = frozenset({429, 502, 503, 504})  # over the rate, Kafka (or a proxy's upstream) away
MAX_ATTRIBUTE = 256  # id, source, type, subject, Idempotency-Key: the gateway's limit
_EVENT_KEYS = ("type", "data", "id", "subject")
_MAX_ERROR_TEXT = 200  # of an answer that is not the JSON error body


class PublishError(Exception):
    """The gateway refused (``status``, its ``error``, and the ``field`` and ``rule`` when it
    names them), or could not be reached (``status`` 0). The app key is never part of it."""

    def __init__(
        self, status: int, error: str, field: str | None = None, rule: str | None = None
    ) -> None:
        where = f" ({field}: {rule})" if field and rule else f" ({field})" if field else ""
        super().__init__(f"{status}: {error}{where}" if status else error)
        self.status = status
        self.error = error
        self.field = field
        self.rule = rule

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.status, self.error, self.field, self.rule))


def _attribute(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    if len(value) > MAX_ATTRIBUTE:
        raise ValueError(f"{name} must be at most {MAX_ATTRIBUTE} characters")
    return value


@dataclass(frozen=True, slots=True)
class Event:
    """One event: its ``type``, its ``data`` and, optionally, its CloudEvents ``id`` (a new
    UUID when None) and ``subject``. ``ValueError`` for an empty attribute or one longer
    than the gateway takes (256 characters)."""

    type: str
    data: Any
    id: str | None = None
    subject: str | None = None

    def __post_init__(self) -> None:
        _attribute(self.type, "type")
        if self.id is not None:
            _attribute(self.id, "id")
        if self.subject is not None:
            _attribute(self.subject, "subject")

    @classmethod
    def of(cls, value: Event | Mapping[str, Any]) -> Event:
        """``value``, or the event a mapping with the keys ``type``, ``data`` and optionally
        ``id`` and ``subject`` spells (``ValueError`` for a missing or an unknown key)."""
        if isinstance(value, Event):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"an event is an Event or a mapping, not {type(value).__name__}")
        unknown = sorted(str(k) for k in value if k not in _EVENT_KEYS)
        if unknown:
            keys = ", ".join(_EVENT_KEYS)
            raise ValueError(f"unknown key {', '.join(unknown)} (an event has {keys})")
        if "type" not in value or "data" not in value:
            raise ValueError("an event needs type and data")
        return cls(value["type"], value["data"], value.get("id"), value.get("subject"))


@dataclass(frozen=True, slots=True)
class Published:
    ids: list[str]
    replayed: bool = False  # the gateway had this idempotency key: nothing new was produced


@dataclass(frozen=True, slots=True)
class EventResult:
    id: str
    status: int
    error: str | None = None
    field: str | None = None
    rule: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == 202


@dataclass(frozen=True, slots=True)
class BatchPublished:
    accepted: int
    rejected: int
    results: list[EventResult] = field(default_factory=list)


class _AppKey:
    """The app key, shown to nobody: its repr is a placeholder."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        value = value.strip() if isinstance(value, str) else ""
        if not value:
            raise ValueError("an app key is required (ferry apps create)")
        if not all("!" <= c <= "~" for c in value):
            raise ValueError("an app key is printable ASCII without spaces (the key not shown)")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        return text.replace(self._value, "<app key>")

    def __repr__(self) -> str:
        return "<app key>"


class Core:
    """The requests, retry decisions and answers of one client."""

    def __init__(
        self, base_url: str, key: str, *, source: str, max_attempts: int, backoff: Backoff | None
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._key = _AppKey(key)
        self.base_url = base_url.rstrip("/")
        self.source = _attribute(source, "source")
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff(
            max_attempts=max_attempts, base_delay_s=0.5, max_delay_s=30
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r}, source={self.source!r})"

    # -- requests ----------------------------------------------------------------------------

    def headers(self, media: str, idempotency_key: str | None) -> dict[str, str]:
        """The request's headers. Without ``idempotency_key`` none is sent: the gateway then
        keys the event by its ``source`` and ``id`` (both in the body, the same on every try,
        and the same key the event has in a batch)."""
        headers = {"authorization": f"Bearer {self._key.reveal()}", "content-type": media}
        if idempotency_key is not None:
            if (
                not isinstance(idempotency_key, str)
                or not idempotency_key.strip()
                or len(idempotency_key) > MAX_ATTRIBUTE
                or not all(" " <= c <= "~" for c in idempotency_key)
            ):
                raise ValueError(
                    f"an Idempotency-Key is 1 to {MAX_ATTRIBUTE} printable ASCII characters"
                )
            headers["idempotency-key"] = idempotency_key
        return headers

    def event(self, event: Event | Mapping[str, Any]) -> dict[str, Any]:
        """The structured-mode CloudEvent of ``event``."""
        chosen = Event.of(event)
        body: dict[str, Any] = {
            "specversion": "1.0",
            "id": chosen.id or str(uuid.uuid4()),
            "source": self.source,
            "type": chosen.type,
            "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "data": chosen.data,
        }
        if chosen.subject:
            body["subject"] = chosen.subject
        return body

    def body(self, value: Any) -> bytes:
        """JSON (ASCII; Decimals exact); ``ValueError``/``TypeError`` naming the place of
        what JSON cannot hold (a NaN, a naive datetime, a set)."""
        return dumps(value).encode("ascii")

    # -- retries -----------------------------------------------------------------------------

    def delay(self, attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds before the next try, or None when this answer is final."""
        if attempt >= self.max_attempts:
            return None
        if response is not None and response.status_code not in RETRIED:
            return None
        retry_after = parse_retry_after(response.headers.get("retry-after")) if response else None
        return self.backoff.delay(attempt, retry_after)

    def transient(self, exc: httpx.TransportError) -> bool:
        """A refused or dropped connection, a timeout: worth another try. A URL httpx
        cannot use, or a request it refuses to write, is not."""
        return not isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError)

    # -- answers -----------------------------------------------------------------------------

    def error(self, response: httpx.Response) -> PublishError:
        """The refusal, from its ``{"error", "field", "rule"}`` (or whatever text came)."""
        body = _json(response.content)
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            return PublishError(
                response.status_code,
                self._key.redact(body["error"]),
                _text(body.get("field")),
                _text(body.get("rule")),
            )
        text = response.content[:_MAX_ERROR_TEXT].decode("utf-8", "replace").strip()
        return PublishError(response.status_code, self._key.redact(text) or _phrase(response))

    def unreachable(self, exc: Exception) -> PublishError:
        detail = self._key.redact(str(exc))
        return PublishError(
            0,
            f"the gateway at {self.base_url} could not be reached: {type(exc).__name__}"
            + (f" ({detail})" if detail else ""),
        )

    def single(self, response: httpx.Response, event_id: str) -> Published:
        if response.status_code != 202:
            raise self.error(response)
        body = _json(response.content)
        found = body.get("ids") if isinstance(body, dict) else None
        ids = [str(i) for i in found] if isinstance(found, list) and found else [event_id]
        return Published(ids, replayed=response.headers.get("idempotent-replayed") == "true")

    def batch(self, response: httpx.Response, ids: list[str]) -> BatchPublished:
        """One result per event of ``ids``, in order."""
        if response.status_code != 207:
            raise self.error(response)
        body = _json(response.content)
        found = body.get("results") if isinstance(body, dict) else None
        if not isinstance(found, list) or len(found) != len(ids):
            count = len(found) if isinstance(found, list) else "no"
            raise PublishError(207, f"the gateway answered {count} results for {len(ids)} events")
        results = []
        for event_id, item in zip(ids, found, strict=True):
            status = item.get("status") if isinstance(item, dict) else None
            if not isinstance(status, int) or isinstance(status, bool):
                raise PublishError(207, f"the result of event {event_id} has no status")
            error = _text(item.get("error"))
            results.append(
                EventResult(
                    _text(item.get("id")) or event_id,
                    status,
                    self._key.redact(error) if error is not None else None,
                    _text(item.get("field")),
                    _text(item.get("rule")),
                )
            )
        accepted = sum(1 for r in results if r.accepted)
        return BatchPublished(accepted, len(results) - accepted, results)


def _json(content: bytes) -> Any:
    try:
        return loads(content)
    except (ValueError, RecursionError):
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _phrase(response: httpx.Response) -> str:
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return "refused"
