"""The one place where Shopify's answers and httpx's transport errors become Ferry errors.

::

    what happened                                          Ferry error
    ─────────────────────────────────────────────────────  ───────────────────────────────────
    httpx.TimeoutException, ConnectError, other            Unavailable
      NetworkError / transport error
    httpx.UnsupportedProtocol / InvalidURL                 ConfigError (key ``shop.url``)
    token endpoint: HTTP 4xx other than 408/429            AuthenticationError (shop URL and
      (400 invalid_client, 401, 403, …), or no               client id named, never a secret)
      ``access_token`` in a 2xx answer
    GraphQL endpoint: HTTP 401 (after the client's one     AuthenticationError
      retry with a fresh token), HTTP 403
    HTTP 429                                               Throttled (Retry-After, else the
                                                             bucket's refill time)
    HTTP 408, 5xx                                          Unavailable (Retry-After if sent)
    other HTTP 3xx / 4xx                                   Rejected (status kept)
    top-level ``errors`` with code THROTTLED               Throttled (retry_after from the
                                                             answer's throttleStatus)
    top-level ``errors`` with code ACCESS_DENIED           AuthenticationError (missing scope)
    top-level ``errors`` with code INTERNAL_SERVER_ERROR   Unavailable
    other top-level ``errors`` (syntax, unknown field, …)  Rejected (first message, its path
                                                             as ``field``)
    2xx body that is not a JSON object with ``data``       Rejected (status kept)

A mutation's ``userErrors`` arrive with HTTP 200 and are the caller's to judge:
:func:`raise_user_errors` raises :class:`UserError` (a ``Rejected``; ``code`` and ``field`` as
attributes), :class:`StaleQuantity` for ``CHANGE_FROM_QUANTITY_STALE``, and
:class:`IdempotencyInProgress` (an ``Unavailable``: retry with the same key) for
``IDEMPOTENCY_CONCURRENT_REQUEST``. Callers that want to handle a code themselves catch
``UserError`` and test ``code`` (or catch ``StaleQuantity``).

The client raises :class:`ShopifyFault` for an answer that is not a result;
:func:`shopify_errors` turns it and httpx's errors into the tree with ``raise … from exc``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

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
    "CHANGE_FROM_QUANTITY_STALE",
    "IDEMPOTENCY_CONCURRENT_REQUEST",
    "Endpoint",
    "IdempotencyInProgress",
    "QueryCost",
    "ShopifyFault",
    "StaleQuantity",
    "UserError",
    "check_graphql",
    "check_token",
    "parse_retry_after",
    "raise_user_errors",
    "read_body",
    "shopify_errors",
    "translate",
]

CHANGE_FROM_QUANTITY_STALE = "CHANGE_FROM_QUANTITY_STALE"
IDEMPOTENCY_CONCURRENT_REQUEST = "IDEMPOTENCY_CONCURRENT_REQUEST"

#: Seconds to wait after THROTTLED when the answer carries no usable throttleStatus.
DEFAULT_THROTTLE_WAIT = 1.0
_MAX_MESSAGE = 500

Endpoint = Literal["token", "graphql"]


@dataclass(frozen=True, slots=True)
class QueryCost:
    """``extensions.cost`` of an answer: what the query asked for and the bucket after it."""

    requested: float | None
    actual: float | None
    maximum: float
    available: float
    restore_rate: float

    @classmethod
    def parse(cls, body: Any) -> QueryCost | None:
        """The cost of a parsed answer, or ``None`` if it carries no (readable) throttleStatus."""
        if not isinstance(body, Mapping):
            return None
        extensions = body.get("extensions")
        cost = extensions.get("cost") if isinstance(extensions, Mapping) else None
        status = cost.get("throttleStatus") if isinstance(cost, Mapping) else None
        if not isinstance(cost, Mapping) or not isinstance(status, Mapping):
            return None
        maximum = _number(status.get("maximumAvailable"))
        available = _number(status.get("currentlyAvailable"))
        rate = _number(status.get("restoreRate"))
        if maximum is None or available is None or rate is None:
            return None
        return cls(
            requested=_number(cost.get("requestedQueryCost")),
            actual=_number(cost.get("actualQueryCost")),
            maximum=maximum,
            available=available,
            restore_rate=rate,
        )

    def wait_for(self, cost: float) -> float:
        """Seconds until the bucket holds ``cost`` points (capped at its size); 0 if it does."""
        needed = min(cost, self.maximum) - self.available
        if needed <= 0:
            return 0.0
        if self.restore_rate <= 0:
            return DEFAULT_THROTTLE_WAIT
        return needed / self.restore_rate


class ShopifyFault(Exception):
    """An answer from Shopify that is not a result (bad status, ``errors``, unreadable body).

    ``str()`` is a short description for logs; it never contains a request's credentials.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        status: int,
        detail: str,
        *,
        errors: Sequence[Mapping[str, Any]] = (),
        cost: QueryCost | None = None,
        retry_after: float | None = None,
        malformed: bool = False,
    ) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.endpoint: Endpoint = endpoint
        self.status = status
        self.detail = detail
        self.errors = tuple(errors)
        self.cost = cost
        self.retry_after = retry_after
        self.malformed = malformed

    @property
    def codes(self) -> tuple[str, ...]:
        """The ``extensions.code`` of each GraphQL error (``""`` where there is none)."""
        return tuple(_error_code(e) for e in self.errors)


