"""Apply ``odoo.sale_order.upsert`` commands to Odoo, idempotently and never backwards.

An order is known by its external id ``ferry.shop_order_<id>`` and carries the version it was
written at as a stamp ``<external id>@<source_updated_at>#<digest>`` in a field of Ferry's own,
``x_ferry_version``, created through the API at start (``systems.odoo.version_field``).
:class:`SaleOrderApplier` creates, rewrites, cancels and confirms orders by those two keys, a
batch of commands in a handful of calls (one command is a batch of one); why it works this
way (idempotency, crash windows, version guard, updates, currency, the batch path):
``docs/odoo-sink.md``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from consumers.odoo.lookups import (
    MODULE,
    Lookups,
    Product,
    customer_key,
    partner_xmlid_name,
    products_in_order,
)
from consumers.odoo.sale_order_batch import create_with_xmlids, each, register_xmlids, rounds
from ferry.errors import (
    ConfigError,
    Deferred,
    FerryError,
    PermanentError,
    Rejected,
    TransientError,
    Unavailable,
    ValidationError,
)
from ferry.odoo import ExternalId, OdooClient
from ferry.sink import BatchResult, Outcome
from ferry.timefmt import format_timestamp, parse_timestamp

__all__ = [
    "EVENT_TYPE",
    "MODEL",
    "VERSION_FIELD",
    "SaleOrderApplier",
    "command_digest",
    "format_stamp",
    "parse_stamp",
    "stamp_digest",
]

log = logging.getLogger(__name__)

EVENT_TYPE = "odoo.sale_order.upsert"
MODEL = "sale.order"
VERSION_FIELD = "x_ferry_version"
LEGACY_FIELD = "origin"  # where stamps were kept before the version field
STAMP = "_stamp"  # the stamp an order holds, in the order dicts the applier keeps
_DATETIME = "%Y-%m-%d %H:%M:%S"


def format_stamp(external_id: str, version: datetime, digest: str | None = None) -> str:
    """``ferry.shop_order_42@2026-11-01T12:30:15.123Z#3f2a…`` (the digest of the content)."""
    stamp = f"{external_id}@{format_timestamp(version)}"
    return f"{stamp}#{digest}" if digest else stamp


def parse_stamp(external_id: str, stamp: Any) -> datetime | None:
    """The version in ``stamp`` if it is this external id's stamp, else None."""
    if not isinstance(stamp, str) or not stamp.startswith(external_id + "@"):
        return None
    return parse_timestamp(stamp[len(external_id) + 1 :].partition("#")[0])


def stamp_digest(stamp: Any) -> str | None:
    """The content digest in a stamp (``None`` in a stamp written before digests)."""
    if not isinstance(stamp, str) or "#" not in stamp:
        return None
    return stamp.rpartition("#")[2] or None


