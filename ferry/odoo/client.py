"""``OdooClient``: Ferry's async client for Odoo's external API.

The client picks the protocol (JSON-RPC for 17/18, JSON-2 for 19+) from ``common.version`` or
from configuration, authenticates once, and offers the ORM calls Ferry's sinks need. Every
failure reaches the caller as a Ferry error (see :mod:`ferry.odoo.errors`); transient ones are
raised as :class:`~ferry.errors.TransientError` for the caller's retry policy, never retried
here.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Self, overload

import httpx
from pydantic import SecretStr

from ferry.errors import Rejected
from ferry.http import HttpClientBase
from ferry.odoo.errors import MalformedResponse, odoo_errors
from ferry.odoo.protocols import Json2, JsonRpc, OdooProtocol, ProtocolName, Session, jsonrpc_call
from ferry.odoo.version import ServerVersion

if TYPE_CHECKING:
    from ferry.odoo.settings import OdooSystem

__all__ = [
    "DEFAULT_LIMITS",
    "CallObserver",
    "ExternalId",
    "ExternalIdWinner",
    "OdooClient",
    "OdooProtocolDeprecationWarning",
    "ProtocolChoice",
]

log = logging.getLogger(__name__)

ProtocolChoice = Literal["auto", "jsonrpc", "json2"]
Domain = Sequence[Any]
CallObserver = Callable[[str, str], None]

DEFAULT_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30)

# URLs already warned about in this process: the deprecation warning fires once per server.
_warned: set[str] = set()


class OdooProtocolDeprecationWarning(FutureWarning):
    """Ferry talks to Odoo over a protocol the server has deprecated (JSON-RPC on 19+)."""


@dataclass(frozen=True, slots=True)
class ExternalId:
    """An ``ir.model.data`` row: ``module.name`` points at ``model(res_id)``."""

    module: str
    name: str
    model: str
    res_id: int
    id: int

    @property
    def xmlid(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(frozen=True, slots=True)
class ExternalIdWinner:
    """The outcome of :meth:`OdooClient.create_with_xmlid`: the external id points at
    ``model(res_id)``. ``orphan`` is ``None`` if that is the record the call created; else it is
    the id of the record the call created and removed again, because another writer had
    registered the external id first."""

    res_id: int
    orphan: int | None

    @property
    def ours(self) -> bool:
        """True if the call's own record won (and ``res_id`` is it)."""
        return self.orphan is None


