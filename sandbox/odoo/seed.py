"""The data a fresh database starts with: company, users, countries, currencies, products."""

from __future__ import annotations

from typing import Any

from .models.ir_model_fields import reflect
from .models.product import default_pricelist_name
from .models.stock import xmlid_res_id
from .models.stock_quant import StockQuant
from .orm.model import Env

SUPERUSER_ID = 1
ADMIN_UID = 2
DEMO = "demo"
ON_HAND = 100.0

# (code, ISO 4217 name, symbol, active) — shipped inactive except EUR and USD, as in Odoo.
CURRENCIES = [
    ("EUR", "Euro", "€", True),
    ("USD", "US Dollar", "$", True),
    ("GBP", "Pound Sterling", "£", False),
    ("CHF", "Swiss Franc", "CHF", False),
    ("JPY", "Japanese Yen", "¥", False),
    ("CAD", "Canadian Dollar", "$", False),
    ("AUD", "Australian Dollar", "$", False),
    ("SEK", "Swedish Krona", "kr", False),
    ("NOK", "Norwegian Krone", "kr", False),
    ("DKK", "Danish Krone", "kr", False),
    ("PLN", "Polish Zloty", "zł", False),
    ("CZK", "Czech Koruna", "Kč", False),
    ("CNY", "Chinese Yuan", "¥", False),
    ("INR", "Indian Rupee", "₹", False),
    ("BRL", "Brazilian Real", "R$", False),
    ("MXN", "Mexican Peso", "$", False),
    ("ZAR", "South African Rand", "R", False),
    ("NZD", "New Zealand Dollar", "$", False),
]

# (alpha-2, name, currency, calling code)
COUNTRIES = [
    ("BE", "Belgium", "EUR", 32),
    ("FR", "France", "EUR", 33),
    ("DE", "Germany", "EUR", 49),
    ("NL", "Netherlands", "EUR", 31),
    ("LU", "Luxembourg", "EUR", 352),
    ("ES", "Spain", "EUR", 34),
    ("IT", "Italy", "EUR", 39),
    ("PT", "Portugal", "EUR", 351),
    ("AT", "Austria", "EUR", 43),
    ("IE", "Ireland", "EUR", 353),
    ("FI", "Finland", "EUR", 358),
    ("GR", "Greece", "EUR", 30),
    ("GB", "United Kingdom", "GBP", 44),
    ("CH", "Switzerland", "CHF", 41),
    ("SE", "Sweden", "SEK", 46),
    ("NO", "Norway", "NOK", 47),
    ("DK", "Denmark", "DKK", 45),
    ("PL", "Poland", "PLN", 48),
    ("CZ", "Czech Republic", "CZK", 420),
    ("US", "United States", "USD", 1),
    ("CA", "Canada", "CAD", 1),
    ("MX", "Mexico", "MXN", 52),
    ("BR", "Brazil", "BRL", 55),
    ("AU", "Australia", "AUD", 61),
    ("NZ", "New Zealand", "NZD", 64),
    ("JP", "Japan", "JPY", 81),
    ("CN", "China", "CNY", 86),
    ("IN", "India", "INR", 91),
    ("ZA", "South Africa", "ZAR", 27),
]

PRODUCTS = [
    ("SKU-001", "Office Chair", 149.0, "4006381333931"),
    ("SKU-002", "Standing Desk", 499.0, "4006381333948"),
    ("SKU-003", "Desk Lamp", 39.9, "4006381333955"),
    ("SKU-004", "Monitor Arm", 89.5, "4006381333962"),
    ("SKU-005", "Cable Tray", 19.99, "4006381333979"),
]
LOCATIONS = [
    ("Physical Locations", "view", None, "stock_location_locations"),
    ("Partners", "view", None, "stock_location_locations_partner"),
    ("Virtual Locations", "view", None, "stock_location_locations_virtual"),
    ("Vendors", "supplier", 2, "stock_location_suppliers"),
    ("Customers", "customer", 2, "stock_location_customers"),
    ("Inventory adjustment", "inventory", 3, "stock_location_inventory"),
]


