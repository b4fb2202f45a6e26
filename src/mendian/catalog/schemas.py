from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Field, Schema


class SkuOut(Schema):
    code: str
    name: str
    product: str
    product_name: str
    category: str
    brand: str | None
    attributes: dict[str, Any]
    barcodes: list[str]
    price: str = Field(description="list price, tax-inclusive, per price_unit_qty base units")
    vat_rate: str = Field(description="percent, e.g. \"13.00\"")
    unit: str = Field(description="base unit: piece, or g for goods sold by weight")
    price_unit_qty: int
    lot_tracked: bool
    status: str
    pack_size: int
    plu: str | None


class SkuListOut(Schema):
    items: list[SkuOut]
    count: int


class PriceHistoryOut(Schema):
    id: int
    location: str | None
    old_price: str | None
    new_price: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    changed_by: str | None
    changed_at: dt.datetime
    applied: bool


class StorePriceOut(Schema):
    location: str
    price: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None


class SkuDetailOut(SkuOut):
    price_history: list[PriceHistoryOut]
    store_prices: list[StorePriceOut]
    effective_price: str | None = Field(None, description="the price at ?location=CODE now (override or list)")


class BarcodeOut(Schema):
    barcode: str
    kind: str = Field(description="ean13, internal, scale_weight or scale_price")
    sku: SkuOut
    weight_g: int | None = Field(None, description="carried by a scale label (kind scale_weight)")
    price: str | None = Field(None, description="carried by a scale label (kind scale_price)")


class CategoryOut(Schema):
    code: str
    name: str
    children: list[CategoryOut]


CategoryOut.model_rebuild()


class PriceChangeIn(Schema):
    sku: str = Field(..., max_length=32)
    location: str | None = Field(None, max_length=16, description="a store code; empty changes the list price")
    price: Decimal = Field(..., ge=0, max_digits=12, decimal_places=2)
    valid_from: dt.datetime | None = Field(None, description="default now")
    valid_to: dt.datetime | None = None
