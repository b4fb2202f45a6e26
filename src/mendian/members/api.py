"""Members API: members (PII-masked per permission), wallet and points, coupon templates, claims,
HQ batches, and store offers by location.

Members are chain-wide (one person across every store and channel): HQ, regional directors, store
managers and cashiers may register and look them up; buyers may not (403). The mobile number is
shown whole only to users with ``org.view_pii``; everyone else sees ``138****1234``. Look-ups by
mobile and unmasked reads are audited. Coupon templates and batches are HQ work (marketing = hq).
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from mendian.core.errors import InvalidInput, NotFound, PermissionDenied, unknown_code
from mendian.core.money import money_str
from mendian.org.models import Location
from mendian.org.scope import Scope, user_scope
from mendian.platform.audit import audit_record
from mendian.platform.idempotency import MissingIdempotencyKey, idempotent_create
from mendian.platform.schemas import ErrorOut

from . import domain, selectors, services
from .models import Coupon, CouponBatch, CouponTemplate, Member, PointsEntry
from .schemas import (
    BatchIn,
    BatchOut,
    ClaimIn,
    CouponOut,
    MemberIn,
    MemberListOut,
    MemberOut,
    PointsAdjustIn,
    PointsOut,
    StoreOffersOut,
    TemplateIn,
    TemplateListOut,
    TemplateOut,
    WalletOut,
)

router = Router(tags=["members"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
MEMBER_ROLES = ("hq", "region", "store_manager", "cashier")


def _key(request: HttpRequest) -> str:
    key = request.headers.get("Idempotency-Key") or None
    if not key:
        raise MissingIdempotencyKey()
    return key


def _member_staff(scope: Scope) -> None:
    if not scope.has_role(*MEMBER_ROLES):
        raise PermissionDenied("members are for HQ, regional directors, store managers and cashiers")


def _hq(scope: Scope) -> None:
    if not scope.is_hq:
        raise PermissionDenied("coupon templates and batches are HQ (marketing) work")


def _member_or_404(code: str) -> Member:
    m = selectors.member_get(code=code)
    if m is None:
        raise NotFound(f"member {code} not found", code="member_not_found")
    return m


def member_out(m: Member, scope: Scope) -> dict:
    t = m.tier
    return {"code": m.code, "mobile": selectors.shown_mobile(m.mobile, can_view_pii=scope.can_view_pii),
            "name": m.name, "channel": m.channel, "store": m.store.code if m.store_id else None,
            "birthday": m.birthday, "consent_marketing": m.consent_marketing, "consent_data": m.consent_data,
            "tier": {"code": t.code, "name_zh": t.name_zh, "name_en": t.name_en} if t else None,
            "growth_value": m.growth_value, "points_balance": m.points_balance, "orders_count": m.orders_count,
            "created_at": m.created_at}


def _opt_money(v) -> str | None:
    return money_str(v) if v is not None else None


def template_out(t: CouponTemplate) -> dict:
    return {"code": t.code, "name": t.name, "kind": t.kind, "amount": money_str(t.amount),
            "threshold": money_str(t.threshold), "rate": f"{t.rate:.4f}" if t.rate is not None else None,
            "cap": _opt_money(t.cap), "item_sku": t.item_sku, "skus": t.skus, "categories": t.categories,
            "brands": t.brands, "exclude_skus": t.exclude_skus, "stores": t.stores, "regions": t.regions,
            "channels": t.channels, "valid_from": t.valid_from, "valid_to": t.valid_to, "valid_days": t.valid_days,
            "total_quota": t.total_quota, "issued_count": t.issued_count, "per_member_limit": t.per_member_limit,
            "claimable": t.claimable, "issue_on_registration": t.issue_on_registration, "active": t.active}


def coupon_out(c: Coupon, state: str) -> dict:
    t = c.template
    return {"code": c.code, "template": t.code, "name": t.name, "kind": t.kind, "amount": money_str(t.amount),
            "threshold": money_str(t.threshold), "rate": f"{t.rate:.4f}" if t.rate is not None else None,
            "cap": _opt_money(t.cap), "item_sku": t.item_sku, "status": c.status, "state": state,
            "source": c.source, "valid_from": c.valid_from, "valid_to": c.valid_to, "issued_at": c.issued_at,
            "used_at": c.used_at, "order_number": c.order_number}


def batch_out(b: CouponBatch) -> dict:
    return {"number": b.number, "template": b.template.code, "status": b.status, "total": b.total,
            "processed": b.processed, "issued": b.issued, "skipped": b.skipped, "created_at": b.created_at,
            "finished_at": b.finished_at}


def _registration_store(scope: Scope, code: str | None) -> Location | None:
    if code:
        loc = Location.objects.filter(code=code).first()
        if loc is None:
            raise unknown_code("store", code)
        if not scope.sees(loc.pk):
            raise PermissionDenied(f"store {code} is outside your scope", details={"field": "store"})
        return loc
    if scope.chain_wide:
        return None
    if scope.location_ids and len(scope.location_ids) == 1:
        return Location.objects.get(pk=next(iter(scope.location_ids)))
    raise InvalidInput("give the store of registration", code="store_required", details={"field": "store"})


# ---- members -------------------------------------------------------------------------------------


@router.post("/members", response={201: MemberOut, **ERRORS}, summary="Register a member")
def member_register(request: HttpRequest, payload: MemberIn):
    """One member per person: a mobile number already registered answers 409 `member_exists` with the
    existing member's code in `details.member`. Header `Idempotency-Key` required."""
    scope = user_scope(request.user)
    _member_staff(scope)
    key = _key(request)
    store = _registration_store(scope, payload.store)

    def create():
        m = services.member_register(actor=request.user, mobile=payload.mobile, name=payload.name,
                                     channel=payload.channel, store=store, birthday=payload.birthday,
                                     consent_marketing=payload.consent_marketing,
                                     consent_data=payload.consent_data)
        return 201, member_out(selectors.member_get(code=m.code), scope)

    stored = idempotent_create(user_id=request.user.pk, scope="member", key=key,
                               payload=payload.model_dump(mode="json"), create=create)
    return Status(stored.status, stored.body)


