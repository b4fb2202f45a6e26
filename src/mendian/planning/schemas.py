from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema

from mendian.core.timeutil import local_tz


def iso(at: dt.datetime | None) -> str | None:
    return at.astimezone(local_tz()).isoformat() if at else None


class ForecastRunIn(Schema):
    locations: list[str] | None = Field(None, description="location codes; default: every location in your scope")
    skus: list[str] | None = Field(None, description="SKU codes; default: all")
    horizon: int = Field(28, ge=1, le=120)
    n_windows: int = Field(2, ge=1, le=6, description="cross-validation windows; the last one scores the choice")
    history_days: int = Field(730, ge=56, le=1095)
    as_of: dt.date | None = Field(None, description="last day of history; default: the last day with sales")
    drivers: list[str] | None = Field(None, description="holidays, promotions, factors (the default) and yearly (opt-in)")


class ForecastRunOut(Schema):
    id: int
    status: str
    as_of: dt.date
    horizon: int
    progress_done: int
    progress_total: int
    params: dict[str, Any]
    summary: dict[str, Any]
    error: str
    created_at: str | None
    started_at: str | None
    finished_at: str | None


class MetricsOut(Schema):
    mase: float | None
    wape: float | None
    bias: float | None


class ForecastOut(Schema):
    location: str
    sku: str
    run: int
    start: dt.date
    demand_class: str
    adi: float | None
    cv2: float | None
    abc: str
    xyz: str
    model: str
    metrics: MetricsOut
    seasonal_naive: MetricsOut
    sigma: float
    mean_daily: float
    history_days: int
    censored_days: int
    forecast: list[float]
    candidates: dict[str, float]
    drivers: dict[str, Any]
    note: str


class ForecastListOut(Schema):
    items: list[ForecastOut]
    count: int


class SafetyStockOut(Schema):
    location: str
    sku: str
    abc: str
    service_level: float
    safety_stock: int
    reorder_point: int
    order_up_to: int
    run: int | None
    computed_at: str | None
    explanation: dict[str, Any]


class SafetyStockListOut(Schema):
    items: list[SafetyStockOut]
    count: int


class FactorImportOut(Schema):
    rows: int
    names: list[str]
    first_day: str | None
    last_day: str | None


class SlowMoverOut(Schema):
    sku: str
    on_hand: int
    mean_daily: float
    weeks_of_cover: float | None
    days_since_last_sale: int | None
    flags: list[str]
    markdown_pct: str
    list_price: str
    proposed_price: str
    transfer_out_qty: int
    explanation: dict[str, Any]


class SlowMoverListOut(Schema):
    location: str
    as_of: dt.date
    items: list[SlowMoverOut]
    count: int
