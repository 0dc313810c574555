"""The one place where Odoo's error payloads and httpx's transport errors become Ferry errors.

::

    what happened                                          Ferry error
    ─────────────────────────────────────────────────────  ───────────────────────────────────
    odoo.exceptions.AccessDenied                           AuthenticationError
      … "Too many login failures"                          Throttled (retry_after=60)
    odoo.http.SessionExpiredException                      AuthenticationError
    psycopg2 SerializationFailure / TransactionRollback-   Unavailable
      Error / LockNotAvailable / DeadlockDetected /
      OperationalError / InterfaceError, Odoo's
      ConcurrencyError / PoolError, "could not serialize
      access due to concurrent update", "deadlock detected"
    odoo.exceptions.UserError / ValidationError /          Rejected (Odoo's name and message,
      AccessError / MissingError / RedirectWarning,          never its debug traceback;
      builtins.* (AttributeError, ValueError, …)             status on JSON-2)
    werkzeug.exceptions.* / unknown name                   by HTTP status (below), else Rejected
    httpx.TimeoutException, ConnectError, ReadError,       Unavailable
      WriteError, RemoteProtocolError, other NetworkError
    httpx.UnsupportedProtocol / InvalidURL                 ConfigError (key ``odoo.url``)
    HTTP 429                                               Throttled (Retry-After)
    HTTP 408, 5xx                                          Unavailable (Retry-After if sent)
    HTTP 401, 403 (no Odoo error name)                     AuthenticationError
    other HTTP 3xx / 4xx                                   Rejected (status kept)
    body not JSON / not the expected shape: on HTTP 2xx    Rejected (status kept)
                                            otherwise      by HTTP status (above)

Protocols raise :class:`OdooFault` for an error payload and :class:`MalformedResponse` for an
answer they cannot read; :func:`odoo_errors` turns those and httpx's errors into the tree with
``raise … from exc``, so the original stays reachable as ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from ferry.errors import (
    AuthenticationError,
    ConfigError,
    FerryError,
    Rejected,
    Throttled,
    Unavailable,
)
from ferry.retry import parse_retry_after

__all__ = [
    "MalformedResponse",
    "OdooFault",
    "fault_from_json2",
    "fault_from_jsonrpc",
    "odoo_errors",
    "parse_retry_after",
    "translate",
]

#: Odoo's login throttle: five failures per IP, then a 60 s cooldown.
LOGIN_COOLDOWN = 60.0
_MAX_MESSAGE = 2000

_AUTH_NAMES = frozenset({"AccessDenied", "SessionExpiredException"})
_TRANSIENT_NAMES = frozenset(
    {
        "SerializationFailure",
        "TransactionRollbackError",
        "LockNotAvailable",
        "DeadlockDetected",
        "ConcurrencyError",
        "PoolError",
        "InterfaceError",
        "OperationalError",
    }
)
_TRANSIENT_MESSAGES = (
    "could not serialize access",
    "could not obtain lock",
    "deadlock detected",
    "the connection pool is full",
)
_BUSINESS_PREFIXES = ("odoo.exceptions.", "builtins.", "odoo.tools.", "odoo.models.")


class OdooFault(Exception):
    """An error Odoo reported in its payload, as a Python exception.

    ``str()`` shows ``name: message`` only. The server's traceback is kept in ``debug`` for
    whoever logs the cause, but never travels into a Ferry error's message.
    """

    def __init__(
        self,
        name: str,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        arguments: Iterable[Any] = (),
        debug: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{name}: {message}" if name else message)
        self.name = name
        self.odoo_message = message
        self.status = status
        self.code = code
        self.arguments = tuple(arguments)
        self.debug = debug
        self.retry_after = retry_after

    @property
    def short_name(self) -> str:
        return self.name.rpartition(".")[2]


class MalformedResponse(Exception):
    """Odoo answered something that is not the JSON it should be."""

    def __init__(self, detail: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.detail = detail
        self.status = status
        self.retry_after = retry_after


def fault_from_jsonrpc(error: Mapping[str, Any]) -> OdooFault:
    """Build a fault from JSON-RPC's ``error`` member (``{code, message, data: {…}}``)."""
    data = error.get("data")
    data = data if isinstance(data, Mapping) else {}
    code = error.get("code")
    return OdooFault(
        str(data.get("name") or ""),
        _text(data.get("message") or error.get("message") or "Odoo Server Error"),
        code=code if isinstance(code, int) else None,
        arguments=_arguments(data.get("arguments")),
        debug=_optional_text(data.get("debug")),
    )