class UserError(Rejected):
    """A mutation's ``userErrors`` entry: Shopify refused the change for a business reason.

    ``code`` is Shopify's error code (``None`` if it sent none), ``field`` the dotted input path
    (``input.quantities.0.changeFromQuantity``), ``detail`` Shopify's message; ``others`` holds
    the remaining entries of the same answer as ``(code, field, message)`` tuples.
    """

    def __init__(
        self,
        code: str | None,
        field: str | None,
        message: str,
        *,
        what: str = "",
        others: Sequence[tuple[str | None, str | None, str]] = (),
    ) -> None:
        text = f"{what}: {message}" if what else message
        text = f"{text} (code {code or '?'}, field {field or '?'})"
        if others:
            text = f"{text}; and {len(others)} more"
        super().__init__(_one_line(text), field=field)
        self.code = code
        self.detail = message
        self.what = what
        self.others = tuple(others)


class StaleQuantity(UserError):
    """``CHANGE_FROM_QUANTITY_STALE``: the stored quantity is no longer ``changeFromQuantity``.

    Re-read it and decide; a new attempt with other variables needs a new idempotency key.
    """


class IdempotencyInProgress(Unavailable):
    """``IDEMPOTENCY_CONCURRENT_REQUEST``: a request with this idempotency key is still running.

    Transient: retry later with the same key and the same variables.
    """

    def __init__(self, code: str, field: str | None, message: str, *, what: str = "") -> None:
        text = f"{what}: {message}" if what else message
        super().__init__(_one_line(f"{text} (code {code}, field {field or '?'})"))
        self.code = code
        self.field = field
        self.detail = message


def raise_user_errors(payload: Any, what: str) -> dict[str, Any]:
    """Return a mutation's payload if its ``userErrors`` are empty; else raise the first.

    ``what`` names the mutation in the message. A missing payload (``null``) is ``Rejected``.
    Raises :class:`StaleQuantity` or :class:`UserError` (both ``Rejected``), or
    :class:`IdempotencyInProgress` (``Unavailable``) for a request still running under the key.
    """
    if not isinstance(payload, Mapping):
        raise Rejected(f"{what}: Shopify answered no payload ({_clip(repr(payload))})")
    raw = payload.get("userErrors") or []
    entries = [_user_error(e) for e in raw] if isinstance(raw, list) else [(None, None, str(raw))]
    if not entries:
        return dict(payload)
    code, field, message = entries[0]
    if code == IDEMPOTENCY_CONCURRENT_REQUEST:
        raise IdempotencyInProgress(code, field, message, what=what)
    kind = StaleQuantity if code == CHANGE_FROM_QUANTITY_STALE else UserError
    raise kind(code, field, message, what=what, others=entries[1:])


