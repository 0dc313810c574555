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
    """One unique constraint, checked through the store's indexes of its fields (NULLs never
    collide). It holds no state of its own, so a rollback leaves nothing to rebuild."""

    def __init__(
        self, store: Store, model: str, name: str, fields: tuple[str, ...], message: str | None
    ) -> None:
        self.store = store
        self.model_name = model
        self.name = name
        self.fields = fields
        self.message = message

    def key(self, row: dict[str, Any]) -> tuple[Any, ...] | None:
        key = tuple(row.get(f) for f in self.fields)
        if any(v is False or v is None for v in key):
            return None
        return key

    def holders(self, key: tuple[Any, ...]) -> list[int]:
        """The ids of the rows with this key, lowest first."""
        indexes = [self.store.index(self.model_name, f) for f in self.fields]
        probes = [
            index.probe_equal([value])
            for index, value in zip(indexes, key, strict=True)
            if index is not None
        ]
        table = self.store.tables[self.model_name]
        candidates = min(probes, key=lambda p: p.size).fetch() if probes else set(table)
        return sorted(i for i in candidates if i in table and self.key(table[i]) == key)

    def find(self, key: tuple[Any, ...]) -> int | None:
        found = self.holders(key)
        return found[0] if found else None

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
        if key is not None and self.holders(key):
            raise self._violation(key)

    def check_update(self, old: dict[str, Any], new: dict[str, Any], rec_id: int) -> None:
        key = self.key(new)
        if key is not None and any(i != rec_id for i in self.holders(key)):
            raise self._violation(key)


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
        # the many2one fields rows are looked up by: one2many inverses, _inherits links
        self._linked: dict[str, set[str]] = {}
        for name, cls in self.models.items():
            for parent_link in cls._inherits.values():
                self._linked.setdefault(name, set()).add(parent_link)
            for fld in cls.fields_map.values():
                if fld.type == "one2many" and fld.relation and fld.inverse_name:
                    self._linked.setdefault(fld.relation, set()).add(fld.inverse_name)
        self._uniques: dict[str, list[UniqueIndex]] = {
            name: [UniqueIndex(store, name, c, fields, msg) for c, fields, msg in cls._unique]
            for name, cls in self.models.items()
        }
        for cls in self.models.values():
            self._apply_indexes(cls)
        self.sync_manual_fields()

    # -- unique indexes -----------------------------------------------------------------------

    def unique_indexes(self, model: BaseModel) -> list[UniqueIndex]:
        return self._uniques.get(model.name, [])

    def invalidate(self) -> None:
        """After a rollback: the custom fields follow their rows back."""
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
        self._apply_indexes(cls)

    def _apply_indexes(self, cls: type[BaseModel]) -> None:
        """Have the store index what ``index_plan`` says for the model, and nothing else."""
        plan = index_plan(cls, self._linked.get(cls._name, set()))
        for fname in [f for f in self.store.indexes.get(cls._name, {}) if f not in plan]:
            self.store.drop_index(cls._name, fname)
        for fname, (folded, ordered) in plan.items():
            self.store.add_index(cls._name, fname, folded, ordered)

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


def index_plan(cls: type[BaseModel], linked: set[str]) -> dict[str, tuple[bool, bool]]:
    """The fields of a model the store indexes, each with (folded, ordered): those declared
    ``index=True``, the many2one fields in ``linked`` (the inverse of a one2many, the link to an
    ``_inherits`` parent: what the ORM looks rows up by) and the fields of unique constraints.
    Text fields are also indexed case-folded, datetimes in order."""
    plan: dict[str, tuple[bool, bool]] = {}
    for fname, fld in cls.fields_map.items():
        if not fld.stored or fld.type in X2MANY:
            continue
        if fld.index or (fld.type == "many2one" and fname in linked):
            plan[fname] = (fld.type in ("char", "text", "html"), fld.type == "datetime")
    for _name, fields, _message in cls._unique:
        for fname in fields:
            plan.setdefault(fname, (False, False))
    return plan


def is_x2many(ftype: str) -> bool:
    return ftype in X2MANY