def fault_from_json2(response: httpx.Response, body: Any) -> OdooFault | None:
    """Build a fault from a JSON-2 error answer, or ``None`` if the body is not one."""
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        fault = fault_from_jsonrpc(body["error"])
        fault.status = response.status_code
        fault.retry_after = parse_retry_after(response.headers.get("retry-after"))
        return fault
    if not isinstance(body, Mapping) or not ("name" in body or "message" in body):
        return None
    return OdooFault(
        str(body.get("name") or ""),
        _text(body.get("message") or response.reason_phrase),
        status=response.status_code,
        arguments=_arguments(body.get("arguments")),
        debug=_optional_text(body.get("debug")),
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


def translate(exc: BaseException, where: str, *, redact: Iterable[str] = ()) -> FerryError:
    """The Ferry error for ``exc``; ``where`` (``model.method`` or the call) prefixes the text."""
    error = _translate(exc, where)
    secrets = [s for s in redact if s]
    if secrets and any(s in str(error) for s in secrets):
        error = _redacted(error, secrets)
    return error


@contextmanager
def odoo_errors(where: str, *, redact: Iterable[str] = ()) -> Iterator[None]:
    """Translate what escapes the block; every error text leaves it with ``redact`` hidden
    (the one redaction point for Odoo's answers)."""
    secrets = [s for s in redact if s]
    try:
        yield
    except FerryError as exc:  # built from an answer (an echo may hold the key): redacted too
        if secrets and any(s in str(exc) for s in secrets):
            raise _redacted(exc, secrets) from exc.__cause__
        raise
    except (OdooFault, MalformedResponse, httpx.HTTPError) as exc:
        raise translate(exc, where, redact=secrets) from exc


def _translate(exc: BaseException, where: str) -> FerryError:
    if isinstance(exc, OdooFault):
        return _from_fault(exc, where)
    if isinstance(exc, MalformedResponse):
        text = f"{where}: malformed answer from Odoo: {exc}"
        if 200 <= exc.status < 300:
            return Rejected(text, status=exc.status)
        return _from_status(exc.status, exc.retry_after, text)
    if isinstance(exc, httpx.HTTPStatusError):
        response = exc.response
        return _from_status(
            response.status_code,
            parse_retry_after(response.headers.get("retry-after")),
            f"{where}: HTTP {response.status_code} {response.reason_phrase}".rstrip(),
        )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ConfigError("odoo.url", f"{type(exc).__name__}: {exc}")
    if isinstance(exc, httpx.TooManyRedirects):
        return Rejected(f"{where}: {type(exc).__name__}: {exc}")
    if isinstance(exc, httpx.HTTPError):
        # Not connected (refused, connect timeout, no pooled connection): the request never left.
        # Anything else (a read timeout, a dropped connection, …): it may have reached Odoo and
        # may still commit, so the caller cannot know whether it happened (ambiguous).
        detail = str(exc) or "no detail"
        unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        return Unavailable(f"{where}: {type(exc).__name__}: {detail}", ambiguous=not unsent)
    return Unavailable(f"{where}: {type(exc).__name__}: {exc}")


def _from_fault(fault: OdooFault, where: str) -> FerryError:
    text = f"{where}: {_clip(str(fault))}"
    short = fault.short_name
    if short in _AUTH_NAMES:
        if "too many login failures" in fault.odoo_message.lower():
            return Throttled(text, retry_after=fault.retry_after or LOGIN_COOLDOWN)
        return AuthenticationError(text)
    lowered = fault.odoo_message.lower()
    if short in _TRANSIENT_NAMES or any(m in lowered for m in _TRANSIENT_MESSAGES):
        return Unavailable(text, retry_after=fault.retry_after)
    if fault.name.startswith(_BUSINESS_PREFIXES):
        return Rejected(text, status=fault.status)
    status = fault.status or _http_code(fault.code)
    if status is not None and status >= 300:
        return _from_status(status, fault.retry_after, text)
    return Rejected(text, status=fault.status)


def _from_status(status: int, retry_after: float | None, text: str) -> FerryError:
    if status == 429:
        return Throttled(text, retry_after=retry_after)
    if _transient_status(status):
        # A proxy's 502/504: Odoo behind it may have got the request and may still commit it.
        return Unavailable(text, retry_after=retry_after, ambiguous=status in (502, 504))
    if status in (401, 403):
        return AuthenticationError(text)
    return Rejected(text, status=status)


def _transient_status(status: int) -> bool:
    return status == 408 or status >= 500


def _http_code(code: int | None) -> int | None:
    # JSON-RPC's error.code is 200 for every server error; 404 and 100 carry a meaning.
    if code is not None and code != 200 and 300 <= code < 600:
        return code
    return None


def _redacted(error: FerryError, secrets: list[str]) -> FerryError:
    text = str(error)
    for secret in secrets:
        text = text.replace(secret, "***")
    error.args = (text, *error.args[1:])
    return error


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _arguments(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list | tuple) else ()
