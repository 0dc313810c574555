"""base: partners, users, companies, countries, currencies, units, ir.model(.data)."""

from __future__ import annotations

from typing import Any

from ..exceptions import ValidationError
from ..orm import fields as f
from ..orm.fields import Field
from ..orm.load import xmlid_lookup
from ..orm.model import BaseModel, Env, api_model


class IrModel(BaseModel):
    _name = "ir.model"
    _description = "Models"
    _order = "model"
    _rec_name = "name"

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "name": f.Char("Model Description", required=True),
            "model": f.Char("Model", required=True),
            "state": f.Selection(
                [("manual", "Custom Object"), ("base", "Base Object")], "Type", default="base"
            ),
            "transient": f.Boolean("Transient Model"),
            "info": f.Text("Information"),
            "field_id": f.One2many("ir.model.fields", "model_id", "Fields"),
        }


class IrModelData(BaseModel):
    _name = "ir.model.data"
    _description = "Model Data"
    _order = "module, model, name"
    _rec_name = "name"
    _unique = [("ir_model_data_module_name_uniq_index", ("module", "name"), None)]

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "name": f.Char("External Identifier", required=True),
            "complete_name": f.Char("Complete ID", compute=_imd_complete_name),
            "model": f.Char("Model Name", required=True, index=True),
            "module": f.Char("Module", required=True, default=""),
            "res_id": f.Integer("Record ID", index=True),
            "noupdate": f.Boolean("Non Updatable"),
            "reference": f.Char("Reference", compute=_imd_reference),
        }

    def prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        if " " in str(vals.get("name") or ""):
            raise ValidationError(
                "The operation cannot be completed: External IDs cannot contain spaces"
            )
        return vals

    def compute_display_name(self, ids: list[int]) -> dict[int, str]:
        return {i: f"{self.table[i]['module']}.{self.table[i]['name']}" for i in ids}

    @api_model
    def check_object_reference(
        self, module: str, xml_id: str, raise_on_access_error: bool = False
    ) -> list[Any]:
        found = xmlid_lookup(self, module, xml_id)
        if found is None or found[1] not in self.env.store.tables[found[0]]:
            raise ValueError(f"External ID not found in the system: {module}.{xml_id}")
        return [found[0], found[1]]

    @api_model
    def xmlid_to_res_id(self, xmlid: str, raise_if_not_found: bool = False) -> Any:
        module, _, name = xmlid.partition(".")
        found = xmlid_lookup(self, module, name)
        if found is None:
            if raise_if_not_found:
                raise ValueError(f"External ID not found in the system: {xmlid}")
            return False
        return found[1]


def _imd_complete_name(env: Env, ids: list[int]) -> dict[int, Any]:
    table = env.store.tables["ir.model.data"]
    return {i: f"{table[i]['module']}.{table[i]['name']}" for i in ids}


def _imd_reference(env: Env, ids: list[int]) -> dict[int, Any]:
    table = env.store.tables["ir.model.data"]
    return {i: f"{table[i]['model']},{table[i]['res_id']}" for i in ids}


class ResCompany(BaseModel):
    _name = "res.company"
    _description = "Companies"
    _order = "sequence, name"

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "name": f.Char("Company Name", required=True),
            "partner_id": f.Many2one("res.partner", "Partner"),
            "currency_id": f.Many2one("res.currency", "Currency"),
            "country_id": f.Many2one("res.country", "Country"),
            "email": f.Char("Email"),
            "sequence": f.Integer("Sequence", default=10),
            "active": f.Boolean("Active", default=True),
        }


class ResCountry(BaseModel):
    _name = "res.country"
    _description = "Country"
    _order = "name, id"
    _unique = [
        ("res_country_name_uniq", ("name",), "The name of the country must be unique!"),
        ("res_country_code_uniq", ("code",), "The code of the country must be unique!"),
    ]

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "name": f.Char("Country Name", required=True),
            "code": f.Char("Country Code", help="ISO 3166-1 alpha-2"),
            "currency_id": f.Many2one("res.currency", "Currency"),
            "phone_code": f.Integer("Country Calling Code"),
        }


class ResCurrency(BaseModel):
    _name = "res.currency"
    _description = "Currency"
    _order = "active desc, name"
    _unique = [("res_currency_unique_name", ("name",), "The currency code must be unique!")]

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "name": f.Char("Currency", required=True, help="Currency Code (ISO 4217)"),
            "full_name": f.Char("Name"),
            "symbol": f.Char("Symbol", required=True),
            "rate": f.Float("Current Rate", compute=_currency_rate, digits=(12, 6)),
            "rounding": f.Float("Rounding Factor", default=0.01, digits=(12, 6)),
            "decimal_places": f.Integer("Decimal Places", default=2),
            "position": f.Selection(
                [("after", "After Amount"), ("before", "Before Amount")],
                "Symbol Position",
                default="after",
            ),
            "active": f.Boolean("Active", default=True),
        }


def _currency_rate(env: Env, ids: list[int]) -> dict[int, Any]:
    return dict.fromkeys(ids, 1.0)


