"""product: templates, one variant per template, categories, pricelists. 18+ ``type``
consu/service/combo with ``is_storable``; 17 ``type``/``detailed_type`` with ``product`` for
storable goods."""

from __future__ import annotations

from typing import Any

from ..orm import fields as f
from ..orm import plan
from ..orm.fields import Compute, Field
from ..orm.index import Probe
from ..orm.model import BaseModel, Env

VARIANT_FIELDS = ("default_code", "barcode")


def storable_domain_value(major: int) -> tuple[str, Any]:
    return ("is_storable", True) if major >= 18 else ("type", "product")


class ProductCategory(BaseModel):
    _name = "product.category"
    _description = "Product Category"
    _order = "name"

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "name": f.Char("Name", required=True),
            "parent_id": f.Many2one("product.category", "Parent Category", ondelete="cascade"),
        }


class ProductTemplate(BaseModel):
    _name = "product.template"
    _description = "Product"
    _order = "name, id"

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        fields: dict[str, Field] = {
            "name": f.Char("Name", required=True),
            "sequence": f.Integer("Sequence", default=1),
            "description_sale": f.Text("Sales Description"),
            "list_price": f.Float("Sales Price", default=1.0, digits=(12, 2)),
            "standard_price": f.Float("Cost", default=0.0),
            "categ_id": f.Many2one("product.category", "Product Category", default=1),
            "uom_id": f.Many2one("uom.uom", "Unit", default=1),
            "sale_ok": f.Boolean("Can be Sold", default=True),
            "purchase_ok": f.Boolean("Can be Purchased", default=True),
            "active": f.Boolean("Active", default=True),
            "company_id": f.Many2one("res.company", "Company"),
            "currency_id": f.Many2one("res.currency", "Currency", compute=_company_currency),
            "weight": f.Float("Weight"),
            "product_variant_ids": f.One2many("product.product", "product_tmpl_id", "Products"),
            "product_variant_id": f.Many2one(
                "product.product", "Product", compute=_template_variant
            ),
            "product_variant_count": f.Integer("# Product Variants", compute=_variant_count),
            "default_code": f.Char(
                "Internal Reference",
                compute=_tmpl_variant_value,
                inverse=_tmpl_variant_inverse("default_code"),
            ),
            "barcode": f.Char(
                "Barcode",
                compute=_tmpl_variant_value_barcode,
                inverse=_tmpl_variant_inverse("barcode"),
            ),
            "qty_available": f.Float("Quantity On Hand", compute=_tmpl_qty("qty_available")),
            "virtual_available": f.Float(
                "Forecasted Quantity", compute=_tmpl_qty("virtual_available")
            ),
            "incoming_qty": f.Float("Incoming", compute=_tmpl_qty("incoming_qty")),
            "outgoing_qty": f.Float("Outgoing", compute=_tmpl_qty("outgoing_qty")),
        }
        if major >= 18:
            fields["type"] = f.Selection(
                [("consu", "Goods"), ("service", "Service"), ("combo", "Combo")],
                "Product Type",
                required=True,
                default="consu",
            )
            fields["is_storable"] = f.Boolean("Track Inventory", default=False)
        else:
            selection = [
                ("consu", "Consumable"),
                ("service", "Service"),
                ("product", "Storable Product"),
            ]
            fields["detailed_type"] = f.Selection(
                selection, "Product Type", required=True, default="consu"
            )
            fields["type"] = f.Selection(selection, "Type", required=True, default="consu")
        return fields

    def prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        if self.env.major < 18 and "detailed_type" in vals and "type" not in vals:
            vals["type"] = vals["detailed_type"]
        elif self.env.major < 18 and "type" in vals and "detailed_type" not in vals:
            vals["detailed_type"] = vals["type"]
        return vals

    def after_write(self, ids: list[int], vals: dict[str, Any]) -> None:
        if self.env.major < 18 and ("detailed_type" in vals) != ("type" in vals):
            key = "type" if "detailed_type" in vals else "detailed_type"
            for rec_id in ids:
                self.env.store.update(
                    self._name,
                    rec_id,
                    {key: vals.get(key, vals.get("detailed_type", vals.get("type")))},
                )

    def create_records(self, vals_list: list[dict[str, Any]]) -> list[int]:
        extras = []
        cleaned = []
        for vals in vals_list:
            vals = dict(vals)
            extras.append({k: vals.pop(k) for k in VARIANT_FIELDS if k in vals})
            cleaned.append(vals)
        ids = super().create_records(cleaned)
        if self.env.context.get("_inherits_child") != "product.product":
            variants = self.env["product.product"]
            variants.create_records(
                [{"product_tmpl_id": tid, **extra} for tid, extra in zip(ids, extras, strict=True)]
            )
        return ids

    def before_unlink(self, ids: list[int]) -> None:
        return None

    def search_probe(self, fname: str, operator: str, right: Any) -> Probe | None:
        """``default_code``/``barcode`` (their single variant's): the templates of the variants
        the same leaf finds."""
        if fname not in VARIANT_FIELDS:
            return None
        variants = self.env["product.product"]
        found = plan.probe(variants, (fname, operator, right))
        if found is None:
            return None
        table = variants.table
        return Probe(found.size, lambda: {table[v]["product_tmpl_id"] for v in found.fetch()})


