"""Custom fields: the ``ir.model.fields`` rows in state ``manual`` as fields of their models.

Odoo adds a custom field to its model when the row is created (``_add_manual_fields`` at the
registry's next setup) and drops it when the row is removed. Here the registry asks
:func:`declared` for the rows' fields whenever ``ir.model.fields`` changed or a transaction was
rolled back, so the models always carry the fields their rows describe, a restart included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .fields import Field

if TYPE_CHECKING:
    from ..store import Store

MODEL = "ir.model.fields"
# the field types a custom field may have in the emulator (Odoo has more, relational ones)
SUPPORTED_TYPES = ("boolean", "char", "date", "datetime", "float", "html", "integer", "text")


def field_of(row: dict[str, Any]) -> Field:
    """The field an ``ir.model.fields`` row describes (``_instanciate_attrs``)."""
    return Field(
        str(row["ttype"]),
        str(row.get("field_description") or ""),
        required=bool(row.get("required")),
        readonly=bool(row.get("readonly")),
        help=str(row.get("help") or ""),
        name=str(row["name"]),
        manual=True,
        index=bool(row.get("index")),
    )


def declared(store: Store) -> dict[str, dict[str, Field]]:
    """The custom fields per model, in the order they were created."""
    out: dict[str, dict[str, Field]] = {}
    table = store.tables[MODEL]
    for rec_id in sorted(table):
        row = table[rec_id]
        if row.get("state") == "manual" and row.get("ttype") in SUPPORTED_TYPES:
            out.setdefault(str(row["model"]), {})[str(row["name"])] = field_of(row)
    return out