class MemberFilters(Schema):
    mobile: str | None = None
    tier: str | None = None
    limit: int = 50
    offset: int = 0


@router.get("/members", response={200: MemberListOut, **ERRORS})
def member_list(request: HttpRequest, filters: Query[MemberFilters]):
    """`?mobile=` looks a member up by the full mobile number (the till's look-up; audited). Listing
    without a mobile is for HQ only."""
    scope = user_scope(request.user)
    _member_staff(scope)
    if filters.mobile is not None:
        with transaction.atomic():
            m = selectors.member_by_mobile(mobile=filters.mobile)
            services.member_lookup_record(actor=request.user, mobile=filters.mobile, found=m.code if m else None)
        return {"items": [member_out(m, scope)] if m else [], "count": 1 if m else 0}
    if not scope.is_hq:
        raise InvalidInput("look members up by mobile", code="mobile_required", details={"field": "mobile"})
    qs = Member.objects.select_related("tier", "store").order_by("code")
    if filters.tier:
        qs = qs.filter(tier__code=filters.tier)
    limit, offset = max(1, min(filters.limit, 500)), max(0, filters.offset)
    return {"items": [member_out(m, scope) for m in qs[offset:offset + limit]], "count": qs.count()}


@router.get("/members/{code}", response={200: MemberOut, **ERRORS})
def member_get(request: HttpRequest, code: str):
    scope = user_scope(request.user)
    _member_staff(scope)
    m = _member_or_404(code)
    if scope.can_view_pii:
        audit_record(actor=request.user, action="member.view_pii", object_type="member", object_ref=m.code)
    return member_out(m, scope)


@router.get("/members/{code}/wallet", response={200: WalletOut, **ERRORS})
def member_wallet(request: HttpRequest, code: str, status: str | None = None, limit: int = 50, offset: int = 0):
    """The member's coupons; `status`: available, used, expired, void (default: all)."""
    scope = user_scope(request.user)
    _member_staff(scope)
    m = _member_or_404(code)
    rows, count = selectors.wallet_list(member=m, status=status, limit=max(1, min(limit, 500)),
                                        offset=max(0, offset))
    return {"member": m.code, "items": [coupon_out(c, s) for c, s in rows], "count": count}


def _entry_out(e: PointsEntry) -> dict:
    return {"kind": e.kind, "points": e.points, "remaining": e.remaining, "expires_at": e.expires_at,
            "order_number": e.order_number, "amount": _opt_money(e.amount), "note": e.note, "at": e.at}


@router.get("/members/{code}/points", response={200: PointsOut, **ERRORS})
def member_points(request: HttpRequest, code: str, limit: int = 50, offset: int = 0):
    """Balance, its value at the redemption rate, points expiring at the end of this year, the ledger."""
    import datetime as dt

    from mendian.core.timeutil import local_date, local_tz

    scope = user_scope(request.user)
    _member_staff(scope)
    m = _member_or_404(code)
    rows, count = selectors.points_history(member=m, limit=max(1, min(limit, 500)), offset=max(0, offset))
    year_end = dt.datetime(local_date().year + 1, 1, 1, tzinfo=local_tz())
    policy = selectors.points_policy()
    return {"member": m.code, "balance": m.points_balance,
            "value": money_str(domain.points_value(m.points_balance, policy.points_per_yuan)),
            "expiring_this_year": selectors.points_expiring(member=m, before=year_end),
            "items": [_entry_out(e) for e in rows], "count": count}


@router.post("/members/{code}/points/adjust", response={200: PointsOut, **ERRORS})
def member_points_adjust(request: HttpRequest, code: str, payload: PointsAdjustIn):
    """HQ corrects a balance (goodwill, migration); audited."""
    scope = user_scope(request.user)
    _hq(scope)
    m = _member_or_404(code)
    services.points_adjust(actor=request.user, member=m, points=payload.points, note=payload.note)
    return member_points(request, code)


# ---- coupon templates, claims, batches -------------------------------------------------------