def command_digest(command: Mapping[str, Any]) -> str:
    """A digest of what a command says, its version left out: two states stamped with the
    same version are told apart by it."""
    content = {k: v for k, v in command.items() if k != "source_updated_at"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def _aware(value: Any, field: str) -> datetime:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    raise ValidationError(field, "a timezone-aware timestamp", value)


def _split_xmlid(external_id: str) -> tuple[str, str]:
    module, dot, name = external_id.partition(".")
    if not dot or module != MODULE or not name or " " in name or "." in name:
        raise ValidationError(
            "external_id", f"an external id {MODULE}.<name> without spaces", external_id
        )
    return module, name


@dataclass
class _Item:
    """One command of a round: its keys, the order it found, what it will write, its result."""

    position: int
    command: Mapping[str, Any]
    external_id: str
    name: str
    version: datetime
    digest: str
    stamp: str
    order: dict[str, Any] | None = None
    vals: dict[str, Any] | None = None
    products: list[Product] = field(default_factory=list)
    customer: str = ""
    result: BatchResult | None = None
    duplicate: bool = False

    @property
    def live(self) -> bool:
        return self.result is None and not self.duplicate

    @property
    def ref(self) -> str:
        return str(self.command["client_order_ref"])

    def fail(self, error: FerryError) -> None:
        self.result = error


class SaleOrderApplier:
    """Applies commands (Avro records as dicts) through an :class:`OdooClient`: one with
    :meth:`apply`, many in few calls with :meth:`apply_batch` (``docs/odoo-sink.md``)."""

    def __init__(
        self,
        odoo: OdooClient,
        lookups: Lookups | None = None,
        *,
        settle_s: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        version_field: str = VERSION_FIELD,
    ) -> None:
        self.odoo = odoo
        self.lookups = lookups or Lookups(odoo)
        self.settle_s = settle_s
        self.version_field = version_field
        self._clock = clock
        self._unsure: dict[str, float] = {}  # external id -> when a write of it went unanswered
        legacy = [LEGACY_FIELD] if version_field != LEGACY_FIELD else []
        self._read_fields = [
            "id",
            "name",
            "state",
            "locked",
            "pricelist_id",
            "client_order_ref",
            "order_line",
            version_field,
            *legacy,
        ]
        self._prepared = False
        self._preparing = asyncio.Lock()

    async def prepare(self) -> None:
        """Make sure ``sale.order`` has the version field (once per process): an ``x_``
        field is created through ``ir.model.fields`` when missing, as Odoo allows for custom
        fields. ``ConfigError`` naming the setting when Odoo refuses (no Settings rights)."""
        async with self._preparing:
            if self._prepared:
                return
            field = self.version_field
            if field.startswith("x_"):
                where = [("model", "=", MODEL), ("name", "=", field)]
                if not await self.odoo.search("ir.model.fields", where, limit=1):
                    await self._create_version_field(field)
            self._prepared = True

    async def _create_version_field(self, field: str) -> None:
        models = await self.odoo.search("ir.model", [("model", "=", MODEL)], limit=1)
        vals = {
            "model_id": models[0] if models else 0,
            "name": field,
            "ttype": "char",
            "field_description": "Ferry version",
            "help": "The version Ferry last applied to this order (do not edit)",
            "copied": False,
            "index": True,
        }
        try:
            await self.odoo.create("ir.model.fields", vals)
        except Rejected as exc:
            raise ConfigError(
                "systems.odoo.version_field",
                f"cannot create {MODEL}.{field} in Odoo ({exc}); create it there (a Text or "
                "Char field) with a user that has the Settings rights, or set the option to "
                "'origin'",
            ) from exc
        log.info("created the field %s.%s that holds Ferry's version of each order", MODEL, field)

    def _with_stamps(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Rows read from Odoo, each with the stamp it holds under ``STAMP`` (a stamp still
        in ``origin`` from before the version field counts while the field is empty)."""
        out = []
        for row in rows:
            order = dict(row)
            order[STAMP] = order.get(self.version_field) or order.get(LEGACY_FIELD) or ""
            out.append(order)
        return out

    async def apply(self, command: Mapping[str, Any]) -> Outcome:
        """Apply one command (a batch of one); raise the error it met."""
        [result] = await self.apply_batch([command])
        if isinstance(result, Outcome):
            return result
        raise result

    async def apply_batch(self, commands: Sequence[Mapping[str, Any]]) -> list[BatchResult]:
        """Apply ``commands`` (in their order) and say what became of each: its outcome or the
        error it met. Commands of one order are applied in rounds, one per round, so they take
        effect in their order; a command whose earlier one failed transiently is not tried.
        An error of the whole batch is raised (``PermanentError``) or becomes the result of
        every command not applied yet (``TransientError``).

        After a write that went unanswered (it may still commit), the same order is not looked
        at again until Odoo's longest request time (``settle_s``, its ``limit_time_real``) has
        passed: a look before could miss the running transaction and create a second order."""
        if not self._prepared:
            await self.prepare()
        results: dict[int, BatchResult] = {}
        blocked: dict[str, BatchResult] = {}
        keys = [str(command["external_id"]) for command in commands]
        for positions in rounds(keys):
            todo = [p for p in positions if keys[p] not in blocked]
            results.update({p: blocked[keys[p]] for p in positions if keys[p] in blocked})
            try:
                results.update(await self._round(commands, todo))
            except TransientError as exc:
                results.update({p: exc for p in range(len(commands)) if p not in results})
                break
            for p in todo:
                if isinstance(results[p], TransientError):
                    blocked[keys[p]] = results[p]
        for key, result in zip(keys, (results[p] for p in range(len(commands))), strict=True):
            if isinstance(result, Unavailable) and result.ambiguous:
                self._unsure[key] = self._clock()
        return [results[p] for p in range(len(commands))]

    # -- one round: commands of distinct orders ----------------------------------------------

    async def _round(
        self, commands: Sequence[Mapping[str, Any]], positions: Sequence[int]
    ) -> dict[int, BatchResult]:
        items: list[_Item] = []
        results: dict[int, BatchResult] = {}
        for position in positions:
            try:
                items.append(self._item(position, commands[position]))
            except (PermanentError, TransientError) as exc:
                results[position] = exc
        known = await self._find(items)
        needs: dict[str, list[_Item]] = {need: [] for need in _NEEDS}
        for item in items:
            if item.live:
                needs[_need(item)].append(item)
        for item in needs["duplicate"]:
            item.duplicate = True
        creates, updates, cancels = needs["create"], needs["update"], needs["cancel"]
        unseen = [item for item in cancels if item.order is None]  # recorded, then cancelled
        await self._resolve([*creates, *updates, *unseen], known)
        await self._create([item for item in (*creates, *unseen) if item.live])
        await self._update([item for item in updates if item.live])
        await self._cancel([item for item in cancels if item.live])
        finishing = needs["confirm"] + [i for i in (*creates, *updates) if _to_confirm(i)]
        await self._confirm(finishing)
        for item in items:
            results[item.position] = item.result or (
                Outcome.DUPLICATE if item.duplicate else Outcome.APPLIED
            )
        return results

    def _item(self, position: int, command: Mapping[str, Any]) -> _Item:
        external_id = str(command["external_id"])
        self._check_settled(external_id)
        _, name = _split_xmlid(external_id)
        version = _aware(command["source_updated_at"], "source_updated_at")
        digest = command_digest(command)
        stamp = format_stamp(external_id, version, digest)
        return _Item(position, command, external_id, name, version, digest, stamp)

    def _check_settled(self, external_id: str) -> None:
        """``Deferred`` while an unanswered write of this order may still be running (the
        sink's own wait: it says nothing of Odoo's health, so the breaker does not count it)."""
        unsure_since = self._unsure.get(external_id)
        if unsure_since is None:
            return
        wait = unsure_since + self.settle_s - self._clock()
        if wait > 0:
            raise Deferred(
                f"{external_id}: an earlier write may still be running in Odoo; "
                f"looking again in {wait:.0f} s",
                retry_after=wait,
            )
        del self._unsure[external_id]

    # -- find --------------------------------------------------------------------------------

    async def _find(self, items: Sequence[_Item]) -> dict[str, ExternalId]:
        """Every item's order, by its external id, else (the crash window between create and
        the external id) by its stamp on an order of its ``client_order_ref``, adopted. One
        ``ir.model.data`` call (the customers' external ids too), one ``sale.order`` call.
        Returns the external ids found, by name."""
        if not items:
            return {}
        customers = [_partner_name(item.command) for item in items]
        names = [item.name for item in items] + [n for n in customers if n]
        known = await self.odoo.xmlid_lookup_many(MODULE, names)
        hits = {item.name: known[item.name] for item in items if item.name in known}
        for item in items:
            hit = hits.get(item.name)
            if hit is not None and hit.model != MODEL:
                item.fail(Rejected(f"{hit.xmlid} points at {hit.model}, not {MODEL}"))
        rows = await self._orders(
            [hits[i.name].res_id for i in items if i.live and i.name in hits],
            [i.ref for i in items if i.live and i.name not in hits],
        )
        by_id = {int(row["id"]): row for row in rows}
        adopt: list[_Item] = []
        for item in (i for i in items if i.live):
            hit = hits.get(item.name)
            if hit is None:
                item.order = _stamped(item, rows)
                if item.order is not None:
                    adopt.append(item)
            elif hit.res_id in by_id:
                item.order = by_id[hit.res_id]
            else:
                item.fail(_gone(item.external_id, hit.res_id))
        await self._adopt(adopt)
        return known

    async def _orders(self, ids: Sequence[int], refs: Sequence[str]) -> list[dict[str, Any]]:
        """The orders with these ids or client order references, oldest first, in one call."""
        terms: list[Any] = []
        if ids:
            terms.append(("id", "in", list(ids)))
        if refs:
            terms.append(("client_order_ref", "in", list(dict.fromkeys(refs))))
        if not terms:
            return []
        domain = ["|", *terms] if len(terms) == 2 else terms
        rows = await self.odoo.search_read(MODEL, domain, self._read_fields, order="id asc")
        return self._with_stamps(rows)

    async def _adopt(self, items: Sequence[_Item]) -> None:
        """Register the external ids of orders created before a crash left them without."""
        for item in items:
            assert item.order is not None
            log.warning(
                "%s: adopting %s(%s), created before a crash left it without its external id",
                item.external_id,
                MODEL,
                item.order["id"],
            )
        links = [(item.name, int(item.order["id"])) for item in items if item.order]
        registered = await register_xmlids(self.odoo, MODEL, MODULE, links)
        for item, winner in zip(items, registered, strict=True):
            if isinstance(winner, FerryError):
                item.fail(winner)
            elif not winner.ours:
                item.fail(
                    TransientError(
                        f"{item.external_id}: another writer registered it first; looking again"
                    )
                )

    # -- references --------------------------------------------------------------------------

    async def _resolve(self, items: Sequence[_Item], known: Mapping[str, ExternalId]) -> None:
        """Every item's order values, each kind of reference resolved for all items in one
        call. An item's references are resolved before it writes anything (no trace in Odoo
        if one is unknown); the lookups that may create (customers, pricelists) run last."""
        currencies = await self._currencies(items)
        found = await self.lookups.known_products([c for item in items for c in _codes(item)])
        for item in items:
            try:
                _check_references(item, currencies, found)
            except PermanentError as exc:
                item.fail(exc)
        ready = [item for item in items if item.live]
        partners = await self.lookups.partners(
            {item.customer: item.command["partner"] for item in ready}, known
        )
        for item in ready:
            code = str(item.command["currency_code"])
            try:
                partner_id = _ok(partners[item.customer])
                pricelist_id = await self.lookups.pricelist(_ok(currencies[code]), code)
                item.vals = _order_vals(item, partner_id, pricelist_id)
                item.vals[self.version_field] = item.stamp
            except PermanentError as exc:
                item.fail(exc)

    async def _currencies(self, items: Sequence[_Item]) -> dict[str, int | FerryError]:
        out: dict[str, int | FerryError] = {}
        for code in dict.fromkeys(str(item.command["currency_code"]) for item in items):
            try:
                out[code] = await self.lookups.currency(code)
            except ValidationError as exc:
                out[code] = exc
        return out

    # -- write -------------------------------------------------------------------------------

    async def _create(self, items: Sequence[_Item]) -> None:
        """The new orders in one call, their external ids in one more."""
        vals = [(item.name, item.vals or {}) for item in items]
        created = await create_with_xmlids(self.odoo, MODEL, MODULE, vals)
        lost: list[tuple[_Item, int]] = []
        for item, winner in zip(items, created, strict=True):
            if isinstance(winner, FerryError):
                item.fail(winner)
            elif winner.ours:
                item.order = {"id": winner.res_id, "state": "draft", STAMP: item.stamp}
            else:
                # Another writer registered the external id first: its order is kept.
                log.warning(
                    "%s: lost a race for the external id; removed %s",
                    item.external_id,
                    winner.orphan,
                )
                lost.append((item, winner.res_id))
        await self._read_winners(lost)

    async def _read_winners(self, lost: Sequence[tuple[_Item, int]]) -> None:
        if not lost:
            return
        try:
            ids = [res_id for _, res_id in lost]
            rows = self._with_stamps(await self.odoo.read(MODEL, ids, self._read_fields))
        except (PermanentError, TransientError) as exc:
            for item, _ in lost:
                item.fail(exc)
            return
        by_id = {int(row["id"]): row for row in rows}
        for item, res_id in lost:
            if res_id in by_id:
                item.order = by_id[res_id]
            else:
                item.fail(_gone(item.external_id, res_id))

    async def _update(self, items: Sequence[_Item]) -> None:
        """Rewrite each order (one call each: updates are rare)."""
        for item in items:
            assert item.order is not None
            assert item.vals is not None
            try:
                await self._rewrite(item.order, item.vals)
            except (PermanentError, TransientError) as exc:
                item.fail(exc)

    async def _rewrite(self, order: dict[str, Any], vals: dict[str, Any]) -> None:
        order_id = int(order["id"])
        state = order.get("state")
        if state in ("draft", "sent"):
            old_lines = [int(i) for i in order.get("order_line") or []]
            vals = dict(vals)
            vals["order_line"] = [(2, i, 0) for i in old_lines] + list(vals["order_line"])
            await self.odoo.write(MODEL, [order_id], vals)
            order[STAMP] = vals[self.version_field]
            return
        if state == "cancel":
            raise _locked(
                f"{MODEL}({order_id}) {order.get('name', '')} is cancelled in Odoo; "
                "Ferry does not revive cancelled orders",
                "state",
            )
        if order.get("locked") or state == "done":
            raise _locked(
                f"{MODEL}({order_id}) {order.get('name', '')} is locked in Odoo; "
                "unlock it there to let Ferry apply the change",
                "state",
            )
        if _m2o(order.get("pricelist_id")) not in (0, int(vals["pricelist_id"])):
            raise _locked(
                f"{MODEL}({order_id}) {order.get('name', '')} is confirmed; Odoo does not "
                "change the currency (pricelist) of a confirmed order",
                "currency_code",
            )
        # Confirmed: the customer, the reference and the lines as Odoo allows them to change.
        lines = await self._confirmed_lines(order, vals["order_line"])
        stamp = vals[self.version_field]
        changes: dict[str, Any] = {
            "partner_id": vals["partner_id"],
            "client_order_ref": vals["client_order_ref"],
            self.version_field: stamp,
        }
        if lines:
            changes["order_line"] = lines
        try:
            await self.odoo.write(MODEL, [order_id], changes)
        except Rejected as exc:  # what Odoo refuses on a confirmed order, named by Odoo
            raise _locked(
                f"{MODEL}({order_id}) {order.get('name', '')}: Odoo refused the change: {exc}",
                exc.field or "order_lines",
            ) from exc
        order[STAMP] = stamp

    async def _confirmed_lines(
        self, order: Mapping[str, Any], wanted: Sequence[Any]
    ) -> list[tuple[int, int, dict[str, Any]]]:
        """The line commands that turn a confirmed order's lines into ``wanted`` the way Odoo
        permits: a line keeps its product (quantity, price and description may change), a
        product that is new is a new line, a line no longer wanted is set to quantity 0
        (Odoo keeps confirmed lines for what was delivered or invoiced). Never below what
        was delivered: ``order_locked`` naming the line."""
        ids = [int(i) for i in order.get("order_line") or []]
        fields = ["product_id", "product_uom_qty", "price_unit", "name", "qty_delivered"]
        have = sorted(await self.odoo.read("sale.order.line", ids, fields), key=lambda r: r["id"])
        unmatched = list(have)
        commands: list[tuple[int, int, dict[str, Any]]] = []
        for index, (_, _, want) in enumerate(wanted):
            line = next(
                (r for r in unmatched if _m2o(r.get("product_id")) == want["product_id"]), None
            )
            if line is None:
                commands.append((0, 0, dict(want)))
                continue
            unmatched.remove(line)
            change = {
                k: want[k]
                for k in ("product_uom_qty", "price_unit", "name")
                if not _same_value(line.get(k), want[k])
            }
            _check_delivered(order, line, float(want["product_uom_qty"]), f"order_lines[{index}]")
            if change:
                commands.append((1, int(line["id"]), change))
        for line in unmatched:
            if float(line.get("product_uom_qty") or 0.0) != 0.0:
                _check_delivered(order, line, 0.0, "order_lines")
                commands.append((1, int(line["id"]), {"product_uom_qty": 0.0}))
        return commands

    async def _cancel(self, items: Sequence[_Item]) -> None:
        """Cancel each order through Odoo's cancel path (the warning wizard skipped, as the
        wizard's own button does), then stamp it; one order at a time (cancellations are
        rare). An order Odoo never saw was created first (:meth:`_create`)."""
        for item in items:
            assert item.order is not None
            order_id = int(item.order["id"])
            try:
                await self._cancel_order(item, order_id)
            except Rejected as exc:
                item.fail(
                    _locked(
                        f"{item.external_id}: Odoo refused to cancel {MODEL}({order_id}): {exc}",
                        "cancel",
                    )
                )
            except (PermanentError, TransientError) as exc:
                item.fail(exc)

    async def _cancel_order(self, item: _Item, order_id: int) -> None:
        assert item.order is not None
        await self.odoo.execute_kw(
            MODEL, "action_cancel", [[order_id]], {"context": {"disable_cancel_warning": True}}
        )
        item.order["state"] = "cancel"
        if item.order.get(STAMP) != item.stamp:
            await self.odoo.write(MODEL, [order_id], {self.version_field: item.stamp})
            item.order[STAMP] = item.stamp

    async def _confirm(self, items: Sequence[_Item]) -> None:
        """Confirm every quotation that asks for it, in one ``action_confirm`` call."""

        async def confirm(chunk: Sequence[_Item]) -> list[bool]:
            ids = [int(item.order["id"]) for item in chunk if item.order is not None]
            await self.odoo.execute_kw(MODEL, "action_confirm", [ids])
            return [True for _ in chunk]

        for item, done in zip(items, await each(items, confirm), strict=True):
            if isinstance(done, FerryError):
                item.fail(done)
            elif item.order is not None:
                item.order["state"] = "sale"


_NEEDS = ("create", "update", "cancel", "confirm", "duplicate")


def _need(item: _Item) -> str:
    """What a live item's command needs done to its order (one of ``_NEEDS``)."""
    order, cancel = item.order, bool(item.command.get("cancel"))
    if order is None:
        return "cancel" if cancel else "create"
    applied = parse_stamp(item.external_id, order.get(STAMP))
    if applied is not None and (item.version < applied or _same(item, order)):
        # The version guard: the order holds this state or a newer one. What a crash may
        # have left of this state is finished; anything else is a duplicate.
        if _same(item, order) and cancel and order.get("state") != "cancel":
            return "cancel"
        return "confirm" if _same(item, order) and _to_confirm(item) else "duplicate"
    if cancel:
        return "duplicate" if order.get("state") == "cancel" else "cancel"
    return "update"