def read_body(response: httpx.Response, endpoint: Endpoint) -> dict[str, Any] | None:
    """The JSON object of an answer; ``None`` if it is not one and the status is an error
    anyway. A 2xx answer that is not a JSON object raises a malformed :class:`ShopifyFault`."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    if response.is_success:
        what = "not JSON" if body is None else f"JSON {type(body).__name__}, not an object"
        raise ShopifyFault(endpoint, response.status_code, f"answer is {what}", malformed=True)
    return None


def check_graphql(response: httpx.Response, body: Mapping[str, Any] | None) -> dict[str, Any]:
    """``data`` of a GraphQL answer, or a :class:`ShopifyFault` for anything else."""
    status = response.status_code
    errors = _graphql_errors(body.get("errors")) if body is not None else []
    cost = QueryCost.parse(body)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if not response.is_success:
        detail = _first_message(errors) or response.reason_phrase or "error"
        raise ShopifyFault(
            "graphql", status, detail, errors=errors, cost=cost, retry_after=retry_after
        )
    assert body is not None  # read_body raised for a 2xx without a JSON object
    if errors:
        raise ShopifyFault(
            "graphql", status, _first_message(errors) or "error", errors=errors, cost=cost
        )
    data = body.get("data")
    if not isinstance(data, dict):
        raise ShopifyFault("graphql", status, "answer has no data", malformed=True)
    return data


def check_token(response: httpx.Response, body: Mapping[str, Any] | None) -> dict[str, Any]:
    """The token answer's body, or a :class:`ShopifyFault` if it holds no access token."""
    status = response.status_code
    if not response.is_success:
        detail = response.reason_phrase or "error"
        if body is not None:
            error = body.get("error") or body.get("errors")
            if isinstance(error, str) and error:
                detail = error
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise ShopifyFault("token", status, detail, retry_after=retry_after)
    assert body is not None
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise ShopifyFault("token", status, "answer has no access_token", malformed=True)
    return dict(body)


def translate(
    exc: BaseException,
    where: str,
    *,
    shop: str,
    client_id: str,
    redact: Iterable[str] = (),
) -> FerryError:
    """The Ferry error for ``exc``; ``where`` names the call (``productVariants``, …)."""
    error = _translate(exc, where, shop, client_id)
    secrets = [s for s in redact if s]
    text = str(error)
    if any(s in text for s in secrets):
        for secret in secrets:
            text = text.replace(secret, "***")
        error.args = (text, *error.args[1:])
    return error


@contextmanager
def shopify_errors(
    where: str, *, shop: str, client_id: str, redact: Iterable[str] = ()
) -> Iterator[None]:
    """Translate what escapes the block; Ferry's own errors pass through untouched."""
    try:
        yield
    except FerryError:
        raise
    except (ShopifyFault, httpx.HTTPError) as exc:
        raise translate(exc, where, shop=shop, client_id=client_id, redact=redact) from exc


def _translate(exc: BaseException, where: str, shop: str, client_id: str) -> FerryError:
    if isinstance(exc, ShopifyFault):
        if exc.endpoint == "token":
            return _from_token_fault(exc, shop, client_id)
        return _from_graphql_fault(exc, where, shop, client_id)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ConfigError("shop.url", f"{type(exc).__name__}: {exc}")
    if isinstance(exc, httpx.TooManyRedirects):
        return Rejected(f"{where}: {type(exc).__name__}: {exc}")
    # TimeoutException, ConnectError, ReadError, WriteError, RemoteProtocolError, ProxyError, …:
    # the request may or may not have reached Shopify. Inventory writes carry an idempotency
    # key, prices are absolute: trying again is safe.
    detail = str(exc) or "no detail"
    return Unavailable(_one_line(f"{where}: Shopify at {shop}: {type(exc).__name__}: {detail}"))


def _from_token_fault(fault: ShopifyFault, shop: str, client_id: str) -> FerryError:
    text = f"access token: Shopify at {shop}: HTTP {fault.status}: {_clip(fault.detail)}"
    if fault.status == 429:
        return Throttled(_one_line(text), retry_after=fault.retry_after)
    if _transient_status(fault.status):
        return Unavailable(_one_line(text), retry_after=fault.retry_after)
    what = "gave no access token" if fault.malformed else "refused the client credentials"
    return AuthenticationError(
        _one_line(
            f"Shopify at {shop} {what} of client id {client_id} "
            f"(HTTP {fault.status}: {_clip(fault.detail)})"
        )
    )


