"""The registry: model classes built for one Odoo version, unique indexes, transactions."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ..exceptions import SerializationFailure, ValidationError
from . import manual
from .fields import X2MANY, Field
from .model import BaseModel, Env

if TYPE_CHECKING:
    from ..store import Store

T = TypeVar("T")
MAX_TRIES_ON_CONCURRENCY_FAILURE = 5


class Listener(Protocol):
    def __call__(self, env: Env, model: str, ids: list[int], event: str) -> None: ...


class UniqueIndex:
    """One unique constraint kept as a dict from key to id (NULLs never collide)."""

    def __init__(self, model: BaseModel, name: str, fields: tuple[str, ...], message: str | None):
        self.model_name = model.name
        self.name = name
        self.fields = fields
        self.message = message
        self.index: dict[tuple[Any, ...], int] = {}
        for rec_id, row in model.table.items():
            key = self.key(row)
            if key is not None:
                self.index[key] = rec_id

    def key(self, row: dict[str, Any]) -> tuple[Any, ...] | None:
        key = tuple(row.get(f) for f in self.fields)
        if any(v is False or v is None for v in key):
            return None
        return key

    def _violation(self, key: tuple[Any, ...]) -> ValidationError:
        if self.message:
            return ValidationError(f"The operation cannot be completed: {self.message}")
        cols = ", ".join(self.fields)
        vals = ", ".join(str(v) for v in key)
        return ValidationError(
            "The operation cannot be completed: duplicate key value violates unique constraint "
            f'"{self.name}"\nDETAIL:  Key ({cols})=({vals}) already exists.\n'
        )

    def check_insert(self, row: dict[str, Any]) -> None:
        key = self.key(row)
        if key is not None and key in self.index:
            raise self._violation(key)

    def add(self, row: dict[str, Any], rec_id: int) -> None:
        key = self.key(row)
        if key is not None:
            self.index[key] = rec_id

    def check_update(self, old: dict[str, Any], new: dict[str, Any], rec_id: int) -> None:
        key = self.key(new)
        if key is not None and self.index.get(key, rec_id) != rec_id:
            raise self._violation(key)

    def move(self, old: dict[str, Any], new: dict[str, Any], rec_id: int) -> None:
        self.remove(old, rec_id)
        self.add(new, rec_id)

    def remove(self, row: dict[str, Any], rec_id: int) -> None:
        key = self.key(row)
        if key is not None and self.index.get(key) == rec_id:
            del self.index[key]


def parse_major(version: str) -> int:
    return int(str(version).split(".")[0].replace("saas~", ""))


class Registry:
    def __init__(
        self,
        model_classes: list[type[BaseModel]],
        store: Store,
        version: str = "18.0",
        serialization_failures: Callable[[], bool] | None = None,
    ) -> None:
        self.version = version
        self.major = parse_major(version)
        self.store = store
        self.lock = threading.RLock()
        self.listeners: list[Listener] = []
        self._serialization_failure = serialization_failures or (lambda: False)
        self._indexes: dict[tuple[str, str], UniqueIndex] = {}
        self.models: dict[str, type[BaseModel]] = {}
        # the fields each model declares, and the custom fields it carries on top of them
        self.base_fields: dict[str, dict[str, Field]] = {}
        self.manual_fields: dict[str, dict[str, Field]] = {}
        fields_by_model: dict[str, dict[str, Any]] = {}
        pending = list(model_classes)
        while pending:
            cls = pending.pop(0)
            if any(p not in fields_by_model for p in cls._inherits):
                pending.append(cls)
                continue
            fields = cls.build_fields(self.major, fields_by_model)
            fields_by_model[cls._name] = fields
            self.base_fields[cls._name] = fields
            self.models[cls._name] = type(cls.__name__, (cls,), {"fields_map": dict(fields)})
        # (referencing model, field, ondelete, type) per referenced model
        self.references: dict[str, list[tuple[str, str, str, str]]] = {}
        for name, cls in self.models.items():
            for fname, fld in cls.fields_map.items():
                if fld.stored and fld.relation and fld.type in ("many2one", "many2many"):
                    self.references.setdefault(fld.relation, []).append(
                        (name, fname, fld.ondelete, fld.type)
                    )
        self.sync_manual_fields()

    # -- unique indexes -----------------------------------------------------------------------

    def unique_indexes(self, model: BaseModel) -> list[UniqueIndex]:
        out = []
        for name, fields, message in model._unique:
            key = (model.name, name)
            index = self._indexes.get(key)
            if index is None:
                index = self._indexes[key] = UniqueIndex(model, name, fields, message)
            out.append(index)
        return out

    def invalidate(self) -> None:
        """After a rollback: drop what was derived from rows that may have changed back."""
        self._indexes.clear()
        self.sync_manual_fields()

    # -- custom fields ------------------------------------------------------------------------

    def sync_manual_fields(self) -> None:
        """Give every model the custom fields its ``ir.model.fields`` rows describe (and only
        those); the models that inherit one by delegation (``_inherits``) get it too."""
        wanted = manual.declared(self.store)
        changed = {
            name
            for name in set(wanted) | set(self.manual_fields)
            if wanted.get(name) != self.manual_fields.get(name)
        }
        if not changed:
            return
        self.manual_fields = wanted
        for name, cls in self.models.items():
            if name in changed or changed.intersection(cls._inherits):
                self._rebuild_fields(cls)

    def _rebuild_fields(self, cls: type[BaseModel]) -> None:
        fields = dict(self.base_fields[cls._name])
        for parent, link in cls._inherits.items():
            for fname, pfld in self.manual_fields.get(parent, {}).items():
                if fname not in fields:
                    fields[fname] = Field(**{**pfld.__dict__, "delegated_to": link})
        fields.update(self.manual_fields.get(cls._name, {}))
        cls.fields_map = fields
        if "_meta_cache" in cls.__dict__:
            del cls._meta_cache  # type: ignore[attr-defined]

    # -- change listeners (automation webhooks) -------------------------------------------------

    def notify(self, env: Env, model: str, ids: list[int], event: str) -> None:
        for listener in self.listeners:
            listener(env, model, ids, event)

    # -- transactions -------------------------------------------------------------------------

    def now(self) -> str:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")

    def run(self, uid: int, context: dict[str, Any] | None, func: Callable[[Env], T]) -> T:
        """Run ``func`` in one transaction, retried like Odoo on serialization failures."""
        for attempt in range(1, MAX_TRIES_ON_CONCURRENCY_FAILURE + 1):
            with self.lock:
                env = Env(self, uid, context, self.now())
                self.store.begin()
                try:
                    result = func(env)
                    if self._serialization_failure():
                        raise SerializationFailure()
                    self.store.commit()
                    return result
                except SerializationFailure:
                    self.store.rollback()
                    self.invalidate()
                    if attempt == MAX_TRIES_ON_CONCURRENCY_FAILURE:
                        raise
                except BaseException:
                    self.store.rollback()
                    self.invalidate()
                    raise
            # Odoo waits random.uniform(0, 2**attempt) s; scaled down for a sandbox.
            time.sleep(random.uniform(0.0, 0.01 * 2**attempt))
        raise AssertionError("unreachable")

    def savepoint(self, func: Callable[[], T]) -> T:
        self.store.savepoint()
        try:
            result = func()
        except BaseException:
            self.store.rollback_savepoint()
            self.invalidate()
            raise
        self.store.release_savepoint()
        return result


def is_x2many(ftype: str) -> bool:
    return ftype in X2MANY