def _company_currency(env: Env, ids: list[int]) -> dict[int, Any]:
    company = env.store.tables["res.company"].get(1, {})
    return dict.fromkeys(ids, company.get("currency_id") or False)


def _variants_by_template(env: Env, ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {i: [] for i in ids}
    table = env.store.tables["product.product"]
    for pid in sorted(env["product.product"].ids_where("product_tmpl_id", set(ids))):
        row = table[pid]
        if row.get("active", True):
            out[row["product_tmpl_id"]].append(pid)
    return out


def _template_variant(env: Env, ids: list[int]) -> dict[int, Any]:
    return {t: (min(v) if v else False) for t, v in _variants_by_template(env, ids).items()}


def _variant_count(env: Env, ids: list[int]) -> dict[int, Any]:
    return {t: len(v) for t, v in _variants_by_template(env, ids).items()}


def _single_variant_value(env: Env, ids: list[int], fname: str) -> dict[int, Any]:
    products = env.store.tables["product.product"]
    return {
        t: (products[v[0]].get(fname) or False) if len(v) == 1 else False
        for t, v in _variants_by_template(env, ids).items()
    }


def _tmpl_variant_value(env: Env, ids: list[int]) -> dict[int, Any]:
    return _single_variant_value(env, ids, "default_code")


def _tmpl_variant_value_barcode(env: Env, ids: list[int]) -> dict[int, Any]:
    return _single_variant_value(env, ids, "barcode")


def _tmpl_variant_inverse(fname: str) -> Any:
    def inverse(env: Env, tmpl_id: int, value: Any) -> None:
        variants = _variants_by_template(env, [tmpl_id])[tmpl_id]
        if len(variants) == 1:
            env["product.product"].write_ids(variants, {fname: value})

    return inverse


def _tmpl_qty(fname: str) -> Compute:
    def compute(env: Env, ids: list[int]) -> dict[int, Any]:
        by_tmpl = _variants_by_template(env, ids)
        qty = quantities(env, [p for v in by_tmpl.values() for p in v])
        return {t: round(sum(qty[p][fname] for p in v), 6) for t, v in by_tmpl.items()}

    return compute


QUANTITY_FIELDS = ("qty_available", "free_qty", "incoming_qty", "outgoing_qty", "virtual_available")
TODO_MOVE_STATES = ("waiting", "confirmed", "assigned", "partially_available")


def is_storable(env: Env, product_id: int) -> bool:
    """Goods whose stock is tracked: ``is_storable`` (18+), ``type == 'product'`` (17)."""
    products = env["product.product"]
    if product_id not in products.table:
        return False
    if env.major >= 18:
        return bool(products.values([product_id], "is_storable").get(product_id))
    return products.values([product_id], "type").get(product_id) == "product"


def quantities(env: Env, product_ids: list[int]) -> dict[int, dict[str, float]]:
    """``_compute_quantities_dict``: in the locations the context selects (see
    ``stock.counted_locations``), ``qty_available`` is the quants' quantity, ``free_qty`` that
    minus what is reserved, ``incoming_qty``/``outgoing_qty`` the moves not done yet that enter
    or leave those locations, ``virtual_available`` on hand plus incoming minus outgoing.
    Services have zeros."""
    from .stock import counted_locations

    out = {p: dict.fromkeys(QUANTITY_FIELDS, 0.0) for p in product_ids}
    products = env["product.product"]
    types = products.values(list(out), "type")
    wanted = {p for p in out if types.get(p) != "service"}
    if not wanted:
        return out
    inside = counted_locations(env)
    reserved = dict.fromkeys(wanted, 0.0)
    for row in env.store.tables["stock.quant"].values():
        pid = row.get("product_id")
        if pid in wanted and row.get("location_id") in inside:
            out[pid]["qty_available"] += float(row.get("quantity") or 0.0)
            reserved[pid] += float(row.get("reserved_quantity") or 0.0)
    moves = env.store.tables["stock.move"]
    for move in sorted(env["stock.move"].ids_where("product_id", wanted)):
        row = moves[move]
        pid = row.get("product_id")
        if pid not in wanted or row.get("state") not in TODO_MOVE_STATES:
            continue
        source_in = row.get("location_id") in inside
        dest_in = row.get("location_dest_id") in inside
        qty = float(row.get("product_uom_qty") or 0.0)
        if dest_in and not source_in:
            out[pid]["incoming_qty"] += qty
        elif source_in and not dest_in:
            out[pid]["outgoing_qty"] += qty
    for pid in wanted:
        q = out[pid]
        q["free_qty"] = q["qty_available"] - reserved[pid]
        q["virtual_available"] = q["qty_available"] + q["incoming_qty"] - q["outgoing_qty"]
        for key in QUANTITY_FIELDS:
            q[key] = round(q[key], 6) + 0.0
    return out


class ProductProduct(BaseModel):
    _name = "product.product"
    _description = "Product Variant"
    _order = "default_code, name, id"
    _inherits = {"product.template": "product_tmpl_id"}
    _unique = [("barcode_uniq", ("barcode",), "A barcode can only be assigned to one product !")]

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "product_tmpl_id": f.Many2one(
                "product.template", "Product Template", required=True, ondelete="cascade"
            ),
            "default_code": f.Char("Internal Reference", index=True),
            "barcode": f.Char("Barcode", index=True),
            "active": f.Boolean("Active", default=True),
            "lst_price": f.Float("Sales Price", compute=_lst_price, inverse=_lst_price_inverse),
            "qty_available": f.Float("Quantity On Hand", compute=_product_qty("qty_available")),
            "virtual_available": f.Float(
                "Forecasted Quantity", compute=_product_qty("virtual_available")
            ),
            "free_qty": f.Float("Free To Use Quantity ", compute=_product_qty("free_qty")),
            "incoming_qty": f.Float("Incoming", compute=_product_qty("incoming_qty")),
            "outgoing_qty": f.Float("Outgoing", compute=_product_qty("outgoing_qty")),
            "stock_quant_ids": f.One2many("stock.quant", "product_id", "Stock Quants"),
            "stock_move_ids": f.One2many("stock.move", "product_id", "Stock Moves"),
        }

    def create_records(self, vals_list: list[dict[str, Any]]) -> list[int]:
        child = type(self)(self.env.with_context(_inherits_child="product.product"))
        return BaseModel.create_records(child, vals_list)

    def compute_display_name(self, ids: list[int]) -> dict[int, str]:
        names = self.values(ids, "name")
        out = {}
        for i in ids:
            code = self.table[i].get("default_code")
            name = names.get(i) or ""
            out[i] = f"[{code}] {name}" if code else str(name)
        return out

    def unlink_ids(self, ids: list[int]) -> None:
        templates = {self.table[i]["product_tmpl_id"] for i in ids if i in self.table}
        super().unlink_ids(ids)
        orphans = [
            t
            for t in templates
            if t in self.env.store.tables["product.template"]
            and not _variants_by_template(self.env, [t])[t]
        ]
        if orphans:
            self.env["product.template"].unlink_ids(orphans)