def _from_graphql_fault(fault: ShopifyFault, where: str, shop: str, client_id: str) -> FerryError:
    status = fault.status
    text = _one_line(f"{where}: {_clip(fault.detail)}")
    if status == 429:
        retry_after = fault.retry_after
        if retry_after is None and fault.cost is not None:
            retry_after = _throttle_wait(fault.cost)
        return Throttled(f"{where}: HTTP 429 Too Many Requests", retry_after=retry_after)
    if _transient_status(status):
        return Unavailable(f"{where}: HTTP {status}: {_clip(fault.detail)}", fault.retry_after)
    if status == 401:
        return AuthenticationError(
            f"Shopify at {shop} refused a fresh access token of client id {client_id} "
            f"(HTTP 401 on {where})"
        )
    if status == 403:
        return AuthenticationError(
            f"Shopify at {shop} denied {where} to client id {client_id} (HTTP 403): "
            "check that the app is installed and has the access scopes it needs"
        )
    if status >= 300:
        return Rejected(f"{where}: HTTP {status}: {_clip(fault.detail)}", status=status)
    codes = fault.codes
    if "THROTTLED" in codes:
        wait = _throttle_wait(fault.cost) if fault.cost else DEFAULT_THROTTLE_WAIT
        return Throttled(f"{where}: THROTTLED by Shopify's cost bucket", retry_after=wait)
    if "ACCESS_DENIED" in codes:
        return AuthenticationError(
            _one_line(
                f"Shopify at {shop} denied {where} to client id {client_id}: "
                f"{_clip(fault.detail)}: check the app's access scopes"
            )
        )
    if "INTERNAL_SERVER_ERROR" in codes:
        return Unavailable(text)
    if fault.malformed:
        return Rejected(_one_line(f"{where}: malformed answer from Shopify: {fault}"), status)
    field = _error_path(fault.errors[0]) if fault.errors else None
    return Rejected(text, status=status, field=field)


def _throttle_wait(cost: QueryCost) -> float:
    # Shopify refused because the bucket could not pay the requested cost: wait until it can.
    # Without a requested cost (or with figures that say it could pay), wait a default second.
    wait = cost.wait_for(cost.requested) if cost.requested is not None else 0.0
    return wait if wait > 0 else DEFAULT_THROTTLE_WAIT


def _transient_status(status: int) -> bool:
    return status == 408 or status >= 500


def _graphql_errors(raw: Any) -> list[Mapping[str, Any]]:
    if raw is None or raw == []:
        return []
    if isinstance(raw, str):
        return [{"message": raw}]
    if isinstance(raw, Mapping):
        return [raw] if "message" in raw else [{"message": str(raw)}]
    if isinstance(raw, list):
        return [e if isinstance(e, Mapping) else {"message": str(e)} for e in raw]
    return [{"message": str(raw)}]


def _first_message(errors: Sequence[Mapping[str, Any]]) -> str:
    for error in errors:
        message = error.get("message")
        if message:
            return str(message)
    return ""


def _error_code(error: Mapping[str, Any]) -> str:
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, Mapping) else None
    return str(code) if code else ""


def _error_path(error: Mapping[str, Any]) -> str | None:
    return _dotted(error.get("path"))


def _user_error(raw: Any) -> tuple[str | None, str | None, str]:
    if not isinstance(raw, Mapping):
        return None, None, str(raw)
    code = raw.get("code")
    message = raw.get("message")
    return (
        str(code) if code else None,
        _dotted(raw.get("field")),
        str(message) if message else "no message",
    )


def _dotted(path: Any) -> str | None:
    if isinstance(path, list | tuple) and path:
        return ".".join(str(p) for p in path)
    if isinstance(path, str) and path:
        return path
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _one_line(text: str) -> str:
    return " ".join(text.split())
