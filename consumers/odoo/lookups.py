"""Reference data the Odoo sink resolves before it writes: countries, currencies, products,
customers, pricelists. Lookups are cached (countries for the process's life, currencies,
products and pricelists for a short TTL, since an operator may archive or add them); a miss is
never cached, so a product created after a dead letter is found on replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from consumers.odoo.sale_order_batch import create_with_xmlids
from ferry.errors import FerryError, Rejected, ValidationError
from ferry.odoo import ExternalId, OdooClient

__all__ = [
    "Lookups",
    "TtlCache",
    "customer_key",
    "partner_xmlid_name",
    "pricelist_xmlid_name",
    "products_in_order",
]

MODULE = "ferry"


class TtlCache:
    """A small map whose entries expire ``ttl_s`` seconds after they were stored."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._items: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any) -> Any | None:
        found = self._items.get(key)
        if found is None:
            return None
        stored, value = found
        if self._clock() - stored > self.ttl_s:
            del self._items[key]
            return None
        return value

    def put(self, key: Any, value: Any) -> None:
        self._items[key] = (self._clock(), value)

    def clear(self) -> None:
        self._items.clear()


def partner_xmlid_name(email: str) -> str:
    """``partner_<hash>``: the external id name of the customer with this e-mail."""
    digest = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:24]
    return f"partner_{digest}"


def pricelist_xmlid_name(currency_code: str) -> str:
    """``pricelist_<code>``: the external id name of the pricelist Ferry creates for a currency."""
    return f"pricelist_{currency_code.strip().lower()}"


def _like_literal(text: str) -> str:
    r"""Escape ``=ilike``'s wildcards so ``john_doe@x`` does not also match ``johnXdoe@x``."""
    return text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    default_code: str