def _xmlid(env: Env, module: str, name: str, model: str, res_id: int) -> None:
    env["ir.model.data"].create_records(
        [{"module": module, "name": name, "model": model, "res_id": res_id, "noupdate": True}]
    )


def seed(env: Env) -> None:
    store = env.store
    reflect(env)
    currency_ids: dict[str, int] = {}
    for code, full, symbol, active in CURRENCIES:
        cid = env["res.currency"].create_records(
            [
                {
                    "name": code,
                    "full_name": full,
                    "symbol": symbol,
                    "active": active,
                    "position": "after" if code == "EUR" else "before",
                }
            ]
        )[0]
        currency_ids[code] = cid
        _xmlid(env, "base", code, "res.currency", cid)
    for code, name, currency, phone in COUNTRIES:
        cid = env["res.country"].create_records(
            [
                {
                    "name": name,
                    "code": code,
                    "currency_id": currency_ids[currency],
                    "phone_code": phone,
                }
            ]
        )[0]
        _xmlid(env, "base", code.lower(), "res.country", cid)
    partners = env["res.partner"]
    company_partner = partners.create_records(
        [{"name": "My Company", "is_company": True, "email": "info@yourcompany.com"}]
    )[0]
    bot_partner = partners.create_records(
        [{"name": "OdooBot", "active": False, "email": "odoobot@example.com"}]
    )[0]
    admin_partner = partners.create_records(
        [{"name": "Administrator", "email": "admin@yourcompany.example.com"}]
    )[0]
    company_currency = "USD"
    company = env["res.company"].create_records(
        [
            {
                "name": "My Company",
                "partner_id": company_partner,
                "currency_id": currency_ids[company_currency],
            }
        ]
    )[0]
    for pid in (company_partner, bot_partner, admin_partner):
        store.update("res.partner", pid, {"company_id": company})
    # res.company._get_default_pricelist_vals (created with the Pricelists setting on)
    env["product.pricelist"].create_records(
        [
            {
                "name": default_pricelist_name(env.major, company_currency),
                "currency_id": currency_ids[company_currency],
                "company_id": company,
                "sequence": 10,
            }
        ]
    )
    users = env["res.users"]
    root = users.create_records(
        [{"login": "__system__", "partner_id": bot_partner, "active": False}]
    )[0]
    admin = users.create_records([{"login": "admin", "partner_id": admin_partner}])[0]
    assert (root, admin) == (SUPERUSER_ID, ADMIN_UID)
    for module, name, model, res_id in [
        ("base", "main_company", "res.company", company),
        ("base", "main_partner", "res.partner", company_partner),
        ("base", "partner_root", "res.partner", bot_partner),
        ("base", "partner_admin", "res.partner", admin_partner),
        ("base", "user_root", "res.users", root),
        ("base", "user_admin", "res.users", admin),
    ]:
        _xmlid(env, module, name, model, res_id)
    install_demo_user(env)
    uom = env["uom.uom"].create_records([{"name": "Units"}, {"name": "Dozens"}, {"name": "kg"}])
    _xmlid(env, "uom", "product_uom_unit", "uom.uom", uom[0])
    categ = env["product.category"].create_records([{"name": "All"}])[0]
    _xmlid(env, "product", "product_category_all", "product.category", categ)
    loc_ids: list[int] = []
    for name, usage, parent, xmlid in LOCATIONS:
        parent_id = loc_ids[parent - 1] if parent else False
        lid = env["stock.location"].create_records(
            [{"name": name, "usage": usage, "location_id": parent_id}]
        )[0]
        loc_ids.append(lid)
        _xmlid(env, "stock", xmlid, "stock.location", lid)
    install_warehouse(env)
    storable: dict[str, Any] = (
        {"type": "consu", "is_storable": True} if env.major >= 18 else {"detailed_type": "product"}
    )
    for code, name, price, barcode in PRODUCTS:
        tmpl = env["product.template"].create_records(
            [
                {
                    "name": name,
                    "list_price": price,
                    "default_code": code,
                    "barcode": barcode,
                    **storable,
                }
            ]
        )[0]
        variant = env["product.template"].values([tmpl], "product_variant_id")[tmpl]
        _xmlid(env, "ferry_demo", product_xmlid(code), "product.product", variant)
    stock_products(env)