PARTNER_TYPES = [
    ("contact", "Contact"),
    ("invoice", "Invoice Address"),
    ("delivery", "Delivery Address"),
    ("other", "Other Address"),
]


class ResPartner(BaseModel):
    _name = "res.partner"
    _description = "Contact"
    _order = "complete_name ASC, id DESC"

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "name": f.Char("Name"),
            "complete_name": f.Char("Complete Name", compute=_partner_complete_name),
            "type": f.Selection(PARTNER_TYPES, "Address Type", default="contact"),
            "email": f.Char("Email", index=True),
            "phone": f.Char("Phone"),
            "mobile": f.Char("Mobile"),
            "website": f.Char("Website Link"),
            "is_company": f.Boolean("Is a Company", default=False),
            "parent_id": f.Many2one("res.partner", "Related Company"),
            "child_ids": f.One2many("res.partner", "parent_id", "Contact"),
            "commercial_partner_id": f.Many2one(
                "res.partner", "Commercial Entity", compute=_partner_commercial
            ),
            "ref": f.Char("Reference"),
            "vat": f.Char("Tax ID"),
            "street": f.Char("Street"),
            "street2": f.Char("Street2"),
            "zip": f.Char("Zip"),
            "city": f.Char("City"),
            "country_id": f.Many2one("res.country", "Country", ondelete="restrict"),
            "country_code": f.Char("Country Code", compute=_partner_country_code),
            "lang": f.Char("Language", default="en_US"),
            "tz": f.Char("Timezone"),
            "comment": f.Text("Notes"),
            "active": f.Boolean("Active", default=True),
            "company_id": f.Many2one("res.company", "Company"),
            "customer_rank": f.Integer("Customer Rank"),
            "supplier_rank": f.Integer("Supplier Rank"),
            "user_ids": f.One2many("res.users", "partner_id", "Users"),
        }

    def prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        if (vals.get("type") or "contact") == "contact" and not vals.get("name"):
            raise ValidationError("Contacts require a name")
        return vals

    def after_write(self, ids: list[int], vals: dict[str, Any]) -> None:
        if "name" in vals or "type" in vals:
            for rec_id in ids:
                row = self.table[rec_id]
                if (row.get("type") or "contact") == "contact" and not row.get("name"):
                    raise ValidationError("Contacts require a name")

    def compute_display_name(self, ids: list[int]) -> dict[int, str]:
        return {i: str(v or "") for i, v in _partner_complete_name(self.env, ids).items()}


def _partner_complete_name(env: Env, ids: list[int]) -> dict[int, Any]:
    table = env.store.tables["res.partner"]
    out: dict[int, Any] = {}
    for i in ids:
        row = table[i]
        name = row.get("name") or ""
        parent = table.get(row.get("parent_id") or 0)
        if parent and not row.get("is_company") and parent.get("name"):
            name = f"{parent['name']}, {name}" if name else parent["name"]
        out[i] = name or False
    return out


def _partner_commercial(env: Env, ids: list[int]) -> dict[int, Any]:
    table = env.store.tables["res.partner"]
    out = {}
    for i in ids:
        cur = i
        seen = set()
        while True:
            row = table[cur]
            parent = row.get("parent_id")
            if row.get("is_company") or not parent or parent in seen or parent not in table:
                break
            seen.add(cur)
            cur = parent
        out[i] = cur
    return out


def _partner_country_code(env: Env, ids: list[int]) -> dict[int, Any]:
    partners = env.store.tables["res.partner"]
    countries = env.store.tables["res.country"]
    out = {}
    for i in ids:
        country = countries.get(partners[i].get("country_id") or 0)
        out[i] = country.get("code") if country else False
    return out


class ResUsers(BaseModel):
    _name = "res.users"
    _description = "User"
    _order = "name, login"
    _inherits = {"res.partner": "partner_id"}
    _unique = [
        ("res_users_login_key", ("login",), "You can not have two users with the same login !")
    ]

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "partner_id": f.Many2one(
                "res.partner", "Related Partner", required=True, ondelete="restrict"
            ),
            "login": f.Char("Login", required=True),
            "active": f.Boolean("Active", default=True),
            "company_id": f.Many2one("res.company", "Company", default=1),
            "company_ids": f.Many2many("res.company", "Companies", default=[1]),
            "share": f.Boolean("Share User"),
            "tz": f.Char("Timezone"),
        }

    @api_model
    def context_get(self) -> dict[str, Any]:
        user = self.table.get(self.env.uid, {})
        partner = self.env.store.tables["res.partner"].get(user.get("partner_id") or 0, {})
        return {
            "lang": partner.get("lang") or "en_US",
            "tz": user.get("tz") or False,
            "uid": self.env.uid,
        }

    def compute_display_name(self, ids: list[int]) -> dict[int, str]:
        names = self.values(ids, "name")
        return {i: str(v or "") for i, v in names.items()}


class UomUom(BaseModel):
    _name = "uom.uom"
    _description = "Product Unit of Measure"
    _order = "name"

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "name": f.Char("Unit of Measure", required=True),
            "rounding": f.Float("Rounding Precision", default=0.01),
            "active": f.Boolean("Active", default=True),
        }
