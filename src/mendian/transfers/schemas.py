from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Field, Schema


class PlanIn(Schema):
    region: str | None = Field(None, description="region code; empty: the whole chain (HQ) or your region")
    cost_per_unit_km: Decimal = Field(Decimal("0.005"), ge=0, le=1000)
    road_factor: Decimal = Field(Decimal("1.3"), ge=1, le=5)
    lane_fixed_cost: Decimal = Field(Decimal("30"), ge=0, le=1_000_000)
    handling_per_unit: Decimal = Field(Decimal("0.20"), ge=0, le=10_000)
    unmet_penalty_per_unit: Decimal = Field(Decimal("60"), ge=0, le=1_000_000)
    max_distance_km: float = Field(150.0, gt=0, le=5000)
    excluded_locations: list[str] = Field(default_factory=list, max_length=10_000)
    excluded_skus: list[str] = Field(default_factory=list, max_length=100_000)
    min_stock: int = Field(2, ge=0, le=100_000)
    lead_time_days: int = Field(7, ge=0, le=365)
    safety_days: int = Field(3, ge=0, le=365)
    time_limit: float = Field(2.0, gt=0, le=60)
    mip_seconds: float = Field(0.0, ge=0, le=600)


class MoveOut(Schema):
    from_location: str
    to_location: str
    sku: str
    quantity: int
    packs: int
    distance_km: float


class PlanOut(Schema):
    id: int
    status: str
    region: str | None
    parameters: dict
    figures: dict
    created_at: dt.datetime
    accepted_at: dt.datetime | None
    moves: list[MoveOut]
    moves_count: int
    orders: list[str]


class LineIn(Schema):
    sku: str
    quantity: int = Field(..., gt=0, le=1_000_000)


class TransferIn(Schema):
    from_location: str
    to_location: str
    lines: list[LineIn] = Field(..., min_length=1, max_length=500)
    note: str = Field("", max_length=200)


class ReceiveLineIn(Schema):
    sku: str
    received: int = Field(..., ge=0, le=1_000_000)
    damaged: int = Field(0, ge=0, le=1_000_000)


class ReceiveIn(Schema):
    lines: list[ReceiveLineIn] | None = Field(None, max_length=500)


class TransferLineOut(Schema):
    line: int
    sku: str
    sku_name: str
    quantity: int
    shipped: int
    received: int
    damaged: int
    short: int


class LocationRef(Schema):
    code: str
    name: str
    latitude: float | None
    longitude: float | None


class TransferOut(Schema):
    number: str
    status: str
    source: str
    plan: int | None
    from_location: LocationRef
    to_location: LocationRef
    distance_km: float | None
    note: str
    created_at: dt.datetime
    approved_at: dt.datetime | None
    shipped_at: dt.datetime | None
    received_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    lines: list[TransferLineOut]


class TransferListOut(Schema):
    items: list[TransferOut]
    count: int


class PlanAcceptOut(Schema):
    plan: int
    status: str
    orders: list[str]


class StopOut(Schema):
    location: str
    name: str
    latitude: float
    longitude: float
    action: str
    transfer: str | None
    arrive: str  # HH:MM
    load_after: int


class RouteOut(Schema):
    vehicle: int
    distance_km: float
    duration_min: int
    stops: list[StopOut]


class RoutesOut(Schema):
    date: dt.date
    depot: LocationRef | None
    transfers: int
    vehicles: int
    distance_km: float
    naive_km: float
    naive_trips: int
    distance_ratio: float
    dropped: list[str]
    seconds: float
    routes: list[RouteOut]


class SourcingIn(Schema):
    location: str
    lines: list[LineIn] = Field(..., min_length=1, max_length=200)
    max_distance_km: float = Field(150.0, gt=0, le=5000)


class SourcingOptionOut(Schema):
    from_location: LocationRef
    sku: str
    quantity: int
    distance_km: float


class SourcingOut(Schema):
    location: str
    shortfall: dict[str, int]
    sources: list[str]
    options: list[SourcingOptionOut]
    covered_units: int
    short_units: int
    cost: str
