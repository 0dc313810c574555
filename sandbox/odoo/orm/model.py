"""The model base: Odoo's public ORM methods over the in-memory store.

Public (RPC-callable) methods carry ``@api_model`` (called on the model, no ids) or
``@api_records`` (the first positional argument is the ids). Everything else is unreachable
remotely: underscore names are refused with AccessError, others are "does not exist".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ..exceptions import MissingError, ValidationError
from . import commands, domain, plan
from .fields import X2MANY, Field, to_read, to_storage
from .fields import Char as _Char
from .fields import Datetime as _Datetime
from .fields import Integer as _Integer
from .fields import Many2one as _Many2one
from .index import Probe
from .order import parse_order, sort_ids

if TYPE_CHECKING:
    from ..store import Store
    from .registry import Registry

F = TypeVar("F", bound=Callable[..., Any])
LOG_ACCESS = ("create_uid", "create_date", "write_uid", "write_date")


def api_model(func: F) -> F:
    func._rpc = "model"  # type: ignore[attr-defined]
    return func


def api_records(func: F) -> F:
    func._rpc = "records"  # type: ignore[attr-defined]
    return func


class Env:
    """One transaction's view: who calls, with what context, at what time (``now``)."""

    def __init__(
        self, registry: Registry, uid: int, context: dict[str, Any] | None, now: str
    ) -> None:
        self.registry = registry
        self.uid = uid
        self.context: dict[str, Any] = dict(context or {})
        self.now = now

    @property
    def store(self) -> Store:
        return self.registry.store

    @property
    def major(self) -> int:
        return self.registry.major

    def __getitem__(self, model_name: str) -> BaseModel:
        cls = self.registry.models.get(model_name)
        if cls is None:
            raise KeyError(model_name)
        return cls(self)

    def __contains__(self, model_name: str) -> bool:
        return model_name in self.registry.models

    def with_context(self, **overrides: Any) -> Env:
        return Env(self.registry, self.uid, {**self.context, **overrides}, self.now)


