"""Apply ``odoo.sale_order.upsert`` commands to Odoo, idempotently and never backwards.

An order is known by its external id ``ferry.shop_order_<id>`` and carries the version it was
written at as a stamp ``<external id>@<source_updated_at>`` in ``origin``.
:class:`SaleOrderApplier` creates, rewrites and confirms orders by those two keys; why it works
this way (idempotency, crash windows, version guard, updates, currency): ``docs/odoo-sink.md``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from consumers.odoo.lookups import MODULE, Lookups, Product
from consumers.runner import Outcome
from ferry.errors import Rejected, Unavailable, ValidationError
from ferry.odoo import OdooClient
from ferry.timefmt import format_timestamp, parse_timestamp

__all__ = [
    "EVENT_TYPE",
    "MODEL",
    "SaleOrderApplier",
    "command_digest",
    "format_stamp",
    "parse_stamp",
    "stamp_digest",
]

log = logging.getLogger(__name__)

EVENT_TYPE = "odoo.sale_order.upsert"
MODEL = "sale.order"
STAMP_FIELD = "origin"
_DATETIME = "%Y-%m-%d %H:%M:%S"
_READ_FIELDS = ["id", "name", "state", STAMP_FIELD, "order_line"]


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


class SaleOrderApplier:
    """Applies one command (the Avro record as a dict) through an :class:`OdooClient`."""

    def __init__(
        self,
        odoo: OdooClient,
        lookups: Lookups | None = None,
        *,
        settle_s: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.odoo = odoo
        self.lookups = lookups or Lookups(odoo)
        self.settle_s = settle_s
        self._clock = clock
        self._unsure: dict[str, float] = {}  # external id -> when a write of it went unanswered

    async def apply(self, command: Mapping[str, Any]) -> Outcome:
        """Apply one command. After a write that went unanswered (it may still commit), the
        same order is not looked at again until Odoo's longest request time (``settle_s``, its
        ``limit_time_real``) has passed: a look before could miss the running transaction and
        create a second order (``docs/odoo-sink.md``)."""
        external_id = str(command["external_id"])
        unsure_since = self._unsure.get(external_id)
        if unsure_since is not None:
            wait = unsure_since + self.settle_s - self._clock()
            if wait > 0:
                raise Unavailable(
                    f"{external_id}: an earlier write may still be running in Odoo; "
                    f"looking again in {wait:.0f} s",
                    retry_after=wait,
                )
            del self._unsure[external_id]
        try:
            return await self._apply(command, external_id)
        except Unavailable as exc:
            if exc.ambiguous:
                self._unsure[external_id] = self._clock()
            raise

    async def _apply(self, command: Mapping[str, Any], external_id: str) -> Outcome:
        module, name = _split_xmlid(external_id)
        version = _aware(command["source_updated_at"], "source_updated_at")
        digest = command_digest(command)
        stamp = format_stamp(external_id, version, digest)

        order = await self._find(module, name, str(command["client_order_ref"]), external_id)
        if order is not None:
            applied = parse_stamp(external_id, order.get(STAMP_FIELD))
            held = stamp_digest(order.get(STAMP_FIELD))
            same = version == applied and (held is None or held == digest)
            if applied is not None and (version < applied or same):
                if same and await self._finish(order, command):
                    return Outcome.APPLIED
                log.debug(
                    "%s: version %s not newer than %s: skipped", external_id, version, applied
                )
                return Outcome.DUPLICATE

        if command.get("cancel"):
            return await self._cancel(module, name, order, command, stamp, external_id)
        vals = await self._order_vals(command)
        vals[STAMP_FIELD] = stamp
        if order is None:
            order = await self._create(module, name, vals, external_id)
        else:
            await self._update(order, vals, command)
        await self._finish(order, command)
        return Outcome.APPLIED

    # -- find --------------------------------------------------------------------------------

    async def _find(
        self, module: str, name: str, client_order_ref: str, external_id: str
    ) -> dict[str, Any] | None:
        known = await self.odoo.xmlid_lookup(module, name)
        if known is not None:
            if known.model != MODEL:
                raise Rejected(f"{known.xmlid} points at {known.model}, not {MODEL}")
            rows = await self.odoo.read(MODEL, [known.res_id], _READ_FIELDS)
            if rows:
                return rows[0]
            raise Rejected(
                f"{known.xmlid} points at {MODEL}({known.res_id}), which no longer exists",
                field="external_id",
            )
        # The crash window between create and the external id: the order carries our stamp.
        candidates = await self.odoo.search_read(
            MODEL,
            [("client_order_ref", "=", client_order_ref)],
            _READ_FIELDS,
            order="id asc",
        )
        ours = [c for c in candidates if parse_stamp(external_id, c.get(STAMP_FIELD)) is not None]
        if not ours:
            return None
        order = ours[0]
        log.warning(
            "%s: adopting %s(%s), created before a crash left it without its external id",
            external_id,
            MODEL,
            order["id"],
        )
        await self.odoo.register_xmlid(MODEL, module, name, int(order["id"]))
        return order

    # -- write -------------------------------------------------------------------------------

    async def _order_vals(self, command: Mapping[str, Any]) -> dict[str, Any]:
        """Resolve every reference first (no write happens if one is unknown); the lookups that
        may create (customer, pricelist) run last."""
        currency_code = str(command["currency_code"])
        currency_id = await self.lookups.currency(currency_code)
        lines: Sequence[Mapping[str, Any]] = command["order_lines"]
        if not lines:
            raise ValidationError("order_lines", "at least one line", [])
        products = await self.lookups.products_by_code(
            [str(line["default_code"]) for line in lines],
            lambda i: f"order_lines[{i}].default_code",
        )
        partner_id = await self.lookups.partner(command["partner"])
        date_order = _aware(command["date_order"], "date_order")
        # Odoo computes sale.order.currency_id from the pricelist (else the company currency).
        pricelist_id = await self.lookups.pricelist(currency_id, currency_code)
        return {
            "partner_id": partner_id,
            "client_order_ref": str(command["client_order_ref"]),
            "date_order": date_order.astimezone(UTC).strftime(_DATETIME),
            "pricelist_id": pricelist_id,
            "order_line": [
                (0, 0, _line_vals(line, p)) for line, p in zip(lines, products, strict=True)
            ],
        }

    async def _create(
        self, module: str, name: str, vals: dict[str, Any], external_id: str
    ) -> dict[str, Any]:
        winner = await self.odoo.create_with_xmlid(MODEL, module, name, vals)
        if winner.ours:
            return {"id": winner.res_id, "state": "draft", STAMP_FIELD: vals[STAMP_FIELD]}
        # Another writer registered the external id first: its order is kept, ours was removed.
        log.warning("%s: lost a race for the external id; removed %s", external_id, winner.orphan)
        rows = await self.odoo.read(MODEL, [winner.res_id], _READ_FIELDS)
        if not rows:
            raise Rejected(
                f"{external_id} points at {MODEL}({winner.res_id}), which no longer exists",
                field="external_id",
            )
        return rows[0]

    async def _update(
        self, order: dict[str, Any], vals: dict[str, Any], command: Mapping[str, Any]
    ) -> None:
        order_id = int(order["id"])
        state = order.get("state")
        if state in ("draft", "sent"):
            old_lines = [int(i) for i in order.get("order_line") or []]
            vals = dict(vals)
            vals["order_line"] = [(2, i, 0) for i in old_lines] + list(vals["order_line"])
            await self.odoo.write(MODEL, [order_id], vals)
            order[STAMP_FIELD] = vals[STAMP_FIELD]
            return
        if state == "cancel":
            raise _locked(
                f"{MODEL}({order_id}) {order.get('name', '')} is cancelled in Odoo; "
                "Ferry does not revive cancelled orders",
                "state",
            )
        # Confirmed (or locked): the lines must already be what the command says.
        if not await self._same_lines(order, vals["order_line"]):
            raise _locked(
                f"{MODEL}({order_id}) {order.get('name', '')} is confirmed; Ferry does not "
                "rewrite the lines of a confirmed order",
                "order_lines",
            )
        header = {"client_order_ref": vals["client_order_ref"], STAMP_FIELD: vals[STAMP_FIELD]}
        await self.odoo.write(MODEL, [order_id], header)
        order[STAMP_FIELD] = vals[STAMP_FIELD]

    async def _cancel(
        self,
        module: str,
        name: str,
        order: dict[str, Any] | None,
        command: Mapping[str, Any],
        stamp: str,
        external_id: str,
    ) -> Outcome:
        """Cancel the order through Odoo's cancel path (the warning wizard skipped, as the
        wizard's own button does); an order Odoo never saw is recorded, then cancelled."""
        if order is None:
            vals = await self._order_vals(command)
            vals[STAMP_FIELD] = stamp
            order = await self._create(module, name, vals, external_id)
        elif order.get("state") == "cancel":
            return Outcome.DUPLICATE
        order_id = int(order["id"])
        try:
            await self.odoo.execute_kw(
                MODEL, "action_cancel", [[order_id]], {"context": {"disable_cancel_warning": True}}
            )
        except Rejected as exc:
            raise _locked(
                f"{external_id}: Odoo refused to cancel {MODEL}({order_id}): {exc}", "cancel"
            ) from exc
        await self.odoo.write(MODEL, [order_id], {STAMP_FIELD: stamp})
        return Outcome.APPLIED

    async def _same_lines(self, order: Mapping[str, Any], commands: Sequence[Any]) -> bool:
        ids = [int(i) for i in order.get("order_line") or []]
        rows = await self.odoo.read(
            "sale.order.line", ids, ["product_id", "product_uom_qty", "price_unit"]
        )
        have = sorted(
            (
                _m2o(r.get("product_id")),
                float(r["product_uom_qty"]),
                round(float(r["price_unit"]), 4),
            )
            for r in rows
        )
        want = sorted(
            (int(v["product_id"]), float(v["product_uom_qty"]), round(float(v["price_unit"]), 4))
            for _, _, v in commands
        )
        return have == want

    async def _finish(self, order: dict[str, Any], command: Mapping[str, Any]) -> bool:
        """Confirm if the command asks and the order is still a quotation; True if it did."""
        if not command.get("confirm") or order.get("state") not in ("draft", "sent"):
            return False
        await self.odoo.execute_kw(MODEL, "action_confirm", [[int(order["id"])]])
        order["state"] = "sale"
        return True


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


def _m2o(value: Any) -> int:
    if isinstance(value, list | tuple) and value:
        return int(value[0])
    return int(value) if isinstance(value, int) else 0
