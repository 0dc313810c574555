"""``@idempotent(key:)``: the first result of a key is kept; a repeat with the same arguments gets
it back and changes nothing, the same key with other arguments gets a userError."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from .store import Store

MISMATCH = {
    "field": None,
    "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
    "message": "The same idempotency key cannot be used with different operation parameters.",
}


def fingerprint(operation: str, arguments: Mapping[str, Any]) -> str:
    canonical = json.dumps([operation, arguments], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_once(
    store: Store,
    key: str,
    operation: str,
    arguments: Mapping[str, Any],
    perform: Callable[[], dict[str, Any]],
    empty: Mapping[str, Any],
) -> dict[str, Any]:
    """``perform()`` once per key, atomically with remembering its result.

    ``empty`` is the payload with its object fields null, answered (with the mismatch error)
    when the key was used for other arguments.
    """
    mark = fingerprint(operation, arguments)
    with store.transaction():
        found = store.idempotent_result(key)
        if found is not None:
            stored, result = found
            if stored == mark:
                return result
            return {**empty, "userErrors": [dict(MISMATCH)]}
        result = perform()
        store.remember_result(key, mark, result)
        return result