class OdooClient(HttpClientBase):
    """Async client over an injected or owned ``httpx.AsyncClient``.

    ``protocol`` is ``"auto"`` (ask ``common.version``), ``"jsonrpc"`` or ``"json2"``.
    ``timeout`` is in seconds (or an ``httpx.Timeout``) and only applies to an owned client.
    The API key is kept as a ``SecretStr``: it never appears in ``repr``, logs or errors.
    ``on_call`` (settable) is told the model and method of every ``execute_kw`` call, once per
    call, before it is sent (e.g. to count calls in ``ferry_target_calls_total``).
    """

    def __init__(
        self,
        url: str,
        database: str,
        login: str,
        api_key: SecretStr | str,
        *,
        protocol: ProtocolChoice = "auto",
        timeout: float | httpx.Timeout = 30.0,
        http: httpx.AsyncClient | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        on_call: CallObserver | None = None,
    ) -> None:
        if protocol not in ("auto", "jsonrpc", "json2"):
            raise ValueError(f"protocol must be auto, jsonrpc or json2, not {protocol!r}")
        self.url = url.rstrip("/")
        self.database = database
        self.login = login
        self.protocol: ProtocolChoice = protocol
        self.on_call = on_call
        self._key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        super().__init__(http, timeout=timeout, limits=limits)
        self._session = Session(self._http, self.url, database, login, self._key)
        self._version: ServerVersion | None = None
        self._protocol: OdooProtocol | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: OdooSystem,
        *,
        http: httpx.AsyncClient | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Self:
        """Build from ``ferry.yaml``'s ``odoo`` section; the key is resolved from its reference
        (``ConfigError`` on ``odoo.api_key`` if it cannot be read)."""
        return cls(
            settings.url,
            settings.database,
            settings.login,
            settings.api_key.resolve("odoo.api_key", environ),
            protocol=settings.protocol,
            timeout=settings.timeout_s,
            http=http,
        )

    def __repr__(self) -> str:
        return (
            f"OdooClient(url={self.url!r}, database={self.database!r}, login={self.login!r}, "
            f"protocol={self.protocol!r})"
        )

    # -- protocol ----------------------------------------------------------------------------

    async def version(self) -> ServerVersion:
        """``common.version`` over ``/jsonrpc``, parsed; asked once, then cached."""
        if self._version is None:
            with self._errors("common.version"):
                info = await jsonrpc_call(self._http, self.url, "common", "version", [], 0)
                self._version = _parse_version(info)
        return self._version

    async def protocol_in_use(self) -> ProtocolName:
        """The protocol chosen for this server (asks the version if ``protocol="auto"``)."""
        return (await self._ready()).name

    async def authenticate(self) -> int:
        """Check the credentials once and return the user id (cached)."""
        protocol = await self._ready()
        with self._errors("authenticate"):
            return await protocol.authenticate()

    async def execute_kw(
        self,
        model: str,
        method: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        """``model.method(*args, **kwargs)`` on Odoo, in ``execute_kw``'s shape on every
        protocol (JSON-2 gets the arguments named, see :func:`~ferry.odoo.protocols.json2_params`).
        """
        protocol = await self._ready()
        if self.on_call is not None:
            self.on_call(model, method)
        with self._errors(f"{model}.{method}"):
            return await protocol.call(model, method, args, kwargs or {})

    async def _ready(self) -> OdooProtocol:
        if self._protocol is None:
            async with self._lock:
                if self._protocol is None:
                    self._protocol = await self._choose()
        return self._protocol

    async def _choose(self) -> OdooProtocol:
        if self.protocol == "json2":
            return Json2(self._session)
        version = await self.version()
        if self.protocol == "auto" and version.serves_json2:
            return Json2(self._session)
        if version.deprecates_jsonrpc:
            self._warn_deprecated(version)
        return JsonRpc(self._session)

    def _warn_deprecated(self, version: ServerVersion) -> None:
        if self.url in _warned:
            return
        _warned.add(self.url)
        text = (
            f"Odoo {version} at {self.url} deprecates JSON-RPC; Ferry is configured to use it "
            'anyway. Use protocol="json2" (or "auto") before the server removes it.'
        )
        log.warning(text)
        warnings.warn(text, OdooProtocolDeprecationWarning, stacklevel=4)

    def _errors(self, where: str) -> AbstractContextManager[None]:
        return odoo_errors(where, redact=(self._key.get_secret_value(),))

    # -- ORM conveniences --------------------------------------------------------------------

    async def search(
        self,
        model: str,
        domain: Domain = (),
        *,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> list[int]:
        kwargs = _kwargs(offset=offset or None, limit=limit, order=order, context=context)
        with self._errors(f"{model}.search"):
            return _int_list(await self.execute_kw(model, "search", [list(domain)], kwargs), model)

    async def search_read(
        self,
        model: str,
        domain: Domain = (),
        fields: Sequence[str] | None = None,
        *,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        kwargs = _kwargs(
            domain=list(domain),
            fields=list(fields) if fields is not None else None,
            offset=offset or None,
            limit=limit,
            order=order,
            context=context,
        )
        with self._errors(f"{model}.search_read"):
            return _dict_list(await self.execute_kw(model, "search_read", [], kwargs), model)

    async def read(
        self,
        model: str,
        ids: Sequence[int],
        fields: Sequence[str] | None = None,
        *,
        context: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        kwargs = _kwargs(fields=list(fields) if fields is not None else None, context=context)
        with self._errors(f"{model}.read"):
            return _dict_list(await self.execute_kw(model, "read", [list(ids)], kwargs), model)

    @overload
    async def create(
        self,
        model: str,
        vals: Mapping[str, Any],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> int: ...

    @overload
    async def create(
        self,
        model: str,
        vals: Sequence[Mapping[str, Any]],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> list[int]: ...

    async def create(
        self,
        model: str,
        vals: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> int | list[int]:
        """One record (a dict → its id) or many in one call and one transaction (a list →
        their ids, in order)."""
        kwargs = _kwargs(context=context)
        with self._errors(f"{model}.create"):
            if isinstance(vals, Mapping):
                result = await self.execute_kw(model, "create", [dict(vals)], kwargs)
                # JSON-2 answers a recordset as its ids: a single create comes back as [id].
                if isinstance(result, list) and len(result) == 1:
                    result = result[0]
                if isinstance(result, bool) or not isinstance(result, int):
                    raise _unexpected(f"{model}.create", result)
                return result
            rows = [dict(v) for v in vals]
            if not rows:
                return []
            ids = _int_list(await self.execute_kw(model, "create", [rows], kwargs), model)
            if len(ids) != len(rows):
                raise _unexpected(f"{model}.create", ids)
            return ids

    async def write(
        self,
        model: str,
        ids: Sequence[int],
        vals: Mapping[str, Any],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> bool:
        kwargs = _kwargs(context=context)
        return bool(await self.execute_kw(model, "write", [list(ids), dict(vals)], kwargs))

    async def unlink(
        self, model: str, ids: Sequence[int], *, context: Mapping[str, Any] | None = None
    ) -> bool:
        kwargs = _kwargs(context=context)
        return bool(await self.execute_kw(model, "unlink", [list(ids)], kwargs))

    async def load(
        self,
        model: str,
        fields: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> list[int]:
        """Odoo's import (``Model.load``): one call, one transaction, ids in row order.

        Values go through Odoo's import converters, so send them as strings, as a CSV would
        have them; an ``id`` column of external ids (``module.name``) updates the records that
        already carry them and creates the others. Odoo reports problems as data, and any error
        rolls back the whole batch: they are raised as ``Rejected`` naming the row and field.
        """
        kwargs = _kwargs(context=context)
        where = f"{model}.load"
        with self._errors(where):
            result = await self.execute_kw(
                model, "load", [list(fields), [list(r) for r in rows]], kwargs
            )
            if not isinstance(result, Mapping):
                raise _unexpected(where, result)
            messages = result.get("messages") or []
            errors = [m for m in messages if isinstance(m, Mapping) and m.get("type") == "error"]
            ids = result.get("ids")
            if errors or not isinstance(ids, list):
                raise _load_rejected(where, errors or messages)
            return _int_list(ids, model)

    # -- external ids ------------------------------------------------------------------------

    async def xmlid_lookup(self, module: str, name: str) -> ExternalId | None:
        """The ``ir.model.data`` row of ``module.name``, or ``None``."""
        rows = await self.search_read(
            "ir.model.data",
            [("module", "=", module), ("name", "=", name)],
            ["module", "name", "model", "res_id"],
            limit=1,
        )
        if not rows:
            return None
        row = rows[0]
        return ExternalId(module, name, str(row["model"]), int(row["res_id"]), int(row["id"]))

    async def xmlid_lookup_many(self, module: str, names: Sequence[str]) -> dict[str, ExternalId]:
        """The ``ir.model.data`` rows of ``module.<name>`` for every name, in one call, by name
        (names without a row are left out)."""
        if not names:
            return {}
        rows = await self.search_read(
            "ir.model.data",
            [("module", "=", module), ("name", "in", list(dict.fromkeys(names)))],
            ["module", "name", "model", "res_id"],
        )
        return {
            str(row["name"]): ExternalId(
                module, str(row["name"]), str(row["model"]), int(row["res_id"]), int(row["id"])
            )
            for row in rows
        }

    async def upsert_by_xmlid(
        self,
        model: str,
        module: str,
        name: str,
        vals: Mapping[str, Any],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> int:
        """Write ``vals`` to the record known as ``module.name``, creating it (and its external
        id) if there is none; return its id.

        Why look up, then write or create, rather than ``load`` with an ``id`` column: ``load``
        is one atomic call, but every value goes through Odoo's import converters, which expect
        CSV-like strings — many2one by name or ``field/id`` columns, x2many as text — so a
        Python ``vals`` with int ids, floats, booleans and x2many commands (what Ferry's mappers
        produce) cannot be passed to it faithfully. ``load`` is the right tool for homogeneous
        batches already shaped as import rows (see :meth:`load` and ``bench/odoo_client.py``).

        The price is two or three calls that are not one transaction. Ferry keeps an entity's
        events in one partition, so one writer per entity is the normal case; should two
        writers race to create, the loser's ``ir.model.data`` insert fails on Odoo's unique
        (module, name) constraint, and the loser removes its orphan and writes to the winner.
        """
        existing = await self.xmlid_lookup(module, name)
        if existing is not None:
            if existing.model != model:
                raise Rejected(
                    f"{existing.xmlid} points at {existing.model}({existing.res_id}), not {model}"
                )
            await self.write(model, [existing.res_id], vals, context=context)
            return existing.res_id
        winner = await self.create_with_xmlid(model, module, name, vals, context=context)
        if not winner.ours:
            await self.write(model, [winner.res_id], vals, context=context)
        return winner.res_id

    async def create_with_xmlid(
        self,
        model: str,
        module: str,
        name: str,
        vals: Mapping[str, Any],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> ExternalIdWinner:
        """Create a ``model`` record from ``vals``, register ``module.name`` for it, and return
        the record the external id points at.

        Two calls, not one transaction (see :meth:`upsert_by_xmlid`). If another writer
        registered ``module.name`` first, Odoo's unique (module, name) constraint rejects our
        ``ir.model.data`` row: the winner is looked up, our orphan is unlinked, and the
        winner is returned (``ours`` is False). ``vals`` are not written to the winner; that is
        the caller's choice. If the rejection was not that race (no external id, or one of
        another model), the ``Rejected`` is raised as it came, and the record stays.
        """
        res_id = await self.create(model, vals, context=context)
        try:
            await self.register_xmlid(model, module, name, res_id)
        except Rejected:
            winner = await self.xmlid_lookup(module, name)
            if winner is None or winner.model != model:
                raise
            if winner.res_id == res_id:  # another writer adopted our record: it is the winner
                return ExternalIdWinner(res_id=res_id, orphan=None)
            await self.unlink(model, [res_id])
            return ExternalIdWinner(res_id=winner.res_id, orphan=res_id)
        return ExternalIdWinner(res_id=res_id, orphan=None)

    async def register_xmlid(self, model: str, module: str, name: str, res_id: int) -> int:
        """Create the ``ir.model.data`` row ``module.name`` → ``model(res_id)``; return its id.
        ``Rejected`` if ``module.name`` is already taken (Odoo's unique constraint)."""
        return await self.create(
            "ir.model.data", {"module": module, "name": name, "model": model, "res_id": res_id}
        )


def _parse_version(info: Any) -> ServerVersion:
    if not isinstance(info, Mapping):
        raise MalformedResponse("common.version did not answer an object", 200)
    raw = info.get("server_version")
    try:
        if isinstance(raw, str):
            return ServerVersion.parse(raw)
        version_info = info.get("server_version_info")
        if isinstance(version_info, list):
            return ServerVersion.from_info(version_info)
    except ValueError as exc:
        raise MalformedResponse(str(exc), 200) from exc
    raise MalformedResponse("common.version has no server_version", 200)


def _kwargs(**values: Any) -> dict[str, Any]:
    return {k: (dict(v) if k == "context" else v) for k, v in values.items() if v is not None}


def _int_list(value: Any, model: str) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in value
    ):
        raise _unexpected(f"{model}: ids", value)
    return value


def _dict_list(value: Any, model: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise _unexpected(f"{model}: records", value)
    return value


def _unexpected(where: str, value: Any) -> Rejected:
    shown = repr(value)
    shown = shown if len(shown) <= 200 else shown[:199] + "…"
    return Rejected(f"{where}: unexpected answer from Odoo: {shown}")


def _load_rejected(where: str, messages: Sequence[Any]) -> Rejected:
    parts: list[str] = []
    field: str | None = None
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        rows = message.get("rows")
        row = rows.get("from") if isinstance(rows, Mapping) else message.get("record")
        where_row = f"row {row}" if row is not None else "row ?"
        name = message.get("field")
        field = field or (str(name) if name else None)
        label = f", field {name}" if name else ""
        parts.append(f"{where_row}{label}: {message.get('message', '')}")
    detail = "; ".join(parts) or "Odoo imported nothing and said nothing"
    return Rejected(f"{where}: batch rolled back: {detail}", field=field)
