"""Field descriptions: how a value is converted on write, stored, read and described."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Env

DATE_FMT = "%Y-%m-%d"
DATETIME_FMT = "%Y-%m-%d %H:%M:%S"
X2MANY = ("one2many", "many2many")
RELATIONAL = ("many2one", "one2many", "many2many")

Compute = Callable[["Env", list[int]], dict[int, Any]]
Inverse = Callable[["Env", int, Any], None]


@dataclass
class Field:
    type: str
    string: str
    required: bool = False
    readonly: bool = False
    relation: str | None = None
    inverse_name: str | None = None
    selection: list[tuple[str, str]] | None = None
    default: Any = None
    compute: Compute | None = None
    inverse: Inverse | None = None
    ondelete: str = "set null"
    help: str = ""
    digits: tuple[int, int] | None = None
    name: str = ""
    delegated_to: str | None = field(default=None)
    manual: bool = False  # a custom field (``ir.model.fields`` in state ``manual``)
    index: bool = False

    @property
    def stored(self) -> bool:
        return self.compute is None and self.type != "one2many" and self.delegated_to is None

    def describe(self, model_name: str) -> dict[str, Any]:
        desc: dict[str, Any] = {
            "type": self.type,
            "string": self.string,
            "required": self.required,
            "readonly": self.readonly or (self.compute is not None and self.inverse is None),
            "store": self.compute is None,
            "sortable": self.compute is None or self.type in ("many2one",),
            "searchable": True,
            "help": self.help,
            "name": self.name,
            "manual": self.manual,
            "company_dependent": False,
            "depends": [],
            "groupable": self.compute is None,
            "exportable": True,
        }
        if self.relation:
            desc["relation"] = self.relation
            desc["context"] = {}
            desc["domain"] = []
        if self.type == "one2many":
            desc["relation_field"] = self.inverse_name
        if self.type == "selection":
            desc["selection"] = [list(item) for item in self.selection or []]
        if self.type in ("char", "text"):
            desc["translate"] = False
            desc["trim"] = True
        if self.type in ("float", "monetary"):
            desc["digits"] = list(self.digits) if self.digits else False
            desc["aggregator"] = "sum"
        if self.type == "monetary":
            desc["currency_field"] = "currency_id"
        return desc


def _f(type_: str, string: str, **kw: Any) -> Field:
    return Field(type_, string, **kw)


def Char(string: str, **kw: Any) -> Field:
    return _f("char", string, **kw)


def Text(string: str, **kw: Any) -> Field:
    return _f("text", string, **kw)


def Integer(string: str, **kw: Any) -> Field:
    return _f("integer", string, **kw)


def Float(string: str, **kw: Any) -> Field:
    return _f("float", string, **kw)


def Monetary(string: str, **kw: Any) -> Field:
    return _f("monetary", string, **kw)


def Boolean(string: str, **kw: Any) -> Field:
    return _f("boolean", string, **kw)


def Date(string: str, **kw: Any) -> Field:
    return _f("date", string, **kw)


def Datetime(string: str, **kw: Any) -> Field:
    return _f("datetime", string, **kw)


def Selection(selection: list[tuple[str, str]], string: str, **kw: Any) -> Field:
    return _f("selection", string, selection=selection, **kw)


def Many2one(relation: str, string: str, **kw: Any) -> Field:
    return _f("many2one", string, relation=relation, **kw)


def One2many(relation: str, inverse_name: str, string: str, **kw: Any) -> Field:
    return _f("one2many", string, relation=relation, inverse_name=inverse_name, **kw)


def Many2many(relation: str, string: str, **kw: Any) -> Field:
    return _f("many2many", string, relation=relation, **kw)


# -- value conversion ---------------------------------------------------------------------------


def normalize_datetime(value: Any) -> str:
    """Storage form: 26 characters with microseconds, so stored strings compare in order."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.strftime(DATE_FMT) + " 00:00:00.000000"
    text = str(value).strip().replace("T", " ")
    if len(text) == 10:
        text += " 00:00:00"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed.strftime("%Y-%m-%d %H:%M:%S.%f")


def normalize_date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime(DATE_FMT)
    if isinstance(value, dt.date):
        return value.strftime(DATE_FMT)
    text = str(value).strip()
    return dt.date.fromisoformat(text[:10]).strftime(DATE_FMT)


def to_storage(fld: Field, model_name: str, value: Any) -> Any:
    """Convert a value received over RPC into its stored form (Odoo's ``convert_to_cache``)."""
    t = fld.type
    if t in ("char", "text", "html"):
        return str(value) if value not in (None, False) else False
    if t == "boolean":
        return bool(value)
    if t == "integer":
        return int(value or 0)
    if t in ("float", "monetary"):
        return float(value or 0.0)
    if t == "date":
        return normalize_date(value) if value else False
    if t == "datetime":
        if not value:
            return False
        return normalize_datetime(value)[:19] + ".000000"
    if t == "selection":
        if value in (None, False):
            return False
        keys = [key for key, _label in fld.selection or []]
        if value not in keys:
            raise ValueError(f"Wrong value for {model_name}.{fld.name}: {value!r}")
        return value
    if t == "many2one":
        if value in (None, False):
            return False
        if isinstance(value, list | tuple):
            value = value[0]
        return int(value)
    return value


def to_read(fld: Field, value: Any) -> Any:
    """Convert a stored value into what ``read`` returns (before many2one naming)."""
    t = fld.type
    if t == "datetime":
        return value[:19] if value else False
    if t == "integer":
        return int(value or 0)
    if t in ("float", "monetary"):
        return float(value or 0.0)
    if t == "boolean":
        return bool(value)
    if t in X2MANY:
        return list(value or [])
    if value is None:
        return False
    return value
