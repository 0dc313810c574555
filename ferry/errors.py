"""Ferry's error tree.

::

    FerryError
    ├── ConfigError              bad ferry.yaml / environment (start-up only)
    ├── AuthenticationError      credentials refused: stop the consumer, never dead-letter
    ├── PermanentError           → dead-letter at once, never retried
    │   ├── ValidationError      (field path, rule, offending value)
    │   ├── MappingError
    │   ├── OwnershipViolation   (a system tried to change data it does not own)
    │   ├── DecodeError          (unknown fingerprint, corrupt bytes)
    │   └── Rejected             (target said 4xx other than 408/429, or a business error)
    └── TransientError           → retried with backoff and jitter, bounded; then dead-lettered
        ├── Unavailable          (connect error, timeout, 5xx)
        └── Throttled            (429, honours Retry-After)

Foreign errors (httpx, aiokafka, Odoo's error payloads) are translated into this tree in one
place per foreign library (``ferry.odoo.errors`` for Odoo, ``ferry.kafka`` for aiokafka), always
with ``raise ... from exc`` so the cause is kept.
"""

from __future__ import annotations

from typing import Any

from ferry import privacy

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "DecodeError",
    "Deferred",
    "FerryError",
    "MappingError",
    "OwnershipViolation",
    "PermanentError",
    "Rejected",
    "Throttled",
    "TransientError",
    "Unavailable",
    "ValidationError",
]


class FerryError(Exception):
    """Base of every error Ferry raises on purpose.

    ``field`` names the offending field (dotted path) where one is known, ``rule`` the rule it
    broke; they travel to the ``ferry.error.field`` and ``ferry.error.rule`` headers of a dead
    letter.
    """

    field: str | None = None
    rule: str | None = None

    @property
    def message(self) -> str:
        return str(self)


class ConfigError(FerryError):
    """The configuration is invalid; ``key`` names the offending key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.field = key
        self.problem = problem


class AuthenticationError(FerryError):
    """The target refused our credentials. Retrying or dead-lettering would not help."""


class PermanentError(FerryError):
    """Will fail again however often it is retried: dead-letter it."""


class ValidationError(PermanentError):
    """A value broke a rule. The message names the field, the rule and the value; the value
    of a personal field (:mod:`ferry.privacy`) is masked in the message, in ``detail`` too,
    and kept as it is only in ``value``."""

    def __init__(self, field: str, rule: str, value: Any, detail: str | None = None) -> None:
        self.field = field
        self.rule = rule
        self.value = value
        shown = privacy.shown(field, value)
        text = f"{field}: {rule} (got {shown!r})"
        if detail:
            if shown is not value and isinstance(value, str) and value.strip():
                detail = detail.replace(value, str(shown))
            text = f"{text}: {detail}"
        super().__init__(text)


class MappingError(PermanentError):
    """An event could not be mapped to the target's shape."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class OwnershipViolation(PermanentError):
    """A system tried to change an entity (or a field) that another system owns."""

    def __init__(self, system: str, entity: str, owner: str, field: str | None = None) -> None:
        what = f"{entity}.{field}" if field else entity
        super().__init__(f"{system} may not change {what}: owned by {owner}")
        self.rule = "not_owner"
        self.system = system
        self.entity = entity
        self.owner = owner
        self.field = field


class DecodeError(PermanentError):
    """The bytes cannot be decoded: unknown schema fingerprint, corrupt data, bad JSON."""


class Rejected(PermanentError):
    """The target refused the change for good (4xx other than 408/429, business error)."""

    def __init__(self, message: str, status: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


class TransientError(FerryError):
    """May succeed later: retry with bounded backoff."""

    retry_after: float | None = None


class Unavailable(TransientError):
    """The target could not be reached, timed out, or answered 5xx.

    ``ambiguous``: the request may have reached the target and may still take effect (a
    timeout after sending, a dropped connection, a gateway's 502/504), so the caller cannot
    tell whether it happened.
    """

    def __init__(
        self, message: str, retry_after: float | None = None, *, ambiguous: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.ambiguous = ambiguous


class Deferred(TransientError):
    """The sink itself holds this record back for ``retry_after`` seconds (e.g. while an
    unanswered write of the same entity may still commit). It says nothing about the
    target's health, so a circuit breaker does not count it."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Throttled(TransientError):
    """The target asked us to slow down (HTTP 429); ``retry_after`` is in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
