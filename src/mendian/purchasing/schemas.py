from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Field, Schema


class SuggestIn(Schema):
    supplier: str | None = Field(None, description="supplier code; empty: every supplier")
    locations: list[str] = Field(default_factory=list, max_length=10_000, description="receiving locations; empty: all")
    budget: Decimal | None = Field(None, ge=0, le=Decimal("1e12"), description="total of the suggestion, excl. VAT")


class OrderLineIn(Schema):
    sku: str
    quantity: int = Field(..., gt=0, le=10_000_000)


class OrderIn(Schema):
    supplier: str
    location: str
    lines: list[OrderLineIn] = Field(..., min_length=1, max_length=1000)
    note: str = Field("", max_length=500)


class LineEditIn(Schema):
    sku: str
    quantity: int = Field(..., ge=0, le=10_000_000, description="0 removes the line")
    unit_cost: Decimal | None = Field(None, ge=0, le=Decimal("1e9"))


class CancelIn(Schema):
    reason: str = Field("", max_length=200)


class ConfirmLineIn(Schema):
    sku: str
    quantity: int = Field(..., ge=0, le=10_000_000)
    date: dt.date | None = None


class ConfirmIn(Schema):
    date: dt.date | None = Field(None, description="delivery date for lines not named")
    lines: list[ConfirmLineIn] = Field(default_factory=list, max_length=1000)
    note: str = Field("", max_length=500)


class OrderLineOut(Schema):
    line: int
    sku: str
    sku_name: str
    quantity: int
    pack_size: int
    packs: int
    unit_cost: str = Field(..., description="tax-exclusive per base unit, 4 places")
    amount: str
    confirmed_qty: int | None
    confirmed_date: dt.date | None
    accepted_qty: int
    rejected_qty: int
    suggestion: dict


class OrderOut(Schema):
    number: str
    status: str
    supplier: str
    supplier_name: str
    location: str
    source: str
    expected_date: dt.date | None
    note: str
    total: str
    created_at: dt.datetime
    approved_at: dt.datetime | None
    sent_at: dt.datetime | None
    confirmed_at: dt.datetime | None
    received_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    lines: list[OrderLineOut]


class OrderListOut(Schema):
    items: list[OrderOut]
    count: int


class SuggestOut(Schema):
    orders: list[OrderOut]
    dropped: list[dict]
    cut: list[dict]
    total: str
    budget: str | None
    pairs_considered: int


class NoticeLineIn(Schema):
    sku: str
    quantity: int = Field(..., gt=0, le=10_000_000)
    lot: str = Field("", max_length=64)
    expiry: dt.date | None = None


class NoticeIn(Schema):
    order: str
    lines: list[NoticeLineIn] = Field(..., min_length=1, max_length=1000)
    expected_at: dt.datetime | None = None
    carrier: str = Field("", max_length=100)
    supplier_ref: str = Field("", max_length=64)


class NoticeOut(Schema):
    number: str
    order: str
    supplier: str
    location: str
    status: str
    expected_at: dt.datetime | None
    carrier: str
    supplier_ref: str
    created_at: dt.datetime
    lines: list[dict]
    appointments: list[dict]
    qc_reports: list[dict]


class NoticeListOut(Schema):
    items: list[NoticeOut]
    count: int


class AppointmentIn(Schema):
    ship_notice: str
    slot_start: dt.datetime


class AppointmentOut(Schema):
    number: str
    ship_notice: str
    location: str
    status: str
    slot_start: dt.datetime
    slot_end: dt.datetime
    booked_at: dt.datetime


class SlotOut(Schema):
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    booked: int
    free: int


class SlotListOut(Schema):
    items: list[SlotOut]
    count: int


class QcReportOut(Schema):
    ship_notice: str
    file: str
    original_name: str
    size: int
    sha256: str
    result: str
    note: str
    uploaded_at: dt.datetime


class ReceiveLineIn(Schema):
    sku: str
    received: int = Field(..., ge=0, le=10_000_000)
    rejected: int = Field(0, ge=0, le=10_000_000)
    reject_reason: str = Field("", max_length=200)
    lot: str = Field("", max_length=64)
    expiry: dt.date | None = None


class ReceiptIn(Schema):
    order: str | None = None
    ship_notice: str | None = None
    lines: list[ReceiveLineIn] = Field(..., min_length=1, max_length=1000)
    note: str = Field("", max_length=500)
    close: bool = Field(False, description="close the order even if lines are short")


class ReceiptOut(Schema):
    number: str
    order: str
    ship_notice: str | None
    location: str
    order_status: str
    received_at: dt.datetime
    lines: list[dict]
    discrepancies: list[dict]


class LotTraceOut(Schema):
    sku: str
    sku_name: str
    lot: str
    expiry: dt.date | None
    receipts: list[dict]
    movements: list[dict]
    on_hand: list[dict]


class LotTraceListOut(Schema):
    items: list[LotTraceOut]
    count: int


class ScorecardOut(Schema):
    supplier: str
    orders: int
    on_time_rate: float | None
    fill_rate: float | None
    reject_rate: float | None
    lead_time_mean_days: float | None
    lead_time_std_days: float | None
    lead_time_days: str
    lead_time_std_days_set: str
