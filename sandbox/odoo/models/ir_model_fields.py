"""ir.model.fields: every model's fields, and custom fields (``x_``) created through the API.

Creating a row in state ``manual`` adds the field to its model at once (read, write, search,
``fields_get``, create); removing the row drops the field and its values. Base rows are Odoo's
reflection of the fields the models declare (:func:`reflect`): they can be neither altered nor
removed. Errors are Odoo's: the CHECK and UNIQUE constraints of ``ir_model_fields`` as
"The operation cannot be completed: ..." ValidationErrors, an unknown ``ttype`` as the
selection's "Wrong value", the other refusals as UserErrors with Odoo's messages.
"""

from __future__ import annotations

import re
from typing import Any

from ..exceptions import AccessError, UserError, ValidationError
from ..orm import fields as f
from ..orm.fields import Field
from ..orm.load import xmlid_lookup
from ..orm.manual import SUPPORTED_TYPES
from ..orm.model import BaseModel, Env, api_model, api_records

# ``FIELD_TYPES``: the framework's field types, sorted
FIELD_TYPES = [
    (t, t)
    for t in (
        "binary",
        "boolean",
        "char",
        "date",
        "datetime",
        "float",
        "html",
        "integer",
        "json",
        "many2many",
        "many2one",
        "many2one_reference",
        "monetary",
        "one2many",
        "properties",
        "properties_definition",
        "reference",
        "selection",
        "text",
    )
]
PG_NAME = re.compile(r"^[a-z_][a-z0-9_$]*$", re.IGNORECASE)
BASE_FIELD_WRITE = (
    "Properties of base fields cannot be altered in this manner! Please modify them through "
    "Python code, preferably through a custom addon!"
)
# what a translated label write may change on a base field too
TRANSLATED = ("field_description", "help")
# ir.model.access: internal users read fields, Administration/Settings change them
ACCESS_HEADER = {
    "create": "You are not allowed to create '{kind}' ({model}) records.",
    "write": "You are not allowed to modify '{kind}' ({model}) records.",
    "unlink": "You are not allowed to delete '{kind}' ({model}) records.",
}
SETTINGS_USERS = (("base", "user_root"), ("base", "user_admin"))


def _manual_name(row: dict[str, Any]) -> bool:
    """``CHECK (state != 'manual' OR name LIKE 'x\\_%')``."""
    return row.get("state") != "manual" or str(row.get("name") or "").startswith("x_")


