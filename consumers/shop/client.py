"""``ShopifyClient``: Ferry's async client for Shopify's GraphQL Admin API.

It gets its access token with the client credentials grant and renews it before it expires
(and once after a 401), paces its calls by Shopify's cost bucket so that a steady stream is
not throttled, and offers the reads and writes the shop sinks need. Every failure reaches the
caller as a Ferry error (see :mod:`consumers.shop.errors`); transient ones are raised for the
caller's retry policy, never retried here.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Self

import httpx
from pydantic import SecretStr

from consumers.shop.errors import (
    QueryCost,
    check_graphql,
    check_token,
    raise_user_errors,
    read_body,
    shopify_errors,
)
from ferry.errors import ConfigError, Rejected, ValidationError
from ferry.http import HttpClientBase

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from consumers.shop.settings import ShopAdminSettings

__all__ = [
    "AVAILABLE",
    "DEFAULT_API_VERSION",
    "DEFAULT_QUERY_COST",
    "LOCATIONS",
    "SET_AVAILABLE",
    "SET_PRICE",
    "TOKEN_REFRESH_MARGIN",
    "VARIANT_BY_SKU",
    "Clock",
    "Location",
    "ShopifyClient",
    "Sleep",
    "Variant",
    "sku_search",
]

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

DEFAULT_API_VERSION = "2026-10"
#: Expected cost of a query the client has not sent before (Shopify's default for a mutation).
DEFAULT_QUERY_COST = 10.0
#: Renew a token this many seconds before it expires, or at 90 % of its life if that is sooner.
TOKEN_REFRESH_MARGIN = 300.0
DEFAULT_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=5, keepalive_expiry=30)

_VERSION = re.compile(r"\d{4}-\d{2}|unstable")
_ROOT_FIELD = re.compile(r"\{\s*(?:\w+\s*:\s*)?(\w+)")
_PLAIN_SKU = re.compile(r"[A-Za-z0-9._/+-]+")

LOCATIONS = """\
query FerryLocations {
  locations(first: 250) {
    nodes { id name }
  }
}"""

VARIANT_BY_SKU = """\
query FerryVariantBySku($query: String!) {
  productVariants(first: 1, query: $query) {
    nodes { id sku price product { id } inventoryItem { id } }
  }
}"""

AVAILABLE = """\
query FerryAvailable($inventoryItemId: ID!, $locationId: ID!) {
  inventoryItem(id: $inventoryItemId) {
    inventoryLevel(locationId: $locationId) {
      quantities(names: ["available"]) { name quantity }
    }
  }
}"""

SET_AVAILABLE = """\
mutation FerrySetAvailable($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { field code message }
  }
}"""

SET_PRICE = """\
mutation FerrySetPrice($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id price }
    userErrors { field code message }
  }
}"""


@dataclass(frozen=True, slots=True)
class Variant:
    """A product variant as the sinks need it; ids are Shopify's global ids."""

    id: str
    sku: str
    price: Decimal
    product_id: str
    inventory_item_id: str


@dataclass(frozen=True, slots=True)
class Location:
    id: str
    name: str


def sku_search(sku: str) -> str:
    """Shopify search syntax for one SKU: ``sku:ABC-1``, quoted if it holds other characters."""
    if _PLAIN_SKU.fullmatch(sku):
        return f"sku:{sku}"
    escaped = sku.replace("\\", "\\\\").replace('"', '\\"')
    return f'sku:"{escaped}"'


class _Bucket:
    """The client's model of Shopify's cost bucket.

    Every answer's ``throttleStatus`` resets it; between answers it refills at the restore
    rate. A call reserves its expected cost before it is sent, so concurrent calls queue up
    behind each other instead of all spending the same points. Calls still in flight when an
    answer arrives are assumed not yet counted by Shopify (the cautious side).
    """

    def __init__(self) -> None:
        self.status: QueryCost | None = None
        self.available = 0.0
        self.at = 0.0
        self.in_flight = 0.0

    def level(self, now: float) -> float:
        assert self.status is not None
        refill = self.status.restore_rate * max(0.0, now - self.at)
        return min(self.status.maximum, self.available + refill)

    def reserve(self, cost: float, now: float) -> float:
        """Take ``cost`` points; return the seconds to wait before the call may be sent."""
        self.in_flight += cost
        if self.status is None:
            return 0.0
        cost = min(cost, self.status.maximum)
        level = self.level(now)
        wait = 0.0
        if level < cost:
            rate = self.status.restore_rate
            wait = (cost - level) / rate if rate > 0 else 1.0
        self.available = level - cost
        self.at = now
        return wait

    def observe(self, status: QueryCost, own: float, now: float) -> None:
        self.status = status
        self.available = status.available - max(0.0, self.in_flight - own)
        self.at = now

    def release(self, cost: float) -> None:
        self.in_flight = max(0.0, self.in_flight - cost)


