"""Promotions API: manage rules (HQ) and price a cart (anyone who sees the store).

- ``GET /promotions``, ``GET /promotions/{code}``, ``POST /promotions`` (Idempotency-Key),
  ``POST /promotions/{code}/activate|pause|end``: HQ manages rules; other roles may read them.
- ``GET /promotions/{code}/effect?from=&to=`` (HQ): orders, units, discount cost, budget, covered-SKU
  sales against the same weekdays of the whole weeks before, incremental sales, cost per incremental
  yuan, a daily series; ``PUT /promotions/{code}/auto-pause`` sets the threshold it pauses itself at
  (``promotions/effect.py``).
- ``POST /pricing/quote``: price a cart for a store, channel and member; no write. ``member`` and
  ``coupons`` carry what the members app knows (tier, points balance, wallet coupons) until that app
  resolves codes itself.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field as NField
from ninja import Query, Router, Schema, Status

from mendian.core.errors import InvalidInput, NotFound, PermissionDenied, unknown_code
from mendian.org.models import Location
from mendian.org.scope import user_scope
from mendian.platform.idempotency import idempotent_create
from mendian.platform.schemas import ErrorOut

from . import effect, selectors, services
from .domain import MemberInput, PricingResult
from .domain.config import coupon_from_dict
from .models import Promotion

router = Router(tags=["promotions"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class PromotionIn(Schema):
    code: str = NField(..., min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str = NField(..., min_length=1, max_length=200)
    kind: str = NField(..., max_length=24)
    condition: dict[str, Any] = NField(default_factory=dict)
    benefit: dict[str, Any] = NField(default_factory=dict)
    priority: int = 0
    exclusive_group: str = NField("", max_length=32)
    combines_with_coupons: bool = True
    combines_with_member_price: bool = True
    combines_with_points: bool = True
    threshold_basis: str = NField("net", max_length=8)
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    budget: Decimal | None = NField(None, ge=0, max_digits=14, decimal_places=2)
    quota_total: int | None = NField(None, ge=0)
    per_member_units: int | None = NField(None, ge=1)
    refuse_over_quota: bool = False
    max_cost_per_incremental: Decimal | None = NField(
        None, gt=0, max_digits=8, decimal_places=4,
        description="pause itself when the discount per incremental yuan of covered sales passes this")
    pause_min_days: int = NField(3, ge=0, le=366, description="whole days since activation before judging")
    pause_min_orders: int = NField(20, ge=0, le=10_000_000, description="orders since activation before judging")


class AutoPauseIn(Schema):
    max_cost_per_incremental: Decimal | None = NField(..., gt=0, max_digits=8, decimal_places=4,
                                                      description="null: never pause itself")
    pause_min_days: int = NField(3, ge=0, le=366)
    pause_min_orders: int = NField(20, ge=0, le=10_000_000)


class PromotionOut(Schema):
    code: str
    name: str
    kind: str
    status: str
    priority: int
    exclusive_group: str
    combines_with_coupons: bool
    combines_with_member_price: bool
    combines_with_points: bool
    threshold_basis: str
    condition: dict[str, Any]
    benefit: dict[str, Any]
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    budget: str | None
    budget_used: str
    quota_total: int | None
    quota_used: int
    per_member_units: int | None
    max_cost_per_incremental: str | None
    pause_min_days: int
    pause_min_orders: int
    paused_reason: str


class EffectQuery(Schema):
    from_: dt.date | None = NField(None, alias="from", description="first local day (default: the start)")
    to: dt.date | None = NField(None, description="last local day (default: today or the end)")


class EffectDayOut(Schema):
    offset: int
    day: dt.date
    sales: str
    baseline: str
    orders: int
    discount: str


class EffectOut(Schema):
    promotion: str
    name: str
    status: str
    paused_reason: str
    from_: dt.date = NField(..., alias="from")
    to: dt.date
    days: int
    weeks: int
    baseline_from: dt.date
    baseline_to: dt.date
    orders: int
    units: int
    discount: str
    budget: str | None
    budget_used: str
    budget_left: str | None
    sales: str
    quantity: int
    baseline_sales: str
    expected_sales: str
    incremental_sales: str
    uplift: str | None
    cost_per_incremental: str | None
    no_incremental: bool
    covered: dict[str, list[str]]
    max_cost_per_incremental: str | None
    pause_min_days: int
    pause_min_orders: int
    days_active: int
    orders_active: int
    verdict: str
    verdict_reason: str
    series: list[EffectDayOut]


class PromotionListOut(Schema):
    items: list[PromotionOut]
    count: int


class PromotionFilters(Schema):
    status: str | None = NField(None, max_length=16)
    limit: int = NField(50, ge=1, le=500)
    offset: int = NField(0, ge=0)


class StatusIn(Schema):
    reason: str = NField("", max_length=200)


class QuoteLineIn(Schema):
    sku: str = NField(..., max_length=32)
    quantity: int = NField(..., ge=1, le=1_000_000)


class MemberIn(Schema):
    code: str = NField(..., max_length=32)
    tier: str = NField("", max_length=32)
    points_balance: int = NField(0, ge=0)
    is_new: bool = False
    first_order: bool = False


class QuoteIn(Schema):
    store: str = NField(..., max_length=16)
    channel: str = NField("pos", max_length=16)
    lines: list[QuoteLineIn] = NField(..., min_length=1, max_length=500)
    member: MemberIn | None = None
    coupons: list[dict[str, Any]] = NField(default_factory=list, max_length=50)
    points: int = NField(0, ge=0)
    shipping_fee: Decimal = NField(Decimal("0"), ge=0, max_digits=10, decimal_places=2)
    at: dt.datetime | None = None


class AdjustmentOut(Schema):
    promotion: str
    kind: str
    amount: str
    reason: str


class QuoteLineOut(Schema):
    sku: str
    quantity: int
    unit_price: str
    list_amount: str
    discount: str
    amount: str
    points_value: str
    adjustments: list[AdjustmentOut]


class AppliedOut(Schema):
    promotion: str
    kind: str
    saving: str
    reason: str
    units: int


class NotAppliedOut(Schema):
    promotion: str
    reason_code: str
    reason: str


class HintOut(Schema):
    promotion: str
    add_amount: str
    saving: str
    message: str


class GiftOut(Schema):
    promotion: str
    sku: str
    quantity: int
    value: str


class QuoteOut(Schema):
    lines: list[QuoteLineOut]
    subtotal: str
    discount: str
    shipping_fee: str
    shipping_discount: str
    total: str
    points_used: int
    points_value: str
    payable: str
    applied: list[AppliedOut]
    not_applied: list[NotAppliedOut]
    coupons_used: list[str]
    gifts: list[GiftOut]
    hints: list[HintOut]
    notes: list[str]
    exact: bool


def _promotion_out(p: Promotion) -> dict[str, Any]:
    return {"code": p.code, "name": p.name, "kind": p.kind, "status": p.status, "priority": p.priority,
            "exclusive_group": p.exclusive_group, "combines_with_coupons": p.combines_with_coupons,
            "combines_with_member_price": p.combines_with_member_price, "combines_with_points": p.combines_with_points,
            "threshold_basis": p.threshold_basis, "condition": p.condition, "benefit": p.benefit,
            "starts_at": p.starts_at, "ends_at": p.ends_at, "budget": None if p.budget is None else f"{p.budget:.2f}",
            "budget_used": f"{p.budget_used:.2f}", "quota_total": p.quota_total, "quota_used": p.quota_used,
            "per_member_units": p.per_member_units,
            "max_cost_per_incremental": _s(p.max_cost_per_incremental), "pause_min_days": p.pause_min_days,
            "pause_min_orders": p.pause_min_orders, "paused_reason": p.paused_reason}


def _s(v: Any) -> str | None:
    return None if v is None else str(v)


def effect_out(e: effect.PromotionEffect) -> dict[str, Any]:
    p, f, w = e.promotion, e.figures, e.figures.window
    return {
        "promotion": p.code, "name": p.name, "status": p.status, "paused_reason": p.paused_reason,
        "from": w.start, "to": w.end, "days": w.days, "weeks": w.weeks, "baseline_from": w.baseline_start,
        "baseline_to": w.baseline_end, "orders": f.orders, "units": f.units, "discount": str(f.discount),
        "budget": None if p.budget is None else f"{p.budget:.2f}", "budget_used": f"{p.budget_used:.2f}",
        "budget_left": None if e.budget_left is None else f"{e.budget_left:.2f}", "sales": str(f.sales),
        "quantity": f.quantity, "baseline_sales": str(f.baseline_sales), "expected_sales": str(f.expected_sales),
        "incremental_sales": str(f.incremental_sales), "uplift": _s(f.uplift),
        "cost_per_incremental": _s(f.cost_per_incremental), "no_incremental": f.no_incremental,
        "covered": e.coverage.description, "max_cost_per_incremental": _s(p.max_cost_per_incremental),
        "pause_min_days": p.pause_min_days, "pause_min_orders": p.pause_min_orders, "days_active": e.days_active,
        "orders_active": e.orders_active, "verdict": e.verdict.code, "verdict_reason": e.verdict.reason,
        "series": [{"offset": d.offset, "day": d.day, "sales": str(d.sales), "baseline": str(d.baseline),
                    "orders": d.orders, "discount": str(d.discount)} for d in f.series],
    }


def quote_out(r: PricingResult) -> dict[str, Any]:
    m = str
    return {
        "lines": [{"sku": ln.sku, "quantity": ln.quantity, "unit_price": m(ln.unit_price), "list_amount": m(ln.list_amount),
                   "discount": m(ln.discount), "amount": m(ln.amount), "points_value": m(ln.points_value),
                   "adjustments": [{"promotion": a.promotion, "kind": a.kind, "amount": m(a.amount), "reason": a.reason}
                                   for a in ln.adjustments]} for ln in r.lines],
        "subtotal": m(r.subtotal), "discount": m(r.discount), "shipping_fee": m(r.shipping_fee),
        "shipping_discount": m(r.shipping_discount), "total": m(r.total), "points_used": r.points_used,
        "points_value": m(r.points_value), "payable": m(r.payable),
        "applied": [{"promotion": a.promotion, "kind": a.kind, "saving": m(a.saving), "reason": a.reason, "units": a.units}
                    for a in r.applied],
        "not_applied": [{"promotion": n.promotion, "reason_code": n.reason_code, "reason": n.reason} for n in r.not_applied],
        "coupons_used": list(r.coupons_used),
        "gifts": [{"promotion": g.promotion, "sku": g.sku, "quantity": g.quantity, "value": m(g.value)} for g in r.gifts],
        "hints": [{"promotion": h.promotion, "add_amount": m(h.add_amount), "saving": m(h.saving), "message": h.message}
                  for h in r.hints],
        "notes": list(r.notes), "exact": r.exact,
    }


def _require_hq(request: HttpRequest) -> None:
    if not user_scope(request.user).is_hq:
        raise PermissionDenied("only HQ (marketing) manages promotions")


@router.get("/promotions", response={200: PromotionListOut, **ERRORS}, summary="Promotion rules")
def promotion_list(request: HttpRequest, filters: Query[PromotionFilters]):
    items, count = selectors.promotion_list(status=filters.status, limit=filters.limit, offset=filters.offset)
    return {"items": [_promotion_out(p) for p in items], "count": count}


@router.get("/promotions/{code}", response={200: PromotionOut, **ERRORS}, summary="One promotion rule")
def promotion_get(request: HttpRequest, code: str):
    p = Promotion.objects.filter(code=code).first()
    if p is None:
        raise NotFound(f"promotion {code} not found")
    return _promotion_out(p)


@router.get("/promotions/{code}/effect", response={200: EffectOut, **ERRORS}, by_alias=True,
            summary="A promotion's effect: usage, budget, covered-SKU sales against the weeks before")
def promotion_effect(request: HttpRequest, code: str, q: Query[EffectQuery]):
    _require_hq(request)
    p = Promotion.objects.filter(code=code).first()
    if p is None:
        raise NotFound(f"promotion {code} not found")
    window = None
    if q.from_ is not None or q.to is not None:
        default = effect.promotion_default_window(p)
        window = effect.effect_window_checked(q.from_ or default.start, q.to or default.end)
    return effect_out(effect.promotion_effect_get(promotion=p, window=window))


@router.put("/promotions/{code}/auto-pause", response={200: PromotionOut, **ERRORS},
            summary="Set or clear the threshold at which the promotion pauses itself")
def promotion_auto_pause(request: HttpRequest, code: str, payload: AutoPauseIn):
    _require_hq(request)
    return _promotion_out(services.promotion_auto_pause_set(actor=request.user, code=code, **payload.dict()))


@router.post("/promotions", response={201: PromotionOut, **ERRORS}, summary="Create a promotion rule (draft)")
def promotion_create(request: HttpRequest, payload: PromotionIn):
    _require_hq(request)
    body = payload.dict()

    def create():
        p = services.promotion_create(actor=request.user, **body)
        return 201, _promotion_out(p)

    stored = idempotent_create(user_id=request.user.pk, scope="promotions.create",
                               key=request.headers.get("Idempotency-Key") or None, payload=body, create=create,
                               required=False)
    return Status(stored.status, stored.body)


def _transition(request: HttpRequest, code: str, status: str, payload: StatusIn):
    _require_hq(request)
    return _promotion_out(services.promotion_set_status(actor=request.user, code=code, status=status,
                                                        reason=payload.reason))


@router.post("/promotions/{code}/activate", response={200: PromotionOut, **ERRORS}, summary="Activate")
def promotion_activate(request: HttpRequest, code: str, payload: StatusIn):
    return _transition(request, code, Promotion.Status.ACTIVE, payload)


@router.post("/promotions/{code}/pause", response={200: PromotionOut, **ERRORS}, summary="Pause")
def promotion_pause(request: HttpRequest, code: str, payload: StatusIn):
    return _transition(request, code, Promotion.Status.PAUSED, payload)


@router.post("/promotions/{code}/end", response={200: PromotionOut, **ERRORS}, summary="End")
def promotion_end(request: HttpRequest, code: str, payload: StatusIn):
    return _transition(request, code, Promotion.Status.ENDED, payload)


@router.post("/pricing/quote", response={200: QuoteOut, **ERRORS}, summary="Price a cart (no stock change)")
def pricing_quote(request: HttpRequest, payload: QuoteIn):
    scope = user_scope(request.user)
    store = Location.objects.filter(code=payload.store).first()
    if store is None:
        raise unknown_code("store", payload.store)
    if not scope.sees(store.pk):
        raise NotFound(f"store {payload.store} not found")
    try:
        coupons = [coupon_from_dict(c) for c in payload.coupons]
    except (ValueError, KeyError, TypeError) as e:
        raise InvalidInput(str(e), code="invalid_coupon") from e
    member = None
    if payload.member is not None:
        m = payload.member
        member = MemberInput(code=m.code, tier=m.tier, points_balance=m.points_balance, is_new=m.is_new,
                             first_order=m.first_order)
    result = services.pricing_quote(
        store=store, channel=payload.channel, lines=[services.QuoteLine(ln.sku, ln.quantity) for ln in payload.lines],
        member=member, coupons=coupons, points=payload.points, shipping_fee=payload.shipping_fee, at=payload.at)
    return quote_out(result)
