"""The one spelling of a moment in Ferry's headers, ids and stamps: UTC, milliseconds, ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["format_timestamp", "parse_timestamp"]


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
