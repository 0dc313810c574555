"""The business models the emulator serves, per Odoo version."""

from __future__ import annotations

from ..orm.model import BaseModel
from .account import AccountMove, AccountPayment
from .base import (
    IrModel,
    IrModelData,
    ResCompany,
    ResCountry,
    ResCurrency,
    ResPartner,
    ResUsers,
    UomUom,
)
from .product import ProductCategory, ProductPricelist, ProductProduct, ProductTemplate
from .sale import SaleOrder, SaleOrderLine
from .stock import StockLocation, StockPicking, StockQuant

ALL_MODELS: list[type[BaseModel]] = [
    IrModel,
    IrModelData,
    ResCompany,
    ResCountry,
    ResCurrency,
    ResPartner,
    ResUsers,
    UomUom,
    ProductCategory,
    ProductTemplate,
    ProductProduct,
    ProductPricelist,
    SaleOrder,
    SaleOrderLine,
    StockLocation,
    StockQuant,
    StockPicking,
    AccountMove,
    AccountPayment,
]

__all__ = ["ALL_MODELS"]