def product_xmlid(code: str) -> str:
    return f"product_{code.lower().replace('-', '_')}"


def install_demo_user(env: Env) -> int:
    """Odoo's demo user: Marc Demo, login ``demo``, an internal user of the main company."""
    found = [u for u, row in env.store.tables["res.users"].items() if row.get("login") == DEMO]
    if found:
        return found[0]
    company = xmlid_res_id(env, "base", "main_company") or 1
    partner = env["res.partner"].create_records(
        [
            {
                "name": "Marc Demo",
                "email": "mark.brown23@example.com",
                "tz": "Europe/Brussels",
                "company_id": company,
            }
        ]
    )[0]
    uid = env["res.users"].create_records(
        [{"login": DEMO, "partner_id": partner, "company_id": company, "company_ids": [company]}]
    )[0]
    _xmlid(env, "base", "partner_demo", "res.partner", partner)
    _xmlid(env, "base", "user_demo", "res.users", uid)
    return uid


def install_warehouse(env: Env) -> int:
    """The main company's warehouse ``WH`` (named after the company) with ``WH/Stock`` and its
    receipt and delivery operation types; reuses existing ``WH`` locations."""
    warehouses = env.store.tables["stock.warehouse"]
    if warehouses:
        return min(warehouses)
    company = xmlid_res_id(env, "base", "main_company") or 1
    vals: dict[str, Any] = {
        "name": env.store.tables["res.company"][company]["name"],
        "code": "WH",
        "company_id": company,
        "partner_id": env.store.tables["res.company"][company].get("partner_id") or False,
    }
    view = xmlid_res_id(env, "stock", "warehouse0_view_location")
    stock = xmlid_res_id(env, "stock", "stock_location_stock")
    if view and stock:
        vals["view_location_id"], vals["lot_stock_id"] = view, stock
        # a view location's full name is its own name (an older seed prefixed its parent)
        env["stock.location"].write_ids([view], {"name": "WH"})
    wid = env["stock.warehouse"].create_records([vals])[0]
    row = env.store.tables["stock.warehouse"][wid]
    if not view:
        _xmlid(env, "stock", "warehouse0_view_location", "stock.location", row["view_location_id"])
    if not stock:
        _xmlid(env, "stock", "stock_location_stock", "stock.location", row["lot_stock_id"])
    _xmlid(env, "stock", "warehouse0", "stock.warehouse", wid)
    _xmlid(env, "stock", "picking_type_in", "stock.picking.type", row["in_type_id"])
    _xmlid(env, "stock", "picking_type_out", "stock.picking.type", row["out_type_id"])
    return wid


def stock_products(env: Env) -> None:
    """Put ``ON_HAND`` of every seeded product without any quant in ``WH/Stock``, the way a
    user counts it: ``inventory_quantity`` in inventory mode, then ``action_apply_inventory``."""
    stock = xmlid_res_id(env, "stock", "stock_location_stock")
    if not stock:
        return
    quants = env.with_context(inventory_mode=True)["stock.quant"]
    assert isinstance(quants, StockQuant)
    has_quant = {row.get("product_id") for row in env.store.tables["stock.quant"].values()}
    counted = []
    for code, *_rest in PRODUCTS:
        product = xmlid_res_id(env, "ferry_demo", product_xmlid(code))
        if product and product in env.store.tables["product.product"] and product not in has_quant:
            counted += quants.create_records(
                [{"product_id": product, "location_id": stock, "inventory_quantity": ON_HAND}]
            )
    if counted:
        quants.action_apply_inventory(counted)


def upgrade(env: Env) -> None:
    """Bring a database seeded by an older emulator up to date (a data dir kept across
    versions): the models and fields reflected, the demo user, the warehouse and the seeded
    products' stock."""
    reflect(env)
    install_demo_user(env)
    if env.store.tables["stock.location"]:
        install_warehouse(env)
        stock_products(env)
