"""Global ids (``gid://shopify/<Type>/<n>``) and opaque pagination cursors."""

from __future__ import annotations

import base64
import binascii
import json

PREFIX = "gid://shopify/"


def gid(kind: str, number: int) -> str:
    return f"{PREFIX}{kind}/{number}"


def parse_gid(value: object, kind: str) -> int | None:
    """The number of ``gid://shopify/<kind>/<n>``, or None for anything else."""
    if not isinstance(value, str) or not value.startswith(f"{PREFIX}{kind}/"):
        return None
    tail = value[len(PREFIX) + len(kind) + 1 :].split("?", 1)[0]
    if not tail.isdigit():
        return None
    return int(tail)


def encode_cursor(last_id: int) -> str:
    """Shopify's cursors are base64 of a small JSON object; clients treat them as opaque."""
    raw = json.dumps({"last_id": last_id, "last_value": str(last_id)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    last_id = data.get("last_id") if isinstance(data, dict) else None
    return last_id if isinstance(last_id, int) and not isinstance(last_id, bool) else None
