"""A refused request: one exception, one JSON body, one log line.

Every check raises :class:`Rejection`; the app (or a middleware) turns it into
``{"error": ..., "field": ..., "rule": ...}`` with the status, and logs one structured line
with the status, the reason and the field. Neither the body nor the secret is ever logged or
echoed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import Scope

__all__ = ["Rejection", "log", "rejection_response"]

log = logging.getLogger(__name__)


class Rejection(Exception):
    """The request is answered with ``status`` and a JSON error body.

    ``reason`` is a short, fixed phrase for logs and metrics (``"bad signature"``); ``error``
    is the message for the client, ``field`` and ``rule`` say what broke which rule.
    """

    def __init__(
        self,
        status: int,
        error: str,
        *,
        reason: str,
        field: str | None = None,
        rule: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.reason = reason
        self.field = field
        self.rule = rule
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.error}
        if self.field is not None:
            out["field"] = self.field
        if self.rule is not None:
            out["rule"] = self.rule
        return out


def rejection_response(scope: Scope, rejection: Rejection) -> JSONResponse:
    """The response for ``rejection``, after logging it once."""
    log.warning(
        "rejected method=%s path=%s status=%d reason=%r field=%s",
        scope.get("method", "-"),
        scope.get("path", "-"),
        rejection.status,
        rejection.reason,
        rejection.field or "-",
        extra={
            "status": rejection.status,
            "reason": rejection.reason,
            "field": rejection.field,
            "path": scope.get("path"),
        },
    )
    return JSONResponse(rejection.body(), rejection.status, headers=rejection.headers)
