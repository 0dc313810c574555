"""The two wire protocols of Odoo's external API, behind one small interface.

* :class:`JsonRpc` — ``POST /jsonrpc`` with ``object.execute_kw``; Odoo 17 and 18 (deprecated
  since 19, announced for removal in a later major).
* :class:`Json2` — ``POST /json/2/<model>/<method>`` with ``Authorization: bearer <key>``; Odoo 19+.

A protocol only speaks the wire: it raises :class:`~ferry.odoo.errors.OdooFault`,
:class:`~ferry.odoo.errors.MalformedResponse` or httpx's own errors, and the client translates
them (in :mod:`ferry.odoo.errors`).
"""

from __future__ import annotations

import abc
import asyncio
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import httpx
from pydantic import SecretStr

from ferry.errors import AuthenticationError
from ferry.odoo.errors import (
    MalformedResponse,
    OdooFault,
    fault_from_json2,
    fault_from_jsonrpc,
    parse_retry_after,
)

__all__ = ["Json2", "JsonRpc", "OdooProtocol", "ProtocolName", "Session", "json2_params"]

ProtocolName = Literal["jsonrpc", "json2"]

_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


@dataclass(frozen=True, slots=True, repr=False)
class Session:
    """Where and as whom to call; shared by both protocols. ``repr`` hides the key."""

    http: httpx.AsyncClient
    url: str
    database: str
    login: str
    api_key: SecretStr

    def __repr__(self) -> str:
        return f"Session(url={self.url!r}, database={self.database!r}, login={self.login!r})"