def _to_confirm(item: _Item) -> bool:
    """The command asks for a confirmation its (live) quotation has not had yet."""
    order = item.order
    return (
        item.live
        and bool(item.command.get("confirm"))
        and order is not None
        and order.get("state") in ("draft", "sent")
    )


def _same(item: _Item, order: Mapping[str, Any]) -> bool:
    """The order holds this command's version and content (a stamp without a digest: same)."""
    applied = parse_stamp(item.external_id, order.get(STAMP))
    held = stamp_digest(order.get(STAMP))
    return item.version == applied and (held is None or held == item.digest)


def _stamped(item: _Item, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The oldest order of the item's reference whose stamp names its external id."""
    for row in rows:
        if (
            row.get("client_order_ref") == item.ref
            and parse_stamp(item.external_id, row.get(STAMP)) is not None
        ):
            return dict(row)
    return None


def _partner_name(command: Mapping[str, Any]) -> str | None:
    """The external id name of the command's customer (None if its e-mail is not one)."""
    try:
        return partner_xmlid_name(customer_key(command["partner"]))
    except ValidationError:
        return None


def _gone(external_id: str, res_id: int) -> Rejected:
    return Rejected(
        f"{external_id} points at {MODEL}({res_id}), which no longer exists", field="external_id"
    )


X = TypeVar("X")


def _ok(value: X | FerryError) -> X:
    if isinstance(value, FerryError):
        raise value
    return value


def _codes(item: _Item) -> list[str]:
    return [str(line["default_code"]) for line in item.command["order_lines"]]


def _check_references(
    item: _Item, currencies: Mapping[str, int | FerryError], found: Mapping[str, Product]
) -> None:
    """What an item refers to, checked in the command's order; its products and customer key
    kept on it."""
    _ok(currencies[str(item.command["currency_code"])])
    codes = _codes(item)
    if not codes:
        raise ValidationError("order_lines", "at least one line", [])
    item.products = products_in_order(codes, found, lambda i: f"order_lines[{i}].default_code")
    _aware(item.command["date_order"], "date_order")
    item.customer = customer_key(item.command["partner"])


def _order_vals(item: _Item, partner_id: int, pricelist_id: int) -> dict[str, Any]:
    command = item.command
    date_order = _aware(command["date_order"], "date_order")
    lines: Sequence[Mapping[str, Any]] = command["order_lines"]
    return {
        "partner_id": partner_id,
        "client_order_ref": item.ref,
        "date_order": date_order.astimezone(UTC).strftime(_DATETIME),
        "pricelist_id": pricelist_id,
        "order_line": [
            (0, 0, _line_vals(line, p)) for line, p in zip(lines, item.products, strict=True)
        ],
    }


ORDER_LOCKED = "order_locked"


def _locked(message: str, field: str) -> Rejected:
    """What Odoo will not change on an order in its state: a dead letter naming the field."""
    error = Rejected(message, field=field)
    error.rule = ORDER_LOCKED
    return error


def _line_vals(line: Mapping[str, Any], product: Product) -> dict[str, Any]:
    price = line["price_unit"]
    if not isinstance(price, Decimal):
        raise ValidationError("order_lines.price_unit", "an exact decimal", price)
    vals: dict[str, Any] = {
        "product_id": product.id,
        "name": str(line["name"]),
        "product_uom_qty": float(line["product_uom_qty"]),
        "price_unit": float(price),  # Odoo's Float, at this edge only
    }
    return vals


def _same_value(held: Any, wanted: Any) -> bool:
    if isinstance(wanted, float):
        return isinstance(held, int | float) and round(float(held), 4) == round(wanted, 4)
    return bool(held == wanted)


def _check_delivered(
    order: Mapping[str, Any], line: Mapping[str, Any], qty: float, field: str
) -> None:
    delivered = float(line.get("qty_delivered") or 0.0)
    if qty < delivered:
        raise _locked(
            f"{MODEL}({order['id']}) {order.get('name', '')}: {delivered:g} of "
            f"{line.get('name') or 'a line'} already delivered; Odoo does not decrease the "
            "ordered quantity below it (create a return in the inventory first)",
            f"{field}.product_uom_qty",
        )


def _m2o(value: Any) -> int:
    if isinstance(value, list | tuple) and value:
        return int(value[0])
    return int(value) if isinstance(value, int) else 0
