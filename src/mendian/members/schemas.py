from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Field, Schema


class MemberIn(Schema):
    mobile: str = Field(..., min_length=8, max_length=20)
    name: str = Field("", max_length=100)
    channel: str = Field("pos", pattern="^(pos|online|miniprogram|app)$")
    store: str | None = Field(None, description="location code of registration; a store user's own store by default")
    birthday: dt.date | None = None
    consent_marketing: bool = False
    consent_data: bool = False


class TierRef(Schema):
    code: str
    name_zh: str
    name_en: str


class MemberOut(Schema):
    code: str
    mobile: str = Field(..., description="masked (138****1234) unless you hold the PII permission")
    name: str
    channel: str
    store: str | None
    birthday: dt.date | None
    consent_marketing: bool
    consent_data: bool
    tier: TierRef | None
    growth_value: int
    points_balance: int
    orders_count: int
    created_at: dt.datetime


class MemberListOut(Schema):
    items: list[MemberOut]
    count: int


class CouponOut(Schema):
    code: str
    template: str
    name: str
    kind: str
    amount: str
    threshold: str
    rate: str | None
    cap: str | None
    item_sku: str
    status: str
    state: str
    source: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    issued_at: dt.datetime
    used_at: dt.datetime | None
    order_number: str


class WalletOut(Schema):
    member: str
    items: list[CouponOut]
    count: int


class PointsEntryOut(Schema):
    kind: str
    points: int
    remaining: int
    expires_at: dt.datetime | None
    order_number: str
    amount: str | None
    note: str
    at: dt.datetime


class PointsOut(Schema):
    member: str
    balance: int
    value: str
    expiring_this_year: int
    items: list[PointsEntryOut]
    count: int


class PointsAdjustIn(Schema):
    points: int = Field(..., ge=-10_000_000, le=10_000_000)
    note: str = Field(..., min_length=1, max_length=200)


class TemplateIn(Schema):
    code: str = Field(..., min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str = Field(..., min_length=1, max_length=100)
    kind: str = Field(..., pattern="^(threshold|no_threshold|percent|item|free_shipping)$")
    amount: Decimal = Field(Decimal("0"), ge=0, le=1_000_000, decimal_places=2)
    threshold: Decimal = Field(Decimal("0"), ge=0, le=10_000_000, decimal_places=2)
    rate: Decimal | None = Field(None, gt=0, lt=1, decimal_places=4)
    cap: Decimal | None = Field(None, gt=0, le=1_000_000, decimal_places=2)
    item_sku: str = Field("", max_length=32)
    skus: list[str] = Field(default_factory=list, max_length=10_000)
    categories: list[str] = Field(default_factory=list, max_length=1000)
    brands: list[str] = Field(default_factory=list, max_length=1000)
    exclude_skus: list[str] = Field(default_factory=list, max_length=10_000)
    stores: list[str] = Field(default_factory=list, max_length=10_000)
    regions: list[str] = Field(default_factory=list, max_length=1000)
    channels: list[str] = Field(default_factory=list, max_length=4)
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None
    valid_days: int | None = Field(None, ge=1, le=3650)
    total_quota: int | None = Field(None, ge=1, le=100_000_000)
    per_member_limit: int = Field(1, ge=1, le=1000)
    claimable: bool = False
    issue_on_registration: bool = False


class TemplateOut(Schema):
    code: str
    name: str
    kind: str
    amount: str
    threshold: str
    rate: str | None
    cap: str | None
    item_sku: str
    skus: list[str]
    categories: list[str]
    brands: list[str]
    exclude_skus: list[str]
    stores: list[str]
    regions: list[str]
    channels: list[str]
    valid_from: dt.datetime | None
    valid_to: dt.datetime | None
    valid_days: int | None
    total_quota: int | None
    issued_count: int
    per_member_limit: int
    claimable: bool
    issue_on_registration: bool
    active: bool


class TemplateListOut(Schema):
    items: list[TemplateOut]
    count: int


class ClaimIn(Schema):
    member: str = Field(..., max_length=16)
    template: str = Field(..., max_length=32)


class BatchIn(Schema):
    template: str = Field(..., max_length=32)
    member_codes: list[str] = Field(default_factory=list, max_length=100_000)
    segment: dict = Field(default_factory=dict, description="tiers, stores, regions, channels, birthday_month, "
                                                            "min_growth, registered_after, marketing_consent")


class BatchOut(Schema):
    number: str
    template: str
    status: str
    total: int
    processed: int
    issued: int
    skipped: int
    created_at: dt.datetime
    finished_at: dt.datetime | None


class OfferStoreOut(Schema):
    code: str
    name: str
    city: str
    address: str
    latitude: float
    longitude: float
    distance_km: float
    coupon_templates: list[TemplateOut]
    promotions: list[dict]


class StoreOffersOut(Schema):
    items: list[OfferStoreOut]
    count: int
    promotions_included: bool
