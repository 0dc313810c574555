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
from .ir_model_fields import IrModelFields
from .product import ProductCategory, ProductPricelist, ProductProduct, ProductTemplate
from .sale import SaleOrder, SaleOrderLine
from .stock import StockLocation, StockPickingType, StockWarehouse
from .stock_picking import StockMove, StockPicking
from .stock_quant import StockQuant

ALL_MODELS: list[type[BaseModel]] = [
    IrModel,
    IrModelData,
    IrModelFields,
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
    StockWarehouse,
    StockPickingType,
    StockQuant,
    StockMove,
    StockPicking,
    AccountMove,
    AccountPayment,
]

__all__ = ["ALL_MODELS"]