class BaseModel:
    _name: ClassVar[str] = ""
    _description: ClassVar[str] = ""
    _order: ClassVar[str] = "id"
    _rec_name: ClassVar[str | None] = "name"
    _parent_name: ClassVar[str] = "parent_id"
    _inherits: ClassVar[dict[str, str]] = {}
    # (constraint name, fields, message or None for a raw PostgreSQL message)
    _unique: ClassVar[list[tuple[str, tuple[str, ...], str | None]]] = []
    # (constraint name, whether a row satisfies it, message): PostgreSQL CHECK constraints
    _checks: ClassVar[list[tuple[str, Callable[[dict[str, Any]], bool], str]]] = []
    fields_map: ClassVar[dict[str, Field]] = {}

    def __init__(self, env: Env) -> None:
        self.env = env

    # -- declaration ----------------------------------------------------------------------------

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        """The model's own fields for Odoo ``major``; subclasses extend the parent's dict."""
        return {}

    @classmethod
    def build_fields(cls, major: int, parents: dict[str, dict[str, Field]]) -> dict[str, Field]:
        declared = cls.declare_fields(major)
        result: dict[str, Field] = {
            "id": _Integer("ID", readonly=True),
            "display_name": _Char("Display Name", readonly=True, compute=_display_name),
            "create_uid": _Many2one("res.users", "Created by", readonly=True),
            "create_date": _Datetime("Created on", readonly=True),
            "write_uid": _Many2one("res.users", "Last Updated by", readonly=True),
            "write_date": _Datetime("Last Updated on", readonly=True, index=True),
        }
        for parent_model, link in cls._inherits.items():
            for fname, pfld in parents[parent_model].items():
                if fname in result or fname in declared:
                    continue
                clone = Field(**{**pfld.__dict__, "delegated_to": link, "compute": None})
                result[fname] = clone
        result.update(declared)
        for fname, fld in result.items():
            fld.name = fname
        return result

    @property
    def name(self) -> str:
        return self._name

    @property
    def parent_name(self) -> str:
        return self._parent_name

    @property
    def table(self) -> dict[int, dict[str, Any]]:
        return self.env.store.tables[self._name]

    @property
    def context(self) -> dict[str, Any]:
        return self.env.context

    def with_context(self, **overrides: Any) -> BaseModel:
        return type(self)(self.env.with_context(**overrides))

    def _repr(self, ids: Iterable[int]) -> str:
        return f"{self._name}{tuple(ids)!r}"

    # -- values ---------------------------------------------------------------------------------

    def values(self, ids: Iterable[int], fname: str) -> dict[int, Any]:
        """Raw values of one field (stored form) for the existing ``ids``."""
        fld = self.fields_map[fname]
        table = self.table
        if fld.delegated_to:
            links = {i: table[i].get(fld.delegated_to) for i in ids if i in table}
            parent = self.env[self.fields_map[fld.delegated_to].relation or ""]
            pvalues = parent.values({p for p in links.values() if p}, fname)
            return {i: pvalues.get(p, False) if p else False for i, p in links.items()}
        if fname == "display_name":
            present = [i for i in ids if i in table]
            return self.compute_display_name(present) if present else {}
        if fld.compute is not None:
            present = [i for i in ids if i in table]
            return fld.compute(self.env, present) if present else {}
        if fld.type == "one2many":
            assert fld.relation is not None
            assert fld.inverse_name is not None
            wanted = {i for i in ids if i in table}
            grouped: dict[int, list[int]] = {i: [] for i in wanted}
            comodel = self.env[fld.relation]
            children = comodel.ids_where(fld.inverse_name, wanted)
            if "active" in comodel.fields_map:
                children = comodel.search_ids([], within=children)
            for cid in children:
                owner = comodel.table[cid].get(fld.inverse_name)
                if owner in grouped:
                    grouped[owner].append(cid)
            return {i: sorted(v) for i, v in grouped.items()}
        if fname == "id":
            return {i: i for i in ids if i in table}
        return {i: table[i].get(fname, False) for i in ids if i in table}

    def display_names(self, ids: Iterable[int]) -> dict[int, str]:
        wanted = [i for i in ids if i]
        if not wanted:
            return {}
        return self.compute_display_name(wanted)

    def compute_display_name(self, ids: list[int]) -> dict[int, str]:
        rec_name = self._rec_name
        if rec_name and rec_name in self.fields_map:
            vals = self.values(ids, rec_name)
            return {i: str(v) if v else "" for i, v in vals.items()}
        return {i: f"{self._name},{i}" for i in ids if i in self.table}

    # -- search ---------------------------------------------------------------------------------

    def search_ids(self, dom: Any, within: set[int] | None = None) -> set[int]:
        """The ids (among ``within``, else all) that ``dom`` matches, archived ones left out
        unless the context's ``active_test`` is false or the domain speaks of ``active``."""
        dom = list(dom or [])
        if (
            "active" in self.fields_map
            and self.context.get("active_test", True)
            and not domain.mentions(dom, "active")
        ):
            dom = [("active", "=", True), *dom]
        tree = domain.parse(dom)
        return plan.evaluate(self, tree, within)

    def search_probe(self, fname: str, operator: str, right: Any) -> Probe | None:
        """Hook: the candidates of a leaf on a computed field, if the model can tell them."""
        return None

    def ids_where(self, fname: str, values: Iterable[Any]) -> set[int]:
        """The ids whose stored ``fname`` is one of ``values`` (ids, codes: no unset values),
        through the field's index when it has one."""
        wanted = set(values)
        index = self.env.store.index(self._name, fname)
        if index is not None and not index.ordered and all(wanted):
            return index.equal(wanted)
        return {i for i, row in self.table.items() if row.get(fname) in wanted}

    def search_list(
        self, dom: Any, offset: int = 0, limit: int | None = None, order: str | None = None
    ) -> list[int]:
        ids = self.search_ids(dom)
        ordered = self.sort(ids, order or self._order)
        start = int(offset or 0)
        if limit:
            return ordered[start : start + int(limit)]
        return ordered[start:] if start else ordered

    def sort(self, ids: Iterable[int], order: str) -> list[int]:
        terms = parse_order(order, self._name)
        ids = list(ids)
        if not terms or (len(terms) == 1 and terms[0].field == "id"):
            return sorted(ids, reverse=bool(terms and terms[0].descending))
        columns = []
        for term in terms:
            fld = self.fields_map.get(term.field)
            if fld is None:
                raise ValueError(f"Invalid field {term.field!r} on model {self._name!r}")
            column = self.values(ids, term.field)
            if fld.type == "many2one" and fld.relation:
                names = self.env[fld.relation].display_names(set(column.values()) - {False})
                column = {i: names.get(v, False) if v else False for i, v in column.items()}
            columns.append(column)
        return sort_ids(sorted(ids), terms, columns)

    def name_search_ids(self, name: str, operator: str = "ilike") -> set[int]:
        rec_name = self._rec_name if self._rec_name in self.fields_map else "display_name"
        return self.search_ids([(rec_name, operator, name)])

    # -- existence ------------------------------------------------------------------------------

    def check_exists(self, ids: Iterable[int]) -> None:
        table = self.table
        missing = [i for i in ids if i not in table]
        if missing:
            raise MissingError(
                "Record does not exist or has been deleted.\n"
                f"(Record: {self._repr(missing)}, User: {self.env.uid})"
            )

    # -- write path -----------------------------------------------------------------------------

    def _split_vals(
        self, vals: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, Any], dict[str, Any]]:
        """(stored values, values per delegated parent link, x2many values, inverse values)."""
        stored: dict[str, Any] = {}
        delegated: dict[str, dict[str, Any]] = {}
        x2many: dict[str, Any] = {}
        inverse: dict[str, Any] = {}
        for key, value in vals.items():
            fld = self.fields_map.get(key)
            if fld is None:
                raise ValueError(f"Invalid field {key!r} on model {self._name!r}")
            if key == "id" or key in LOG_ACCESS or key == "display_name":
                continue
            if fld.delegated_to:
                delegated.setdefault(fld.delegated_to, {})[key] = value
            elif fld.compute is not None:
                if fld.inverse is not None:
                    inverse[key] = value
            elif fld.type in X2MANY:
                x2many[key] = value
            else:
                stored[key] = to_storage(fld, self._name, value)
        return stored, delegated, x2many, inverse

    @classmethod
    def _meta(cls) -> dict[str, Any]:
        """Per-class facts computed once: defaults, required and many2one fields."""
        meta: dict[str, Any] | None = cls.__dict__.get("_meta_cache")
        if meta is None:
            stored = {n: f for n, f in cls.fields_map.items() if f.stored}
            meta = {
                "static_defaults": {
                    n: f.default
                    for n, f in stored.items()
                    if f.default is not None and not callable(f.default)
                },
                "callable_defaults": {
                    n: f.default for n, f in stored.items() if callable(f.default)
                },
                "required": [
                    n
                    for n, f in stored.items()
                    if f.required
                    and f.type not in (*X2MANY, "integer", "float", "monetary", "boolean")
                ],
                "many2one": [n for n, f in stored.items() if f.type == "many2one"],
            }
            cls._meta_cache = meta  # type: ignore[attr-defined]
        return meta

    def _check_references(self, row: dict[str, Any]) -> None:
        fields_map = self.fields_map
        for key in self._meta()["many2one"]:
            value = row.get(key)
            if not value:
                continue
            fld = fields_map[key]
            relation = fld.relation
            if relation:
                if value in self.env.store.tables[relation]:
                    continue
                raise ValidationError(
                    "The operation cannot be completed: another model requires the record "
                    "being deleted. If possible, archive it instead.\n\n"
                    f"Model: {self._description} ({self._name})\n"
                    f"Constraint: {self._name.replace('.', '_')}_{key}_fkey\n"
                )

    def _check_constraints(self, row: dict[str, Any]) -> None:
        for _name, satisfied, message in self._checks:
            if not satisfied(row):
                raise ValidationError(f"The operation cannot be completed: {message}")

    def _not_null(self, fname: str) -> ValidationError:
        fld = self.fields_map[fname]
        return ValidationError(
            "The operation cannot be completed:\n"
            "- Create/update: a mandatory field is not set.\n"
            "- Delete: another model requires the record being deleted. If possible, archive it "
            "instead.\n\n"
            f"Model: {self._description} ({self._name})\n"
            f"Field: {fld.string} ({fname})\n"
        )

    def _defaults(self) -> dict[str, Any]:
        meta = self._meta()
        out = dict(meta["static_defaults"])
        for fname, func in meta["callable_defaults"].items():
            out[fname] = func(self.env)
        return out

    def prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        """Hook: adjust one record's values before it is created."""
        return vals

    def after_create(self, ids: list[int]) -> None:
        """Hook: run once the records exist."""

    def before_write(self, ids: list[int], vals: dict[str, Any]) -> None:
        """Hook: refuse a write before anything changes."""

    def after_write(self, ids: list[int], vals: dict[str, Any]) -> None:
        """Hook: run after a write."""

    def before_unlink(self, ids: list[int]) -> None:
        """Hook: refuse or prepare an unlink."""

    def create_records(self, vals_list: list[dict[str, Any]]) -> list[int]:
        store = self.env.store
        env = self.env
        ids: list[int] = []
        defaults = {
            k: to_storage(self.fields_map[k], self._name, v) for k, v in self._defaults().items()
        }
        required = self._meta()["required"]
        uniques = self.env.registry.unique_indexes(self) if self._unique else []
        for raw in vals_list:
            if not isinstance(raw, dict):
                raise ValueError(f"Invalid value for create on {self._name}: {raw!r}")
            vals = self.prepare_create(dict(raw))
            stored, delegated, x2many, inverse = self._split_vals(vals)
            for link, parent_vals in delegated.items():
                if stored.get(link):
                    self.env[self.fields_map[link].relation or ""].write_ids(
                        [stored[link]], parent_vals
                    )
            for link in self._inherits.values():
                if not stored.get(link):
                    parent = self.env[self.fields_map[link].relation or ""]
                    stored[link] = parent.create_records([delegated.get(link, {})])[0]
            row = {**defaults, **stored}
            for fname in required:
                if not row.get(fname):
                    raise self._not_null(fname)
            self._check_references(row)
            self._check_constraints(row)
            row["create_uid"] = row["write_uid"] = env.uid
            row["create_date"] = row["write_date"] = env.now
            for constraint in uniques:
                constraint.check_insert(row)
            rec_id = store.insert(self._name, row)
            for key, value in x2many.items():
                commands.apply(self, rec_id, self.fields_map[key], value)
            for key, value in inverse.items():
                inv = self.fields_map[key].inverse
                assert inv is not None
                inv(env, rec_id, value)
            ids.append(rec_id)
        self.after_create(ids)
        self.env.registry.notify(env, self._name, ids, "create")
        return ids

    def write_ids(self, ids: list[int], vals: dict[str, Any]) -> None:
        if not ids:
            return
        self.check_exists(ids)
        self.before_write(ids, vals)
        env = self.env
        store = env.store
        stored, delegated, x2many, inverse = self._split_vals(dict(vals))
        for link, parent_vals in delegated.items():
            parent_ids = sorted({self.table[i][link] for i in ids if self.table[i].get(link)})
            self.env[self.fields_map[link].relation or ""].write_ids(parent_ids, parent_vals)
        for fname, value in stored.items():
            fld = self.fields_map[fname]
            if fld.required and not value and fld.type not in ("integer", "float", "boolean"):
                raise self._not_null(fname)
        self._check_references(stored)
        stored["write_uid"] = env.uid
        stored["write_date"] = env.now
        uniques = (
            self.env.registry.unique_indexes(self)
            if self._unique and any(f in stored for c in self._unique for f in c[1])
            else []
        )
        for rec_id in ids:
            if self._checks:
                self._check_constraints({**self.table[rec_id], **stored})
            if uniques:
                old = dict(self.table[rec_id])
                new = {**old, **stored}
                for constraint in uniques:
                    constraint.check_update(old, new, rec_id)
            store.update(self._name, rec_id, dict(stored))
        for key, value in x2many.items():
            for rec_id in ids:
                commands.apply(self, rec_id, self.fields_map[key], value)
        for key, value in inverse.items():
            inv = self.fields_map[key].inverse
            assert inv is not None
            for rec_id in ids:
                inv(env, rec_id, value)
        self.after_write(ids, vals)
        self.env.registry.notify(env, self._name, ids, "write")

    def unlink_ids(self, ids: list[int]) -> None:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return
        self.check_exists(ids)
        self.before_unlink(ids)
        registry = self.env.registry
        registry.notify(self.env, self._name, ids, "unlink")
        store = self.env.store
        doomed = set(ids)
        for ref_model, ref_field, ondelete, ftype in registry.references.get(self._name, []):
            other = self.env[ref_model]
            if ftype == "many2many":
                for oid, row in list(other.table.items()):
                    current = row.get(ref_field) or []
                    if doomed.intersection(current):
                        kept = [i for i in current if i not in doomed]
                        store.update(ref_model, oid, {ref_field: kept})
                continue
            hits = sorted(other.ids_where(ref_field, doomed))
            if ref_model == self._name:
                hits = [h for h in hits if h not in doomed]
            if not hits:
                continue
            if ondelete == "cascade":
                other.unlink_ids(hits)
            elif ondelete == "restrict":
                raise ValidationError(
                    "The operation cannot be completed: another model requires the record being "
                    "deleted. If possible, archive it instead.\n\n"
                    f"Model: {other._description} ({ref_model})\n"
                    f"Constraint: {ref_model.replace('.', '_')}_{ref_field}_fkey\n"
                )
            else:
                for oid in hits:
                    store.update(ref_model, oid, {ref_field: False})
        if self._name != "ir.model.data":
            imd = self.env["ir.model.data"]
            stale = sorted(
                i
                for i in imd.ids_where("res_id", doomed)
                if imd.table[i].get("model") == self._name
            )
            if stale:
                self.env["ir.model.data"].unlink_ids(stale)
        for rec_id in ids:
            if rec_id in self.table:
                store.delete(self._name, rec_id)

    def read_records(
        self, ids: list[int], fields: list[str] | None, load: str | None = "_classic_read"
    ) -> list[dict[str, Any]]:
        table = self.table
        present = [i for i in dict.fromkeys(ids) if i in table]
        names = list(fields) if fields else [f for f in self.fields_map if f != "id"]
        for fname in names:
            if fname not in self.fields_map:
                raise ValueError(f"Invalid field {fname!r} on model {self._name!r}")
        rows: list[dict[str, Any]] = [{"id": i} for i in present]
        if not present:
            return []
        for fname in names:
            if fname == "id":
                continue
            fld = self.fields_map[fname]
            column = self.values(present, fname)
            if fld.type == "many2one":
                if load == "_classic_read" and fld.relation:
                    targets = {v for v in column.values() if v}
                    labels = self.env[fld.relation].display_names(targets)
                    for row in rows:
                        value = column.get(row["id"])
                        row[fname] = [value, labels.get(value, "")] if value else False
                else:
                    for row in rows:
                        row[fname] = column.get(row["id"]) or False
                continue
            for row in rows:
                row[fname] = to_read(fld, column.get(row["id"], False))
        return rows

    # -- public ORM methods -----------------------------------------------------------------------

    @api_model
    def create(self, vals_list: Any) -> Any:
        if isinstance(vals_list, dict):
            return self.create_records([vals_list])[0]
        if not isinstance(vals_list, list | tuple):
            raise TypeError(f"create() expects a dict or a list of dicts, got {vals_list!r}")
        return self.create_records(list(vals_list))

    @api_records
    def write(self, ids: Any, vals: dict[str, Any]) -> bool:
        self.write_ids(_ids(ids), vals)
        return True

    @api_records
    def unlink(self, ids: Any) -> bool:
        self.unlink_ids(_ids(ids))
        return True

    @api_records
    def read(
        self, ids: Any, fields: list[str] | None = None, load: str | None = "_classic_read"
    ) -> list[dict[str, Any]]:
        return self.read_records(_ids(ids), fields, load)

    @api_model
    def search(
        self, domain: Any, offset: int = 0, limit: int | None = None, order: str | None = None
    ) -> list[int]:
        return self.search_list(domain, offset, limit, order)

    @api_model
    def search_count(self, domain: Any, limit: int | None = None) -> int:
        count = len(self.search_ids(domain))
        return min(count, int(limit)) if limit else count

    @api_model
    def search_read(
        self,
        domain: Any = None,
        fields: list[str] | None = None,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
        load: str | None = "_classic_read",
    ) -> list[dict[str, Any]]:
        ids = self.search_list(domain or [], offset, limit, order)
        return self.read_records(ids, fields, load)

    @api_model
    def name_search(
        self,
        name: str = "",
        domain: Any = None,
        operator: str = "ilike",
        limit: int | None = 100,
        args: Any = None,
    ) -> list[list[Any]]:
        dom = list(domain or args or [])
        if name:
            rec_name = self._rec_name if self._rec_name in self.fields_map else "display_name"
            dom.append((rec_name, operator, name))
        ids = self.search_list(dom, 0, limit)
        labels = self.display_names(ids)
        return [[i, labels.get(i, "")] for i in ids]

    @api_model
    def fields_get(
        self, allfields: list[str] | None = None, attributes: list[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for fname, fld in self.fields_map.items():
            if allfields and fname not in allfields:
                continue
            desc = fld.describe(self._name)
            if attributes:
                desc = {k: v for k, v in desc.items() if k in attributes}
            out[fname] = desc
        return out

    @api_model
    def default_get(self, fields_list: list[str]) -> dict[str, Any]:
        defaults = self._defaults()
        return {
            k: to_read(self.fields_map[k], to_storage(self.fields_map[k], self._name, v))
            for k, v in defaults.items()
            if k in fields_list
        }

    @api_records
    def exists(self, ids: Any) -> list[int]:
        return [i for i in _ids(ids) if i in self.table]

    @api_model
    def name_create(self, name: str) -> list[Any]:
        rec_name = self._rec_name or "name"
        rec_id = self.create_records([{rec_name: name}])[0]
        return [rec_id, self.display_names([rec_id]).get(rec_id, "")]

    @api_records
    def name_get(self, ids: Any) -> list[list[Any]]:
        present = [i for i in _ids(ids) if i in self.table]
        labels = self.display_names(present)
        return [[i, labels.get(i, "")] for i in present]

    @api_model
    def load(self, fields: list[str], data: list[list[Any]]) -> dict[str, Any]:
        from .load import load_rows

        return load_rows(self, fields, data)


def _ids(ids: Any) -> list[int]:
    if ids is None or ids is False:
        return []
    if isinstance(ids, int):
        return [ids]
    return [int(i) for i in ids]


def _display_name(env: Env, ids: list[int]) -> dict[int, Any]:
    """Marker compute: ``BaseModel.values`` answers display_name per model."""
    raise NotImplementedError


def public_method(model: BaseModel, name: str) -> Callable[..., Any] | None:
    func = getattr(type(model), name, None)
    if func is None or getattr(func, "_rpc", None) is None:
        return None
    if name == "name_get" and model.env.major >= 18:
        return None
    return getattr(model, name)  # type: ignore[no-any-return]
