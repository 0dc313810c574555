"""The one spelling of a moment in Ferry's headers, ids and stamps: UTC, milliseconds, ``Z``.

:func:`parse_timestamp` reads Ferry's own stamps back (lenient: ``None`` when unreadable).
:func:`parse_strict_timestamp` reads a timestamp from outside (a webhook's ``created_at``):
RFC 3339 only, with an offset, between 1970 and 9999.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from ferry.errors import ValidationError

__all__ = [
    "MAX_YEAR",
    "MIN_YEAR",
    "OFFSET_RULE",
    "RANGE_RULE",
    "TIMESTAMP_RULE",
    "format_timestamp",
    "parse_strict_timestamp",
    "parse_timestamp",
]

MIN_YEAR, MAX_YEAR = 1970, 9999
TIMESTAMP_RULE = "ISO 8601 timestamp"
OFFSET_RULE = "ISO 8601 timestamp with a UTC offset"
RANGE_RULE = f"year {MIN_YEAR} to {MAX_YEAR}"

# RFC 3339 (the ISO 8601 profile of the internet): ASCII digits, seconds required, a fraction
# of up to 9 digits, ``Z`` or ``±HH:MM``. The offset is optional here only to say that it is
# missing by its own rule.
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(?:([Zz])|([-+])([0-9]{2}):([0-9]{2}))?"
)
_EPOCH = datetime(MIN_YEAR, 1, 1, tzinfo=UTC)
_MAX_TEXT = 64


def format_timestamp(moment: datetime) -> str:
    """``2026-11-01T12:30:15.123Z``: ``moment`` in UTC, to the millisecond."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(text: str) -> datetime | None:
    """The aware moment of an ISO 8601 timestamp with an offset or ``Z``, else ``None``."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def parse_strict_timestamp(text: str, field: str) -> datetime:
    """``text`` (``2024-05-02T10:15:30.123+02:00``) as an aware datetime in UTC.

    Raises :class:`ValidationError` naming ``field`` and the rule: :data:`TIMESTAMP_RULE` for
    anything but RFC 3339 (no basic format, no week dates, no ``+0200``, no spaces, ASCII
    digits only), :data:`OFFSET_RULE` when the offset is missing, :data:`RANGE_RULE` for a
    moment before 1970 or after 9999 in UTC. Never another exception.
    """
    shown = text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 3] + "..."
    match = _RFC3339.fullmatch(text) if len(text) <= _MAX_TEXT else None
    if match is None:
        raise ValidationError(field, TIMESTAMP_RULE, shown)
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    if not zulu and not sign:
        raise ValidationError(field, OFFSET_RULE, shown)
    try:
        offset = timedelta(0)
        if sign:
            if int(off_m) > 59:
                raise ValueError("offset minutes")
            offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (-1 if sign == "-" else 1)
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=timezone(offset),
        )
    except ValueError:  # day 31 of April, hour 24, an offset of a day or more, ...
        raise ValidationError(field, TIMESTAMP_RULE, shown) from None
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
        raise ValidationError(field, RANGE_RULE, shown) from None
    if utc < _EPOCH or utc.year > MAX_YEAR:
        raise ValidationError(field, RANGE_RULE, shown)
    return utc
