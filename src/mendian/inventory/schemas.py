from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class LotOut(Schema):
    lot: str | None
    expiry: dt.date | None
    on_hand: int
    reserved: int
    available: int


class StockOut(Schema):
    location: str
    sku: str
    sku_name: str
    on_hand: int
    reserved: int
    available: int
    lots: list[LotOut]


class StockListOut(Schema):
    items: list[StockOut]
    count: int


class AdjustmentIn(Schema):
    location: str = Field(..., max_length=16)
    sku: str = Field(..., max_length=32)
    delta: int = Field(..., description="base units; negative takes stock off", ge=-10_000_000, le=10_000_000)
    reason: str = Field(..., description="correction, damage, theft, found, expired or other", max_length=16)
    note: str = Field("", max_length=200)
    lot: str | None = Field(None, max_length=64, description="a lot code of a lot-tracked SKU (optional)")


class AdjustedLotOut(Schema):
    lot: str | None
    quantity: int


class AdjustmentOut(Schema):
    location: str
    sku: str
    delta: int
    reason: str
    note: str
    on_hand: int
    reserved: int
    available: int
    lots: list[AdjustedLotOut]


class CountLineIn(Schema):
    sku: str = Field(..., max_length=32)
    counted: int = Field(..., ge=0, le=100_000_000)
    lot: str | None = Field(None, max_length=64)


class CountIn(Schema):
    location: str = Field(..., max_length=16)
    lines: list[CountLineIn] = Field(..., min_length=1, max_length=5000)
    note: str = Field("", max_length=200)


class CountLineOut(Schema):
    sku: str
    lot: str | None
    book: int
    counted: int
    variance: int


class CountOut(Schema):
    number: str
    location: str
    created_at: dt.datetime
    note: str
    lines: list[CountLineOut]


class MovementOut(Schema):
    id: int
    at: dt.datetime
    reason: str
    cause: str
    lot: str | None
    on_hand_delta: int
    reserved_delta: int
    unit_cost: str | None = Field(None, description="tax-exclusive cost per base unit, 4 decimal places")
    doc_type: str
    doc_ref: str
    note: str
    user: str | None


class MovementListOut(Schema):
    items: list[MovementOut]
    count: int


class CountTaskOut(Schema):
    id: int
    location: str
    sku: str
    sku_name: str
    reason: str
    status: str
    created_at: dt.datetime
    done_at: dt.datetime | None


class CountTaskListOut(Schema):
    items: list[CountTaskOut]
    count: int