class _Redact:
    """The secrets to blank out of error texts, read when an error happens."""

    def __init__(self, client: ShopifyClient) -> None:
        self._client = client

    def __iter__(self) -> Iterator[str]:
        yield self._client._secret.get_secret_value()
        token = self._client._token
        if token is not None:
            yield token.get_secret_value()


class ShopifyClient(HttpClientBase):
    """Async client over an injected or owned ``httpx.AsyncClient``.

    ``url`` is the shop's base URL (``https://x.myshopify.com``, or the sandbox's
    ``http://127.0.0.1:8070``). ``timeout`` is in seconds (or an ``httpx.Timeout``) and only
    applies to an owned client. ``clock`` (monotonic seconds) and ``sleep`` are injectable for
    tests. The client secret and the access token are ``SecretStr``: never in ``repr``, logs
    or errors.
    """

    def __init__(
        self,
        url: str,
        *,
        client_id: str,
        client_secret: SecretStr | str,
        api_version: str = DEFAULT_API_VERSION,
        http: httpx.AsyncClient | None = None,
        timeout: float | httpx.Timeout = 30.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        url = url.strip().rstrip("/")
        if not url.startswith(("https://", "http://")):
            raise ConfigError("shop.url", "must start with https:// (or http:// for a sandbox)")
        if not _VERSION.fullmatch(api_version):
            raise ConfigError("shop.api_version", f"not an API version like 2026-10: {api_version}")
        if not client_id:
            raise ConfigError("shop.client_id", "must not be empty")
        self.url = url
        self.api_version = api_version
        self.client_id = client_id
        self._secret = (
            client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        )
        super().__init__(http, timeout=timeout, limits=limits)
        self._clock = clock
        self._sleep = sleep
        self._token_url = f"{url}/admin/oauth/access_token"
        self._graphql_url = f"{url}/admin/api/{api_version}/graphql.json"
        self._token: SecretStr | None = None
        self._refresh_at = 0.0
        self._token_lock = asyncio.Lock()
        self._bucket = _Bucket()
        self._costs: dict[str, float] = {}
        self._variants: dict[str, Variant] = {}
        self._locations: list[Location] | None = None
        self._redact = _Redact(self)

    @classmethod
    def from_settings(
        cls,
        settings: ShopAdminSettings,
        *,
        http: httpx.AsyncClient | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> Self:
        """Build from the shop's Admin API settings; the secret is resolved from its reference
        (``ConfigError`` on ``shop.client_secret`` if it cannot be read)."""
        return cls(
            settings.url,
            client_id=settings.client_id,
            client_secret=settings.client_secret.resolve("shop.client_secret", environ),
            api_version=settings.api_version,
            http=http,
            timeout=settings.timeout_s,
            clock=clock,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return (
            f"ShopifyClient(url={self.url!r}, api_version={self.api_version!r}, "
            f"client_id={self.client_id!r})"
        )

    # -- GraphQL -----------------------------------------------------------------------------

    async def execute(
        self, query: str, variables: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run one GraphQL document and return its ``data``.

        Waits first, if need be, until the cost bucket can pay this query's expected cost (the
        ``requestedQueryCost`` it had last time, :data:`DEFAULT_QUERY_COST` the first time).
        A 401 renews the token and sends the call once more. A mutation's ``userErrors`` are
        part of ``data``: check them with :func:`~consumers.shop.errors.raise_user_errors`.
        """
        where = _root_field(query)
        cost = self._costs.get(query, DEFAULT_QUERY_COST)
        wait = self._bucket.reserve(cost, self._clock())
        try:
            if wait > 0:
                log.debug("Shopify %s: waiting %.3f s for %.0f cost points", where, wait, cost)
                await self._sleep(wait)
            with self._errors(where):
                token = await self._access_token()
                response, body = await self._post(query, variables, token, cost)
                if response.status_code == 401:
                    self._forget_token(token)
                    token = await self._access_token()
                    response, body = await self._post(query, variables, token, cost)
                return check_graphql(response, body)
        finally:
            self._bucket.release(cost)

    async def _post(
        self,
        query: str,
        variables: Mapping[str, Any] | None,
        token: SecretStr,
        cost: float,
    ) -> tuple[httpx.Response, dict[str, Any] | None]:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = dict(variables)
        response = await self._http.post(
            self._graphql_url,
            json=payload,
            headers={"X-Shopify-Access-Token": token.get_secret_value()},
        )
        body = read_body(response, "graphql")
        status = QueryCost.parse(body)
        if status is not None:
            self._bucket.observe(status, cost, self._clock())
            if status.requested is not None:
                self._costs[query] = status.requested
        return response, body

    def _errors(self, where: str) -> AbstractContextManager[None]:
        return shopify_errors(where, shop=self.url, client_id=self.client_id, redact=self._redact)

    # -- access token ------------------------------------------------------------------------

    async def _access_token(self) -> SecretStr:
        token = self._token
        if token is not None and self._clock() < self._refresh_at:
            return token
        async with self._token_lock:
            token = self._token
            if token is not None and self._clock() < self._refresh_at:
                return token
            return await self._fetch_token()

    async def _fetch_token(self) -> SecretStr:
        started = self._clock()
        response = await self._http.post(
            self._token_url,
            json={
                "client_id": self.client_id,
                "client_secret": self._secret.get_secret_value(),
                "grant_type": "client_credentials",
            },
            headers={"Accept": "application/json"},
        )
        body = check_token(response, read_body(response, "token"))
        token = SecretStr(str(body["access_token"]))
        expires_in = body.get("expires_in")
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            lifetime = float(expires_in)
            margin = min(TOKEN_REFRESH_MARGIN, lifetime * 0.1)
            self._refresh_at = started + lifetime - margin
        else:
            lifetime = math.inf
            self._refresh_at = math.inf
        self._token = token
        log.info(
            "Shopify at %s: new access token for client id %s (valid %s s)",
            self.url,
            self.client_id,
            "?" if math.isinf(lifetime) else f"{lifetime:.0f}",
        )
        return token

    def _forget_token(self, token: SecretStr) -> None:
        # Only the token that was refused: a concurrent call may have renewed it already.
        if self._token is token:
            self._token = None

    # -- conveniences ------------------------------------------------------------------------

    async def locations(self, *, refresh: bool = False) -> list[Location]:
        """The shop's locations (up to 250), in Shopify's order; asked once, then cached
        (``refresh=True`` asks again, e.g. as a reachability probe)."""
        if self._locations is None or refresh:
            data = await self.execute(LOCATIONS)
            nodes = _nodes(data, "locations")
            self._locations = [
                Location(_string(n, "id", "locations"), _string(n, "name", "locations"))
                for n in nodes
            ]
        return list(self._locations)

    async def location_id(self, name: str | None = None) -> str:
        """The id of the location called ``name``, or of the first location if ``None``."""
        locations = await self.locations()
        if not locations:
            raise Rejected(f"Shopify at {self.url} has no locations", field="location")
        if name is None:
            return locations[0].id
        for location in locations:
            if location.name == name:
                return location.id
        known = ", ".join(repr(loc.name) for loc in locations)
        raise Rejected(
            f"Shopify at {self.url} has no location named {name!r} (it has {known})",
            field="location",
        )

    async def variant_by_sku(self, sku: str) -> Variant | None:
        """The variant whose SKU is exactly ``sku``, or ``None``.

        Found variants are cached per SKU (a miss is not); :meth:`forget_variant` drops an
        entry, e.g. after Shopify said an id no longer exists.
        """
        if not sku:
            raise ValidationError("sku", "not empty", sku)
        cached = self._variants.get(sku)
        if cached is not None:
            return cached
        data = await self.execute(VARIANT_BY_SKU, {"query": sku_search(sku)})
        nodes = _nodes(data, "productVariants")
        if not nodes:
            return None
        variant = _variant(nodes[0])
        if variant.sku != sku:
            return None
        self._variants[sku] = variant
        return variant

    def forget_variant(self, sku: str | None = None) -> None:
        """Drop ``sku`` from the variant cache (every SKU if ``None``)."""
        if sku is None:
            self._variants.clear()
        else:
            self._variants.pop(sku, None)

    async def available(self, inventory_item_id: str, location_id: str) -> int:
        """The ``available`` quantity of an inventory item at a location.

        ``Rejected`` if the item does not exist or is not stocked at the location.
        """
        data = await self.execute(
            AVAILABLE, {"inventoryItemId": inventory_item_id, "locationId": location_id}
        )
        item = data.get("inventoryItem")
        if not isinstance(item, Mapping):
            raise Rejected(f"inventoryItem: no inventory item {inventory_item_id}")
        level = item.get("inventoryLevel")
        if not isinstance(level, Mapping):
            raise Rejected(f"inventoryItem: {inventory_item_id} is not stocked at {location_id}")
        quantities = level.get("quantities")
        if isinstance(quantities, list):
            for row in quantities:
                if isinstance(row, Mapping) and row.get("name") == "available":
                    quantity = row.get("quantity")
                    if isinstance(quantity, int) and not isinstance(quantity, bool):
                        return quantity
        raise _unexpected("inventoryLevel.quantities", quantities)

    async def set_available(
        self,
        inventory_item_id: str,
        location_id: str,
        quantity: int,
        *,
        change_from: int | None,
        idempotency_key: str,
        reason: str = "correction",
        reference: str | None = None,
    ) -> str | None:
        """Set the ``available`` quantity with ``inventorySetQuantities``.

        ``change_from`` is the quantity the caller believes Shopify holds; the change applies
        only if it still does, else :class:`~consumers.shop.errors.StaleQuantity` (code
        ``CHANGE_FROM_QUANTITY_STALE``). ``None`` is sent as an explicit ``null``: no check.
        ``idempotency_key`` goes to ``@idempotent``: the same key for a retry of the same
        change, a new key for any other (a retry with other variables under the same key is
        refused as ``IDEMPOTENCY_KEY_PARAMETER_MISMATCH``). ``reference`` is the
        ``referenceDocumentUri`` (``gid://ferry/…``). Returns the adjustment group's id, or
        ``None`` if Shopify reported none (nothing changed). Other ``userErrors`` raise
        :class:`~consumers.shop.errors.UserError`.
        """
        if not idempotency_key:
            raise ValidationError("idempotency_key", "not empty", idempotency_key)
        change: dict[str, Any] = {
            "inventoryItemId": inventory_item_id,
            "locationId": location_id,
            "quantity": quantity,
            "changeFromQuantity": change_from,
        }
        request: dict[str, Any] = {"name": "available", "reason": reason, "quantities": [change]}
        if reference is not None:
            request["referenceDocumentUri"] = reference
        data = await self.execute(SET_AVAILABLE, {"input": request, "key": idempotency_key})
        payload = raise_user_errors(data.get("inventorySetQuantities"), "inventorySetQuantities")
        group = payload.get("inventoryAdjustmentGroup")
        group_id = group.get("id") if isinstance(group, Mapping) else None
        return str(group_id) if group_id else None

    async def set_price(self, product_id: str, variant_id: str, price: Decimal) -> Decimal:
        """Set one variant's price with ``productVariantsBulkUpdate``; return the price Shopify
        reports (the one sent if it reports none). Updates the variant cache. ``userErrors``
        raise :class:`~consumers.shop.errors.UserError`."""
        if not price.is_finite():
            raise ValidationError("price", "a finite decimal", price)
        variables = {
            "productId": product_id,
            "variants": [{"id": variant_id, "price": f"{price:f}"}],
        }
        data = await self.execute(SET_PRICE, variables)
        what = "productVariantsBulkUpdate"
        payload = raise_user_errors(data.get(what), what)
        stored = price
        rows = payload.get("productVariants")
        if isinstance(rows, list):
            for row in rows:
                if isinstance(row, Mapping) and row.get("id") == variant_id:
                    stored = _decimal(row.get("price"), f"{what}.productVariants.price")
        for sku, variant in list(self._variants.items()):
            if variant.id == variant_id:
                self._variants[sku] = replace(variant, price=stored)
        return stored


def _root_field(query: str) -> str:
    match = _ROOT_FIELD.search(query)
    return match.group(1) if match else "graphql"


def _nodes(data: Mapping[str, Any], field: str) -> list[Mapping[str, Any]]:
    connection = data.get(field)
    nodes = connection.get("nodes") if isinstance(connection, Mapping) else None
    if not isinstance(nodes, list) or not all(isinstance(n, Mapping) for n in nodes):
        raise _unexpected(f"{field}.nodes", connection)
    return nodes


def _variant(node: Mapping[str, Any]) -> Variant:
    where = "productVariants"
    product = node.get("product")
    item = node.get("inventoryItem")
    if not isinstance(product, Mapping) or not isinstance(item, Mapping):
        raise _unexpected(where, node)
    return Variant(
        id=_string(node, "id", where),
        sku=_string(node, "sku", where),
        price=_decimal(node.get("price"), f"{where}.price"),
        product_id=_string(product, "id", f"{where}.product"),
        inventory_item_id=_string(item, "id", f"{where}.inventoryItem"),
    )


def _string(row: Mapping[str, Any], key: str, where: str) -> str:
    value = row.get(key)
    if not isinstance(value, str):
        raise _unexpected(f"{where}.{key}", value)
    return value


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _unexpected(where, value)
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise _unexpected(where, value) from exc
    if not result.is_finite():
        raise _unexpected(where, value)
    return result


def _unexpected(where: str, value: Any) -> Rejected:
    shown = repr(value)
    shown = shown if len(shown) <= 200 else shown[:199] + "…"
    return Rejected(f"{where}: unexpected answer from Shopify: {shown}")