@router.get("/coupon-templates", response={200: TemplateListOut, **ERRORS})
def template_list(request: HttpRequest, claimable: bool | None = None, limit: int = 50, offset: int = 0):
    scope = user_scope(request.user)
    _member_staff(scope)
    qs = CouponTemplate.objects.order_by("code")
    if claimable is not None:
        qs = qs.filter(claimable=claimable)
    limit, offset = max(1, min(limit, 500)), max(0, offset)
    return {"items": [template_out(t) for t in qs[offset:offset + limit]], "count": qs.count()}


@router.post("/coupon-templates", response={201: TemplateOut, **ERRORS}, summary="Create a coupon template")
def template_create(request: HttpRequest, payload: TemplateIn):
    """HQ (marketing). Header `Idempotency-Key` required."""
    scope = user_scope(request.user)
    _hq(scope)
    key = _key(request)
    fields = payload.model_dump()

    def create():
        t = services.coupon_template_create(actor=request.user, **fields)
        return 201, template_out(t)

    stored = idempotent_create(user_id=request.user.pk, scope="coupon_template", key=key,
                               payload=payload.model_dump(mode="json"), create=create)
    return Status(stored.status, stored.body)


@router.get("/coupon-templates/{code}", response={200: TemplateOut, **ERRORS})
def template_get(request: HttpRequest, code: str):
    _member_staff(user_scope(request.user))
    t = CouponTemplate.objects.filter(code=code).first()
    if t is None:
        raise NotFound(f"coupon template {code} not found")
    return template_out(t)


@router.post("/coupons/claim", response={201: CouponOut, **ERRORS}, summary="Claim a coupon for a member")
def coupon_claim(request: HttpRequest, payload: ClaimIn):
    """领券: a claimable template into the member's wallet (per-member and total quotas apply: 409
    `coupon_member_limit` / `coupon_quota_exhausted`). Header `Idempotency-Key` required."""
    scope = user_scope(request.user)
    _member_staff(scope)
    key = _key(request)
    m = selectors.member_get(code=payload.member)
    if m is None:
        raise unknown_code("member", payload.member)

    def create():
        c = services.coupon_claim(member=m, template_code=payload.template, actor=request.user)
        return 201, coupon_out(c, selectors.coupon_state(c, c.issued_at))

    stored = idempotent_create(user_id=request.user.pk, scope="coupon_claim", key=key,
                               payload=payload.model_dump(mode="json"), create=create)
    return Status(stored.status, stored.body)


@router.post("/coupon-batches", response={201: BatchOut, 202: BatchOut, **ERRORS}, summary="Issue coupons in bulk")
def batch_create(request: HttpRequest, payload: BatchIn):
    """HQ issues a template to `member_codes` or a `segment`. Small batches are issued at once (201,
    `done`); large ones are queued (202) and issued by the worker, progress at
    `GET /coupon-batches/{number}`. Header `Idempotency-Key` required."""
    scope = user_scope(request.user)
    _hq(scope)
    key = _key(request)

    def create():
        b = services.coupon_batch_create(actor=request.user, template_code=payload.template,
                                         member_codes=payload.member_codes, segment=payload.segment)
        return (201 if b.status == CouponBatch.Status.DONE else 202), batch_out(b)

    stored = idempotent_create(user_id=request.user.pk, scope="coupon_batch", key=key,
                               payload=payload.model_dump(mode="json"), create=create)
    return Status(stored.status, stored.body)


@router.get("/coupon-batches/{number}", response={200: BatchOut, **ERRORS})
def batch_get(request: HttpRequest, number: str):
    _hq(user_scope(request.user))
    b = CouponBatch.objects.select_related("template").filter(number=number).first()
    if b is None:
        raise NotFound(f"coupon batch {number} not found")
    return batch_out(b)


# ---- store offers --------------------------------------------------------------------------------


class OfferFilters(Schema):
    lat: float
    lon: float
    limit: int = 5
    channel: str = "miniprogram"


@router.get("/store-offers", response={200: StoreOffersOut, **ERRORS})
def store_offers(request: HttpRequest, filters: Query[OfferFilters]):
    """门店专属优惠: the nearest stores to (lat, lon) with the claimable coupon templates in scope of
    each, and the active promotions in scope when the promotions app provides them
    (`promotions_included`)."""
    if not (-90 <= filters.lat <= 90 and -180 <= filters.lon <= 180):
        raise InvalidInput("lat must be in [-90, 90] and lon in [-180, 180]", details={"field": "lat"})
    rows = selectors.store_offers(lat=filters.lat, lon=filters.lon, limit=max(1, min(filters.limit, 50)),
                                  channel=filters.channel)
    items = [{"code": r.store.code, "name": r.store.name, "city": r.store.city, "address": r.store.address,
              "latitude": float(r.store.latitude), "longitude": float(r.store.longitude),
              "distance_km": r.distance_km, "coupon_templates": [template_out(t) for t in r.templates],
              "promotions": r.promotions} for r in rows]
    return {"items": items, "count": len(items), "promotions_included": selectors.promotions_available()}