def _lst_price(env: Env, ids: list[int]) -> dict[int, Any]:
    return env["product.product"].values(ids, "list_price")


def _lst_price_inverse(env: Env, rec_id: int, value: Any) -> None:
    env["product.product"].write_ids([rec_id], {"list_price": value})


def _product_qty(fname: str) -> Compute:
    def compute(env: Env, ids: list[int]) -> dict[int, Any]:
        return {p: q[fname] for p, q in quantities(env, ids).items()}

    return compute


def _company_currency_default(env: Env) -> Any:
    return env.store.tables["res.company"].get(1, {}).get("currency_id") or False


def default_pricelist_name(major: int, currency_code: str) -> str:
    """What ``res.company._get_default_pricelist_vals`` names a company's default pricelist:
    ``Default`` in 18, ``Default <CODE> pricelist`` in 17 (``Public Pricelist``, the ``list0``
    record of product_data.xml, is older)."""
    return "Default" if major >= 18 else f"Default {currency_code} pricelist"


class ProductPricelist(BaseModel):
    """``product.pricelist`` without its rules: what a sale order's currency comes from."""

    _name = "product.pricelist"
    _description = "Pricelist"
    _order = "sequence asc, id asc"

    @classmethod
    def declare_fields(cls, major: int) -> dict[str, Field]:
        return {
            "name": f.Char("Pricelist Name", required=True),
            "active": f.Boolean("Active", default=True),
            "sequence": f.Integer("Sequence", default=16),
            "currency_id": f.Many2one(
                "res.currency", "Currency", required=True, default=_company_currency_default
            ),
            "company_id": f.Many2one("res.company", "Company", default=1),
        }

    def compute_display_name(self, ids: list[int]) -> dict[int, str]:
        currencies = self.env["res.currency"]
        out = {}
        for i in ids:
            row = self.table[i]
            code = currencies.values([row.get("currency_id") or 0], "name").get(
                row.get("currency_id") or 0, ""
            )
            out[i] = f"{row.get('name') or ''} ({code or ''})"
        return out


def partner_pricelist(env: Env, company_id: Any) -> Any:
    """The fallback of ``res.partner.property_product_pricelist`` (no property, no country
    group): the first active pricelist of the company or of no company, in ``_order``."""
    pricelists = env["product.pricelist"]
    found = pricelists.search_list([("company_id", "in", [company_id or 1, False])], limit=1)
    return found[0] if found else False
