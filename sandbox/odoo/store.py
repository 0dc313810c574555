"""In-memory tables with an undo log per transaction and SQLite write-through at commit.

Every RPC call is one transaction. Changes are applied to the in-memory tables at once (so the
transaction sees its own writes); the first touch of a row keeps its original value in the undo
log. ``commit`` writes only the touched rows to SQLite, in one ``executemany`` per kind of change
and one SQLite transaction; ``rollback`` restores the originals. Savepoints stack undo layers.
Field indexes (``orm.index``) follow every change of a row, a rollback's included.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

from .orm.index import FieldIndex

Row = dict[str, Any]
Key = tuple[str, int]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (model TEXT NOT NULL, id INTEGER NOT NULL, data TEXT NOT NULL,
                                    PRIMARY KEY (model, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Store:
    def __init__(self, path: Path | None = None) -> None:
        self.tables: defaultdict[str, dict[int, Row]] = defaultdict(dict)
        self.sequences: dict[str, int] = {}
        self._layers: list[dict[Key, Row | None]] = []
        self._seq_snapshots: list[dict[str, int]] = []
        self.indexes: dict[str, dict[str, FieldIndex]] = {}
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._load()

    @property
    def persistent(self) -> bool:
        return self._db is not None

    def is_empty(self) -> bool:
        return not any(self.tables.values())

    def _load(self) -> None:
        assert self._db is not None
        for model, rec_id, data in self._db.execute("SELECT model, id, data FROM records"):
            self.tables[model][rec_id] = json.loads(data)
        for name, value in self._db.execute("SELECT name, value FROM sequences"):
            self.sequences[name] = value

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- transactions -------------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        return bool(self._layers)

    def begin(self) -> None:
        self._layers = [{}]
        self._seq_snapshots = [dict(self.sequences)]

    def savepoint(self) -> None:
        self._layers.append({})
        self._seq_snapshots.append(dict(self.sequences))

    def rollback_savepoint(self) -> None:
        self._restore(self._layers.pop())
        self.sequences = self._seq_snapshots.pop()

    def release_savepoint(self) -> None:
        top = self._layers.pop()
        self._seq_snapshots.pop()
        below = self._layers[-1]
        for key, original in top.items():
            below.setdefault(key, original)

    def rollback(self) -> None:
        while self._layers:
            self._restore(self._layers.pop())
        if self._seq_snapshots:
            self.sequences = self._seq_snapshots[0]
        self._seq_snapshots = []

    def _restore(self, layer: dict[Key, Row | None]) -> None:
        for (model, rec_id), original in layer.items():
            current = self.tables[model].get(rec_id)
            if current is not None:
                self._unindex(model, rec_id, current)
            if original is None:
                self.tables[model].pop(rec_id, None)
            else:
                self.tables[model][rec_id] = original
                self._index(model, rec_id, original)

    def commit(self) -> None:
        touched: set[Key] = set()
        for layer in self._layers:
            touched.update(layer)
        self._layers = []
        self._seq_snapshots = []
        if self._db is None or not touched:
            return
        upserts: list[tuple[str, int, str]] = []
        deletes: list[tuple[str, int]] = []
        for model, rec_id in touched:
            row = self.tables[model].get(rec_id)
            if row is None:
                deletes.append((model, rec_id))
            else:
                upserts.append((model, rec_id, json.dumps(row, separators=(",", ":"))))
        db = self._db
        db.execute("BEGIN")
        try:
            if upserts:
                db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?)", upserts)
            if deletes:
                db.executemany("DELETE FROM records WHERE model = ? AND id = ?", deletes)
            db.executemany(
                "INSERT OR REPLACE INTO sequences VALUES (?, ?)", list(self.sequences.items())
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # -- indexes ------------------------------------------------------------------------------

    def add_index(
        self, model: str, fname: str, folded: bool = False, ordered: bool = False
    ) -> None:
        """Index ``model.fname`` (built from the rows there are); kept if it exists alike."""
        per_model = self.indexes.setdefault(model, {})
        found = per_model.get(fname)
        if found is not None and (found.folded, found.ordered) == (folded, ordered):
            return
        index = per_model[fname] = FieldIndex(folded, ordered)
        for rec_id, row in self.tables[model].items():
            index.add(rec_id, row.get(fname))

    def drop_index(self, model: str, fname: str) -> None:
        self.indexes.get(model, {}).pop(fname, None)

    def index(self, model: str, fname: str) -> FieldIndex | None:
        return self.indexes.get(model, {}).get(fname)

    def _index(self, model: str, rec_id: int, row: Row) -> None:
        for fname, index in self.indexes.get(model, {}).items():
            index.add(rec_id, row.get(fname))

    def _unindex(self, model: str, rec_id: int, row: Row) -> None:
        for fname, index in self.indexes.get(model, {}).items():
            index.remove(rec_id, row.get(fname))

    # -- row operations -----------------------------------------------------------------------

    def _touch(self, model: str, rec_id: int) -> None:
        layer = self._layers[-1]
        key = (model, rec_id)
        if key not in layer:
            row = self.tables[model].get(rec_id)
            layer[key] = None if row is None else dict(row)

    def next_id(self, model: str) -> int:
        value = self.sequences.get(model, 0) + 1
        self.sequences[model] = value
        return value

    def next_value(self, name: str) -> int:
        return self.next_id("seq:" + name)

    def insert(self, model: str, row: Row) -> int:
        rec_id = self.next_id(model)
        self.insert_with_id(model, rec_id, row)
        return rec_id

    def insert_with_id(self, model: str, rec_id: int, row: Row) -> None:
        self._touch(model, rec_id)
        current = self.tables[model].get(rec_id)
        if current is not None:
            self._unindex(model, rec_id, current)
        row["id"] = rec_id
        self.tables[model][rec_id] = row
        self._index(model, rec_id, row)
        if self.sequences.get(model, 0) < rec_id:
            self.sequences[model] = rec_id

    def update(self, model: str, rec_id: int, values: Row) -> None:
        self._touch(model, rec_id)
        row = self.tables[model][rec_id]
        for fname, index in self.indexes.get(model, {}).items():
            if fname in values:
                old, new = row.get(fname), values[fname]
                if old != new or type(old) is not type(new):
                    index.remove(rec_id, old)
                    index.add(rec_id, new)
        row.update(values)

    def delete(self, model: str, rec_id: int) -> None:
        self._touch(model, rec_id)
        row = self.tables[model].pop(rec_id, None)
        if row is not None:
            self._unindex(model, rec_id, row)

    def drop_field(self, model: str, fname: str) -> None:
        """``ALTER TABLE ... DROP COLUMN``: the field's values leave every row."""
        for rec_id, row in self.tables[model].items():
            if fname in row:
                self._touch(model, rec_id)
                self._unindex(model, rec_id, row)
                del row[fname]
                self._index(model, rec_id, row)

    def rename_field(self, model: str, old: str, new: str) -> None:
        """``ALTER TABLE ... RENAME COLUMN``: every row's value moves to the new name."""
        for rec_id, row in self.tables[model].items():
            if old in row:
                self._touch(model, rec_id)
                self._unindex(model, rec_id, row)
                row[new] = row.pop(old)
                self._index(model, rec_id, row)

    def clear(self) -> None:
        self.tables.clear()
        self.sequences.clear()
        for per_model in self.indexes.values():
            for index in per_model.values():
                index.clear()
        self._layers = []
        self._seq_snapshots = []
        if self._db is not None:
            self._db.execute("DELETE FROM records")
            self._db.execute("DELETE FROM sequences")