class OdooProtocol(abc.ABC):
    """Calls one model method on Odoo and returns its JSON result."""

    name: ClassVar[ProtocolName]

    def __init__(self, session: Session) -> None:
        self.session = session
        self._uid: int | None = None
        self._lock = asyncio.Lock()

    async def authenticate(self) -> int:
        """Check the credentials and return the user id; done once, then cached."""
        if self._uid is None:
            async with self._lock:
                if self._uid is None:
                    self._uid = await self._authenticate()
        return self._uid

    @abc.abstractmethod
    async def _authenticate(self) -> int: ...

    @abc.abstractmethod
    async def call(
        self, model: str, method: str, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> Any:
        """``model.method(*args, **kwargs)`` on the server, in execute_kw's shape."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.session!r})"


async def jsonrpc_call(
    http: httpx.AsyncClient, url: str, service: str, method: str, args: Sequence[Any], rid: int
) -> Any:
    """One JSON-RPC ``call`` on ``<url>/jsonrpc``; returns ``result`` (``None`` if omitted)."""
    payload = {
        "jsonrpc": "2.0",
        "method": "call",
        "id": rid,
        "params": {"service": service, "method": method, "args": list(args)},
    }
    response = await http.post(f"{url}/jsonrpc", content=_dumps(payload), headers=_JSON_HEADERS)
    if not response.is_success and not _looks_like_json(response):
        _raise_for_status(response)
    body = _json_body(response)
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        fault = fault_from_jsonrpc(body["error"])
        if response.status_code != 200:
            fault.status = response.status_code
        raise fault
    _raise_for_status(response)
    if not isinstance(body, Mapping):
        raise MalformedResponse("JSON-RPC answer is not an object", response.status_code)
    return body.get("result")


class JsonRpc(OdooProtocol):
    """``object.execute_kw`` over ``/jsonrpc`` after one ``common.authenticate``."""

    name = "jsonrpc"
    _ids = itertools.count(1)

    async def _authenticate(self) -> int:
        s = self.session
        uid = await jsonrpc_call(
            s.http,
            s.url,
            "common",
            "authenticate",
            [s.database, s.login, s.api_key.get_secret_value(), {}],
            next(self._ids),
        )
        if isinstance(uid, bool) or not isinstance(uid, int):
            raise AuthenticationError(f"Odoo refused login {s.login!r} on database {s.database!r}")
        return uid

    async def call(
        self, model: str, method: str, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> Any:
        uid = await self.authenticate()
        s = self.session
        return await jsonrpc_call(
            s.http,
            s.url,
            "object",
            "execute_kw",
            [
                s.database,
                uid,
                s.api_key.get_secret_value(),
                model,
                method,
                list(args),
                dict(kwargs),
            ],
            next(self._ids),
        )


# execute_kw's positional arguments, by name, for the ORM methods Ferry calls. JSON-2 takes
# named arguments only, plus ``ids`` for methods that work on records.
_MODEL_METHODS: dict[str, tuple[str, ...]] = {
    "search": ("domain", "offset", "limit", "order"),
    "search_count": ("domain", "limit"),
    "search_read": ("domain", "fields", "offset", "limit", "order"),
    "search_fetch": ("domain", "field_names", "offset", "limit", "order"),
    "create": ("vals_list",),
    "load": ("fields", "data"),
    "name_search": ("name", "domain", "operator", "limit"),
    "name_create": ("name",),
    "fields_get": ("allfields", "attributes"),
    "default_get": ("fields_list",),
    "read_group": ("domain", "fields", "groupby", "offset", "limit", "orderby", "lazy"),
    "check_access_rights": ("operation", "raise_exception"),
    "context_get": (),
}
_RECORD_METHODS: dict[str, tuple[str, ...]] = {
    "read": ("fields", "load"),
    "write": ("vals",),
    "unlink": (),
    "copy": ("default",),
    "fetch": ("field_names",),
    "check_access_rule": ("operation",),
}


def json2_params(method: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Turn execute_kw's ``args``/``kwargs`` into JSON-2's named body.

    Known ORM methods get their positional arguments named; for any other method the first
    positional argument, if any, is the record ids (``action_confirm([[7]])`` → ``{"ids": [7]}``)
    and further arguments must be given by keyword. A call that cannot be expressed raises
    ``TypeError``: it is a bug in the caller, not a property of the data.
    """
    params: dict[str, Any] = {}
    rest = list(args)
    if method in _MODEL_METHODS:
        names = _MODEL_METHODS[method]
    else:
        names = _RECORD_METHODS.get(method, ())
        if rest:
            params["ids"] = _ids(method, rest.pop(0))
    if len(rest) > len(names):
        raise TypeError(
            f"{method}: JSON-2 takes named arguments only; pass arguments after the ids "
            f"by keyword (got {len(rest)} positional, knows {list(names)})"
        )
    params.update(zip(names, rest, strict=False))
    for key, value in kwargs.items():
        if key in params:
            raise TypeError(f"{method}: argument {key!r} given twice")
        params[key] = value
    return params


class Json2(OdooProtocol):
    """``POST /json/2/<model>/<method>`` with a bearer API key; no login round trip."""

    name = "json2"

    def _headers(self) -> dict[str, str]:
        s = self.session
        headers = dict(_JSON_HEADERS)
        headers["Authorization"] = f"bearer {s.api_key.get_secret_value()}"
        if s.database:
            headers["X-Odoo-Database"] = s.database
        return headers

    async def _authenticate(self) -> int:
        # JSON-2 has no login: ask who the key belongs to. An unknown method is a 404 there.
        try:
            context = await self.call("res.users", "context_get", [], {})
        except OdooFault as fault:
            if fault.status != 404:
                raise
            context = None
        uid = context.get("uid") if isinstance(context, Mapping) else None
        if isinstance(uid, int) and not isinstance(uid, bool):
            return uid
        ids = await self.call("res.users", "search", [[("login", "=", self.session.login)]], {})
        if not isinstance(ids, list) or not ids:
            raise AuthenticationError(f"Odoo has no user {self.session.login!r}")
        return int(ids[0])

    async def call(
        self, model: str, method: str, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> Any:
        body = json2_params(method, args, kwargs)
        response = await self.session.http.post(
            f"{self.session.url}/json/2/{model}/{method}",
            content=_dumps(body),
            headers=self._headers(),
        )
        if response.is_success:
            return _json_body(response)
        if _looks_like_json(response):
            fault = fault_from_json2(response, _json_body(response))
            if fault is not None:
                raise fault
        _raise_for_status(response)
        raise MalformedResponse(f"unexpected HTTP {response.status_code}", response.status_code)


def _ids(method: str, value: Any) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, list | tuple) and all(
        isinstance(i, int) and not isinstance(i, bool) for i in value
    ):
        return list(value)
    raise TypeError(f"{method}: the first argument must be record ids for JSON-2, got {value!r}")


def _json_body(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError as exc:
        raise MalformedResponse(
            f"body is not JSON ({response.headers.get('content-type', 'no content-type')})",
            response.status_code,
            parse_retry_after(response.headers.get("retry-after")),
        ) from exc


def _looks_like_json(response: httpx.Response) -> bool:
    return "json" in response.headers.get("content-type", "")


def _raise_for_status(response: httpx.Response) -> None:
    if not response.is_success:
        raise httpx.HTTPStatusError(
            f"HTTP {response.status_code}", request=response.request, response=response
        )


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
