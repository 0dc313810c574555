"""The shop's state in SQLite: in memory, or in ``<data-dir>/shop.sqlite3`` so that it survives a
restart. One lock serialises every access (the server thread and the webhook sender share it);
``transaction()`` makes a group of writes atomic."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS products (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS variants (
    id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL, sku TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL, price TEXT NOT NULL, inventory_item_id INTEGER NOT NULL UNIQUE,
    updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS locations (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS levels (
    inventory_item_id INTEGER NOT NULL, location_id INTEGER NOT NULL, on_hand INTEGER NOT NULL,
    committed INTEGER NOT NULL, PRIMARY KEY (inventory_item_id, location_id));
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, result TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY, payload TEXT NOT NULL, committed INTEGER NOT NULL,
    fulfilled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS deliveries (
    webhook_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, event_id TEXT NOT NULL,
    topic TEXT NOT NULL, url TEXT NOT NULL, body BLOB NOT NULL, triggered_at TEXT NOT NULL,
    attempts INTEGER NOT NULL, state TEXT NOT NULL, last_status INTEGER, last_error TEXT,
    next_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (digest TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_DATA_TABLES = ("products", "variants", "locations", "levels", "idempotency", "orders")


@dataclass(frozen=True)
class Variant:
    id: int
    product_id: int
    product_title: str
    sku: str
    title: str
    price: str
    inventory_item_id: int
    updated_at: str


@dataclass(frozen=True)
class Location:
    id: int
    name: str


@dataclass(frozen=True)
class Level:
    inventory_item_id: int
    location_id: int
    on_hand: int
    committed: int

    @property
    def available(self) -> int:
        return self.on_hand - self.committed


@dataclass(frozen=True)
class StoredOrder:
    payload: dict[str, Any]
    committed: bool  # its quantities were committed at the location (not bypassed)
    fulfilled: bool


@dataclass(frozen=True)
class Delivery:
    webhook_id: str
    event_id: str
    topic: str
    url: str
    body: bytes
    triggered_at: str
    attempts: int
    state: str  # pending, delivered, failed
    last_status: int | None
    last_error: str | None
    next_at: float


_VARIANT_SQL = (
    "SELECT v.id, v.product_id, p.title, v.sku, v.title, v.price, v.inventory_item_id,"
    " v.updated_at FROM variants v JOIN products p ON p.id = v.product_id"
)
_DELIVERY_SQL = (
    "SELECT webhook_id, event_id, topic, url, body, triggered_at, attempts, state,"
    " last_status, last_error, next_at FROM deliveries"
)


class Store:
    def __init__(self, path: Path | None = None) -> None:
        self.lock = threading.RLock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        target = str(path) if path is not None else ":memory:"
        self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._depth = 0

    def close(self) -> None:
        with self.lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Atomic writes; nested uses join the outer transaction."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    def _all(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with self.lock:
            return self._db.execute(sql, params).fetchall()

    def _one(self, sql: str, *params: Any) -> tuple[Any, ...] | None:
        with self.lock:
            row: tuple[Any, ...] | None = self._db.execute(sql, params).fetchone()
            return row

    def _run(self, sql: str, *params: Any) -> None:
        with self.lock:
            self._db.execute(sql, params)

    def is_empty(self) -> bool:
        return self._one("SELECT 1 FROM variants LIMIT 1") is None

    def clear(self) -> None:
        with self.transaction():
            for table in (*_DATA_TABLES, "deliveries", "counters"):
                self._run(f"DELETE FROM {table}")  # noqa: S608  # fixed table names

    # -- catalogue ------------------------------------------------------------------------------

    def add_product(self, product_id: int, title: str) -> None:
        self._run("INSERT INTO products VALUES (?, ?)", product_id, title)

    def add_variant(self, variant: Variant) -> None:
        self._run(
            "INSERT INTO variants VALUES (?, ?, ?, ?, ?, ?, ?)",
            variant.id,
            variant.product_id,
            variant.sku,
            variant.title,
            variant.price,
            variant.inventory_item_id,
            variant.updated_at,
        )

    def add_location(self, location: Location) -> None:
        self._run("INSERT INTO locations VALUES (?, ?)", location.id, location.name)

    def variants(self) -> list[Variant]:
        return [Variant(*row) for row in self._all(f"{_VARIANT_SQL} ORDER BY v.id")]

    def variant(self, variant_id: int) -> Variant | None:
        row = self._one(f"{_VARIANT_SQL} WHERE v.id = ?", variant_id)
        return Variant(*row) if row else None

    def variant_by_sku(self, sku: str) -> Variant | None:
        row = self._one(f"{_VARIANT_SQL} WHERE v.sku = ?", sku)
        return Variant(*row) if row else None

    def variant_by_item(self, inventory_item_id: int) -> Variant | None:
        row = self._one(f"{_VARIANT_SQL} WHERE v.inventory_item_id = ?", inventory_item_id)
        return Variant(*row) if row else None

    def product_title(self, product_id: int) -> str | None:
        row = self._one("SELECT title FROM products WHERE id = ?", product_id)
        return str(row[0]) if row else None

    def set_price(self, variant_id: int, price: str, updated_at: str) -> None:
        self._run(
            "UPDATE variants SET price = ?, updated_at = ? WHERE id = ?",
            price,
            updated_at,
            variant_id,
        )

    def locations(self) -> list[Location]:
        return [Location(*row) for row in self._all("SELECT id, name FROM locations ORDER BY id")]

    def location(self, location_id: int) -> Location | None:
        row = self._one("SELECT id, name FROM locations WHERE id = ?", location_id)
        return Location(*row) if row else None

    # -- inventory ------------------------------------------------------------------------------

    def level(self, inventory_item_id: int, location_id: int) -> Level | None:
        row = self._one(
            "SELECT * FROM levels WHERE inventory_item_id = ? AND location_id = ?",
            inventory_item_id,
            location_id,
        )
        return Level(*row) if row else None

    def put_level(self, level: Level) -> None:
        self._run(
            "INSERT OR REPLACE INTO levels VALUES (?, ?, ?, ?)",
            level.inventory_item_id,
            level.location_id,
            level.on_hand,
            level.committed,
        )

    # -- counters, idempotency keys, orders -----------------------------------------------------

    def next_value(self, name: str, first: int = 1) -> int:
        with self.transaction():
            row = self._one("SELECT value FROM counters WHERE name = ?", name)
            value = int(row[0]) + 1 if row else first
            self._run("INSERT OR REPLACE INTO counters VALUES (?, ?)", name, value)
            return value

    def idempotent_result(self, key: str) -> tuple[str, dict[str, Any]] | None:
        row = self._one("SELECT fingerprint, result FROM idempotency WHERE key = ?", key)
        return (str(row[0]), json.loads(row[1])) if row else None

    def remember_result(self, key: str, fingerprint: str, result: dict[str, Any]) -> None:
        self._run("INSERT INTO idempotency VALUES (?, ?, ?)", key, fingerprint, json.dumps(result))

    def add_order(self, order_id: int, payload: dict[str, Any], committed: bool) -> None:
        self._run(
            "INSERT INTO orders (id, payload, committed) VALUES (?, ?, ?)",
            order_id,
            json.dumps(payload),
            int(committed),
        )

    def order(self, order_id: int) -> StoredOrder | None:
        row = self._one("SELECT payload, committed, fulfilled FROM orders WHERE id = ?", order_id)
        return StoredOrder(json.loads(row[0]), bool(row[1]), bool(row[2])) if row else None

    def orders(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self._all("SELECT payload FROM orders ORDER BY id")]

    def mark_fulfilled(self, order_id: int, payload: dict[str, Any]) -> None:
        self._run(
            "UPDATE orders SET fulfilled = 1, payload = ? WHERE id = ?",
            json.dumps(payload),
            order_id,
        )

    # -- webhook deliveries ---------------------------------------------------------------------

    def add_delivery(self, delivery: Delivery) -> None:
        seq = self.next_value("delivery")
        self._run(
            "INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            delivery.webhook_id,
            seq,
            delivery.event_id,
            delivery.topic,
            delivery.url,
            delivery.body,
            delivery.triggered_at,
            delivery.attempts,
            delivery.state,
            delivery.last_status,
            delivery.last_error,
            delivery.next_at,
        )

    def deliveries(self, state: str | None = None) -> list[Delivery]:
        if state is None:
            rows = self._all(f"{_DELIVERY_SQL} ORDER BY seq")
        else:
            rows = self._all(f"{_DELIVERY_SQL} WHERE state = ? ORDER BY seq", state)
        return [Delivery(*row) for row in rows]

    def update_delivery(
        self,
        webhook_id: str,
        *,
        attempts: int,
        state: str,
        last_status: int | None,
        last_error: str | None,
        next_at: float,
    ) -> None:
        self._run(
            "UPDATE deliveries SET attempts = ?, state = ?, last_status = ?, last_error = ?,"
            " next_at = ? WHERE webhook_id = ?",
            attempts,
            state,
            last_status,
            last_error,
            next_at,
            webhook_id,
        )

    # -- access tokens (only their SHA-256 is kept) ---------------------------------------------

    def add_token(self, digest: str, expires_at: float) -> None:
        self._run("INSERT OR REPLACE INTO tokens VALUES (?, ?)", digest, expires_at)

    def token_expiry(self, digest: str) -> float | None:
        row = self._one("SELECT expires_at FROM tokens WHERE digest = ?", digest)
        return float(row[0]) if row else None

    def expire_tokens(self, now: float) -> None:
        self._run("UPDATE tokens SET expires_at = ? WHERE expires_at > ?", now, now)

    def drop_expired_tokens(self, before: float) -> None:
        self._run("DELETE FROM tokens WHERE expires_at < ?", before)