class IrModelFields(BaseModel):
    _name = "ir.model.fields"
    _description = "Fields"
    _order = "name, id"
    _rec_name = "field_description"
    _unique = [
        ("ir_model_fields_name_unique", ("model", "name"), "Field names must be unique per model.")
    ]
    _checks = [
        (
            "ir_model_fields_name_manual_field",
            _manual_name,
            "Custom fields must have a name that starts with 'x_'!",
        )
    ]

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        translate = (
            f.Selection(
                [
                    ("standard", "Translate as a whole"),
                    ("html_translate", "Translate HTML terms"),
                    ("xml_translate", "Translate XML terms"),
                ],
                "Translatable",
            )
            if major >= 19
            else f.Boolean("Translatable")
        )
        return {
            "name": f.Char("Field Name", required=True, default="x_", index=True),
            "model": f.Char("Model Name", required=True, index=True),
            "model_id": f.Many2one("ir.model", "Model", required=True, ondelete="cascade"),
            "field_description": f.Char("Field Label", required=True, default=""),
            "help": f.Text("Field Help"),
            "ttype": f.Selection(FIELD_TYPES, "Field Type", required=True),
            "relation": f.Char("Related Model"),
            "relation_field": f.Char("Relation Field"),
            "copied": f.Boolean("Copied", default=True),
            "related": f.Char("Related Field Definition"),
            "required": f.Boolean("Required"),
            "readonly": f.Boolean("Readonly"),
            "index": f.Boolean("Indexed"),
            "translate": translate,
            "size": f.Integer("Size"),
            "state": f.Selection(
                [("manual", "Custom Field"), ("base", "Base Field")],
                "Type",
                required=True,
                readonly=True,
                default="manual",
            ),
            "on_delete": f.Selection(
                [("cascade", "Cascade"), ("set null", "Set NULL"), ("restrict", "Restrict")],
                "On Delete",
                default="set null",
            ),
            "domain": f.Char("Domain", default="[]"),
            "selectable": f.Boolean("Selectable", default=True),
            "store": f.Boolean("Stored", default=True),
        }

    def compute_display_name(self, ids: list[int]) -> dict[int, str]:
        labels = {
            row.get("model"): row.get("name") for row in self.env.store.tables["ir.model"].values()
        }
        out = {}
        for i in ids:
            row = self.table[i]
            model = labels.get(row.get("model")) or row.get("model")
            out[i] = f"{row.get('field_description') or ''} ({model})"
        return out

    # -- access -----------------------------------------------------------------------------

    def _check_settings(self, mode: str) -> None:
        """``ir.model.access``: only Administration/Settings may change fields (in a fresh
        database, the superuser and ``admin``); Odoo's AccessError for anyone else."""
        imd = self.env["ir.model.data"]
        allowed = {found[1] for xmlid in SETTINGS_USERS if (found := xmlid_lookup(imd, *xmlid))}
        if self.env.uid in allowed:
            return
        header = ACCESS_HEADER[mode].format(kind=self._description, model=self._name)
        raise AccessError(
            f"{header}\n\nThis operation is allowed for the following groups:\n"
            "\t- Administration/Settings\n\n"
            "Contact your administrator to request access if necessary."
        )

    @api_model
    def create(self, vals_list: Any) -> Any:
        self._check_settings("create")
        return super().create(vals_list)

    @api_records
    def write(self, ids: Any, vals: dict[str, Any]) -> bool:
        self._check_settings("write")
        return super().write(ids, vals)

    @api_records
    def unlink(self, ids: Any) -> bool:
        self._check_settings("unlink")
        return super().unlink(ids)

    # -- create -----------------------------------------------------------------------------

    def prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        if vals.get("model_id"):
            models = self.env["ir.model"]
            model_id = int(vals["model_id"])
            models.check_exists([model_id])
            vals["model"] = models.table[model_id]["model"]
        if (
            vals.get("state", "manual") == "manual"
            and vals.get("ttype") in dict(FIELD_TYPES)
            and vals["ttype"] not in SUPPORTED_TYPES
        ):
            raise UserError(
                f"The sandbox does not emulate custom fields of type {vals['ttype']!r} "
                f"(supported: {', '.join(SUPPORTED_TYPES)})."
            )
        return vals

    def after_create(self, ids: list[int]) -> None:
        self._check_name(ids)
        self.env.registry.sync_manual_fields()

    def _check_name(self, ids: list[int]) -> None:
        """``_check_name``: ``check_pg_name``."""
        for rec_id in ids:
            name = str(self.table[rec_id].get("name") or "")
            if not PG_NAME.match(name) or len(name) > 63:
                raise ValidationError(
                    "Field names can only contain characters, digits and underscores (up to 63)."
                )

    # -- write --------------------------------------------------------------------------------

    def write_ids(self, ids: list[int], vals: dict[str, Any]) -> None:
        if not ids:
            return
        self.check_exists(ids)
        vals = dict(vals)
        renames: list[tuple[str, str, str]] = []
        if vals and not all(k in TRANSLATED for k in vals):
            for rec_id in ids:
                row = self.table[rec_id]
                if row.get("state") != "manual":
                    raise UserError(BASE_FIELD_WRITE)
                if "model_id" in vals and _id(vals["model_id"]) != row.get("model_id"):
                    raise UserError("Changing the model of a field is forbidden!")
                if vals.get("ttype", row.get("ttype")) != row.get("ttype"):
                    raise UserError(
                        "Changing the type of a field is not yet supported. "
                        "Please drop it and create it again!"
                    )
                new_name = vals.get("name", row.get("name"))
                if new_name != row.get("name"):
                    if renames:
                        raise UserError("Can only rename one field at a time!")
                    renames.append((str(row["model"]), str(row["name"]), str(new_name)))
        for never in ("model_id", "model", "state"):
            vals.pop(never, None)
        super().write_ids(ids, vals)
        if "name" in vals:
            self._check_name(ids)
        store = self.env.store
        for model, old, new in renames:
            store.rename_field(model, old, new)
        self.env.registry.sync_manual_fields()

    # -- unlink -------------------------------------------------------------------------------

    def unlink_ids(self, ids: list[int]) -> None:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return
        self.check_exists(ids)
        if any(self.table[i].get("state") != "manual" for i in ids):
            raise UserError("This column contains module data and cannot be removed!")
        dropped = [(str(self.table[i]["model"]), str(self.table[i]["name"])) for i in ids]
        super().unlink_ids(ids)
        for model, name in dropped:
            self.env.store.drop_field(model, name)
        self.env.registry.sync_manual_fields()


def _id(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return value[0] if value else False
    return value


def reflect(env: Env) -> None:
    """``_reflect_models`` and ``_reflect_fields`` as a module install runs them: an ``ir.model``
    row per model and an ``ir.model.fields`` row (state ``base``) per declared field; the base
    rows of fields no model declares any more are removed. Custom fields are left alone."""
    models = env["ir.model"]
    known = {str(row["model"]) for row in models.table.values()}
    models.create_records(
        [
            {"model": name, "name": cls._description or name}
            for name, cls in sorted(env.registry.models.items())
            if name not in known
        ]
    )
    model_ids = {str(row["model"]): mid for mid, row in models.table.items()}
    fields = env["ir.model.fields"]
    existing = {(str(r["model"]), str(r["name"])): i for i, r in fields.table.items()}
    declared = env.registry.base_fields
    fields.create_records(
        [
            _reflection(fld, model, model_ids[model])
            for model in sorted(declared)
            if model in model_ids
            for fname, fld in declared[model].items()
            if (model, fname) not in existing
        ]
    )
    stale = [
        i
        for (model, fname), i in existing.items()
        if fields.table[i].get("state") == "base" and fname not in declared.get(model, {})
    ]
    BaseModel.unlink_ids(fields, stale)


def _reflection(fld: Field, model: str, model_id: int) -> dict[str, Any]:
    """``_reflect_field_params``."""
    return {
        "model_id": model_id,
        "model": model,
        "name": fld.name,
        "field_description": fld.string,
        "help": fld.help or False,
        "ttype": fld.type,
        "state": "base",
        "relation": fld.relation or False,
        "relation_field": fld.inverse_name if fld.type == "one2many" else False,
        "index": fld.index,
        "store": fld.compute is None and fld.delegated_to is None,
        "copied": fld.type != "one2many" and fld.compute is None,
        "readonly": fld.readonly,
        "required": fld.required,
        "on_delete": fld.ondelete if fld.type == "many2one" else False,
    }