class Lookups:
    """Resolves the references of a sale order command; raises ``ValidationError`` naming the
    command's field for what Odoo does not have."""

    def __init__(
        self, odoo: OdooClient, *, ttl_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.odoo = odoo
        self.countries: dict[str, int] = {}
        self.currencies = TtlCache(ttl_s, clock)
        self.products = TtlCache(ttl_s, clock)
        self.pricelists = TtlCache(ttl_s, clock)
        self._partner_locks: dict[str, asyncio.Lock] = {}
        self._pricelist_locks: dict[str, asyncio.Lock] = {}

    async def country(self, code: str | None, field: str) -> int | None:
        if not code:
            return None
        key = code.strip().upper()
        if key not in self.countries:
            rows = await self.odoo.search_read("res.country", [("code", "=", key)], ["id"], limit=1)
            if not rows:
                raise ValidationError(field, "unknown country code", code, "no res.country")
            self.countries[key] = int(rows[0]["id"])
        return self.countries[key]

    async def currency(self, code: str, field: str = "currency_code") -> int:
        key = code.strip().upper()
        cached = self.currencies.get(key)
        if cached is not None:
            return int(cached)
        rows = await self.odoo.search_read(
            "res.currency",
            [("name", "=", key)],
            ["id", "name", "active"],
            limit=1,
            context={"active_test": False},
        )
        if not rows:
            raise ValidationError(field, "unknown currency", code, "no res.currency by that name")
        if not rows[0].get("active"):
            raise ValidationError(
                field, "inactive currency", code, "activate it in Odoo, then replay the event"
            )
        currency_id = int(rows[0]["id"])
        self.currencies.put(key, currency_id)
        return currency_id

    async def pricelist(self, currency_id: int, code: str, field: str = "currency_code") -> int:
        """The oldest active pricelist in the currency ``currency_id`` (``code``), else
        ``Ferry <CODE>`` (external id ``ferry.pricelist_<code>``), created. ``ValidationError`` on
        ``field`` if that external id exists but its pricelist is not active in the currency.
        Why: ``docs/odoo-sink.md``, "Currency and pricelists"."""
        key = code.strip().upper()
        cached = self.pricelists.get(key)
        if cached is not None:
            return int(cached)
        lock = self._pricelist_locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self.pricelists.get(key)
            if cached is not None:
                return int(cached)
            rows = await self.odoo.search_read(
                "product.pricelist",
                [("currency_id", "=", currency_id)],
                ["id"],
                order="id asc",
                limit=1,
            )
            if rows:
                pricelist_id = int(rows[0]["id"])
            else:
                name = pricelist_xmlid_name(key)
                known = await self.odoo.xmlid_lookup(MODULE, name)
                if known is not None:
                    raise ValidationError(
                        field,
                        "a currency with an active pricelist",
                        code,
                        f"{known.xmlid} ({known.model}({known.res_id})) is archived or no longer "
                        f"in {key}: unarchive it or add a {key} pricelist in Odoo, then replay "
                        "the event",
                    )
                # Just looked up and absent: created with it (another writer's, if it won).
                winner = await self.odoo.create_with_xmlid(
                    "product.pricelist",
                    MODULE,
                    name,
                    {"name": f"Ferry {key}", "currency_id": currency_id},
                )
                pricelist_id = winner.res_id
            self.pricelists.put(key, pricelist_id)
            return pricelist_id

    async def known_products(self, codes: Sequence[str]) -> dict[str, Product]:
        """The products of ``codes`` Odoo has, by code, in at most one call (cached ones are
        not asked for again); a code without a product is left out."""
        found: dict[str, Product] = {}
        missing: list[str] = []
        for code in dict.fromkeys(codes):
            cached = self.products.get(code)
            if isinstance(cached, Product):
                found[code] = cached
            else:
                missing.append(code)
        if missing:
            rows = await self.odoo.search_read(
                "product.product",
                [("default_code", "in", missing)],
                ["id", "default_code"],
                order="id asc",
            )
            for row in rows:
                code = str(row.get("default_code") or "")
                if code in found or code not in missing:
                    continue  # two products with one code: the oldest wins, as Odoo's UI would
                product = Product(int(row["id"]), code)
                found[code] = product
                self.products.put(code, product)
        return found

    async def products_by_code(
        self, codes: Sequence[str], field: Callable[[int], str]
    ) -> list[Product]:
        """The product of every code, in order; ``field(i)`` names the i-th code's field."""
        return products_in_order(codes, await self.known_products(codes), field)

    async def partners(
        self,
        customers: Mapping[str, Mapping[str, Any]],
        known: Mapping[str, ExternalId] | None = None,
        field: str = "partner",
    ) -> dict[str, int | FerryError]:
        """The customer of every e-mail: ``customers`` maps :func:`customer_key` to the
        command's customer values; the answer maps it to the partner's id, or the error that
        customer met. A customer is found by the external id ``ferry.partner_<hash of the
        e-mail>`` (``known``: those already looked up, by name), else by e-mail
        (case-insensitive), else created with that external id; an existing one is never
        overwritten. One call per step for all of them. Why: ``docs/odoo-sink.md``,
        "Customers"."""
        async with contextlib.AsyncExitStack() as locks:
            for key in sorted(customers):  # one order for every worker: no deadlock
                await locks.enter_async_context(self._partner_locks.setdefault(key, asyncio.Lock()))
            names = {key: partner_xmlid_name(key) for key in customers}
            if known is None:
                known = await self.odoo.xmlid_lookup_many(MODULE, list(names.values()))
            out = _known_partners(names, known)
            rest = [key for key in customers if key not in out]
            out.update(await self._partners_by_email(rest, customers))
            new = [key for key in rest if key not in out]
            out.update(await self._create_partners(new, customers, names, field))
            return out

    async def _partners_by_email(
        self, keys: Sequence[str], customers: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, int | FerryError]:
        """The oldest partner of each e-mail (``=ilike``), in one call."""
        if not keys:
            return {}
        terms = [
            ("email", "=ilike", _like_literal(str(customers[key]["email"]).strip())) for key in keys
        ]
        rows = await self.odoo.search_read(
            "res.partner", ["|"] * (len(terms) - 1) + terms, ["id", "email"], order="id asc"
        )
        found: dict[str, int | FerryError] = {}
        for row in rows:
            key = str(row.get("email") or "").lower()
            if key in keys and key not in found:
                found[key] = int(row["id"])
        return found

    async def _create_partners(
        self,
        keys: Sequence[str],
        customers: Mapping[str, Mapping[str, Any]],
        names: Mapping[str, str],
        field: str,
    ) -> dict[str, int | FerryError]:
        """New partners with their external ids, in one call each."""
        out: dict[str, int | FerryError] = {}
        items: list[tuple[str, Mapping[str, Any]]] = []
        creating: list[str] = []
        for key in keys:
            try:
                vals = await self._partner_vals(customers[key], field)
            except ValidationError as exc:
                out[key] = exc
                continue
            items.append((names[key], vals))
            creating.append(key)
        created = await create_with_xmlids(self.odoo, "res.partner", MODULE, items)
        for key, winner in zip(creating, created, strict=True):
            out[key] = winner if isinstance(winner, FerryError) else winner.res_id
        return out

    async def _partner_vals(self, values: Mapping[str, Any], field: str) -> dict[str, Any]:
        email = str(values["email"]).strip()
        vals: dict[str, Any] = {"name": str(values.get("name") or email), "email": email}
        for key_name in ("street", "street2", "city", "zip"):
            if values.get(key_name):
                vals[key_name] = str(values[key_name])
        country_id = await self.country(values.get("country_code"), f"{field}.country_code")
        if country_id is not None:
            vals["country_id"] = country_id
        return vals


def customer_key(values: Mapping[str, Any], field: str = "partner") -> str:
    """The customer's e-mail, lower-cased: its key. ``ValidationError`` on ``<field>.email``
    when it is not an e-mail address."""
    email = str(values.get("email") or "").strip()
    if not email or "@" not in email:
        raise ValidationError(f"{field}.email", "an e-mail address", values.get("email"))
    return email.lower()


def products_in_order(
    codes: Sequence[str], found: Mapping[str, Product], field: Callable[[int], str]
) -> list[Product]:
    """The product of every code, in order; ``ValidationError`` on ``field(i)`` for the first
    code Odoo has no product of."""
    out: list[Product] = []
    for i, code in enumerate(codes):
        hit = found.get(code)
        if hit is None:
            raise ValidationError(
                field(i), "unknown product", code, "no product.product has this default_code"
            )
        out.append(hit)
    return out


def _known_partners(
    names: Mapping[str, str], known: Mapping[str, ExternalId]
) -> dict[str, int | FerryError]:
    out: dict[str, int | FerryError] = {}
    for key, name in names.items():
        hit = known.get(name)
        if hit is None:
            continue
        if hit.model != "res.partner":
            out[key] = Rejected(f"{hit.xmlid} points at {hit.model}, not res.partner")
        else:
            out[key] = hit.res_id
    return out
