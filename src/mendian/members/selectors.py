"""Members reads, including what the pricing engine needs (``mendian.promotions.domain`` inputs)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Q, Sum
from django.utils import timezone

from mendian.org.models import Location, Region
from mendian.promotions.domain import CouponInput, CouponKind, MemberInput, PointsPolicy, Scope

from . import domain
from .models import Coupon, CouponTemplate, Member, PointsEntry, PointsSettings, Tier

NEW_MEMBER_DAYS = 30


def member_get(*, code: str) -> Member | None:
    return Member.objects.select_related("tier", "store").filter(code=code).first()


def member_by_mobile(*, mobile: str) -> Member | None:
    normal = domain.normalise_mobile(mobile)
    if normal is None:
        return None
    return Member.objects.select_related("tier", "store").filter(mobile=normal).first()


def shown_mobile(mobile: str, *, can_view_pii: bool) -> str:
    return mobile if can_view_pii else domain.mask_mobile(mobile)


# ---- for the pricing engine ---------------------------------------------------------------------


def member_pricing_context(member_code: str, *, at: dt.datetime | None = None) -> MemberInput | None:
    """The engine's ``MemberInput``: tier code, points balance, new member (registered in the last
    ``NEW_MEMBER_DAYS`` days), first order (no paid order yet). None for an unknown code.
    ``promotion_uses`` / ``promotion_units`` are the promotions app's own counters and stay empty here."""
    at = at or timezone.now()
    row = (Member.objects.filter(code=member_code)
           .values_list("code", "tier__code", "points_balance", "created_at", "orders_count").first())
    if row is None:
        return None
    code, tier, balance, created_at, orders = row
    return MemberInput(code=code, tier=tier or "", points_balance=balance,
                       is_new=created_at > at - dt.timedelta(days=NEW_MEMBER_DAYS), first_order=orders == 0)


def points_policy() -> PointsPolicy:
    s = PointsSettings.current()
    return PointsPolicy(points_per_yuan=s.points_per_yuan, max_share=Decimal(s.max_share))


def tier_rates() -> dict[str, Decimal]:
    """Tier discount as the engine's TIER_PRICE ``tier_rates``: {tier code: rate to pay} (5% off → 0.95)."""
    return {code: (Decimal(100) - pct) / Decimal(100)
            for code, pct in Tier.objects.filter(discount_percent__gt=0).values_list("code", "discount_percent")}


@dataclass(frozen=True)
class MemberBenefits:
    tier: str
    discount_percent: Decimal
    member_prices: bool
    points_multiplier: Decimal
    free_shipping: bool


def member_benefits(member_code: str) -> MemberBenefits | None:
    """The member's tier benefits, for the cart (free shipping) and the till's display."""
    m = Member.objects.select_related("tier").filter(code=member_code).first()
    if m is None:
        return None
    t = m.tier
    if t is None:
        return MemberBenefits("", Decimal(0), False, Decimal(1), False)
    return MemberBenefits(t.code, Decimal(t.discount_percent), t.member_prices, Decimal(t.points_multiplier),
                          t.free_shipping)


def region_path(location: Location) -> tuple[str, ...]:
    """The location's region codes from the root down (e.g. ('HQ', 'YN', 'KM'))."""
    regions = {pk: (code, parent) for pk, code, parent in Region.objects.values_list("pk", "code", "parent_id")}
    path, rid, seen = [], location.region_id, set()
    while rid is not None and rid not in seen:
        seen.add(rid)
        code, parent = regions[rid]
        path.append(code)
        rid = parent
    return tuple(reversed(path))


def _template_in_context(t: CouponTemplate, *, store: str, regions: tuple[str, ...], channel: str) -> bool:
    if t.channels and channel not in t.channels:
        return False
    if t.stores and store not in t.stores:
        return False
    return not (t.regions and not set(t.regions) & set(regions))


def coupon_input(c: Coupon) -> CouponInput:
    t = c.template
    return CouponInput(
        code=c.code, kind=CouponKind(t.kind), amount=Decimal(t.amount), threshold=Decimal(t.threshold),
        rate=Decimal(t.rate) if t.rate is not None else None, cap=Decimal(t.cap) if t.cap is not None else None,
        item_sku=t.item_sku,
        scope=Scope(skus=frozenset(t.skus), categories=frozenset(t.categories), brands=frozenset(t.brands),
                    exclude_skus=frozenset(t.exclude_skus)),
        channels=frozenset(t.channels), stores=frozenset(t.stores), regions=frozenset(t.regions),
        valid_from=c.valid_from, valid_to=c.valid_to, name=t.name)


def wallet_coupons_for_pricing(*, member: Member | str, store: str, channel: str,
                               at: dt.datetime | None = None) -> list[CouponInput]:
    """The member's usable coupons for a cart at ``store`` on ``channel`` at ``at``, as ``CouponInput``
    (available, inside their validity window, and in scope of the store, its regions and the channel).
    SKU, category and brand scopes travel in ``CouponInput.scope`` for the engine to apply per line."""
    at = at or timezone.now()
    qs = Coupon.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at), status=Coupon.Status.ISSUED,
                               valid_from__lte=at).select_related("template").order_by("valid_to", "id")
    qs = qs.filter(member=member) if isinstance(member, Member) else qs.filter(member__code=member)
    loc = Location.objects.filter(code=store).first() if store else None
    regions = region_path(loc) if loc else ()
    return [coupon_input(c) for c in qs
            if _template_in_context(c.template, store=store, regions=regions, channel=channel)]


# ---- wallet and points --------------------------------------------------------------------------


def wallet_list(*, member: Member, status: str | None = None, at: dt.datetime | None = None,
                limit: int = 50, offset: int = 0) -> tuple[list[tuple[Coupon, str]], int]:
    """The member's coupons with their state now: available, used, expired, void, not_yet_valid."""
    at = at or timezone.now()
    qs = Coupon.objects.filter(member=member).select_related("template")
    usable = Q(status=Coupon.Status.ISSUED, valid_from__lte=at) & (Q(valid_to__isnull=True) | Q(valid_to__gt=at))
    if status == "available":
        qs = qs.filter(usable)
    elif status == "expired":
        qs = qs.filter(status=Coupon.Status.ISSUED, valid_to__lte=at)
    elif status in (Coupon.Status.USED, Coupon.Status.VOID):
        qs = qs.filter(status=status)
    count = qs.count()
    rows = list(qs.order_by("-issued_at", "-id")[offset:offset + limit])
    return [(c, coupon_state(c, at)) for c in rows], count


def coupon_state(c: Coupon, at: dt.datetime) -> str:
    if c.status != Coupon.Status.ISSUED:
        return c.status
    if c.valid_to is not None and c.valid_to <= at:
        return "expired"
    if c.valid_from > at:
        return "not_yet_valid"
    return "available"


def points_history(*, member: Member, limit: int = 50, offset: int = 0) -> tuple[list[PointsEntry], int]:
    qs = PointsEntry.objects.filter(member=member)
    return list(qs.order_by("-id")[offset:offset + limit]), qs.count()


def points_expiring(*, member: Member, before: dt.datetime) -> int:
    return PointsEntry.objects.filter(member=member, remaining__gt=0, expires_at__lte=before).aggregate(
        s=Sum("remaining"))["s"] or 0


@dataclass(frozen=True)
class LedgerProblem:
    member: str
    balance: int
    ledger_sum: int
    lots_remaining: int


def points_ledger_check(*, member_codes: list[str] | None = None) -> list[LedgerProblem]:
    """Prove the ledger: for every member, balance == sum of ledger points == sum of open lots."""
    sums = dict(PointsEntry.objects.values("member_id").annotate(s=Sum("points")).values_list("member_id", "s"))
    lots = dict(PointsEntry.objects.filter(remaining__gt=0).values("member_id").annotate(s=Sum("remaining"))
                .values_list("member_id", "s"))
    qs = Member.objects.all()
    if member_codes is not None:
        qs = qs.filter(code__in=member_codes)
    problems = []
    for pk, code, balance in qs.values_list("pk", "code", "points_balance").iterator():
        s, r = sums.get(pk, 0) or 0, lots.get(pk, 0) or 0
        if not (balance == s == r):
            problems.append(LedgerProblem(code, balance, s, r))
    return problems


# ---- store offers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreOffers:
    store: Location
    distance_km: float
    templates: list[CouponTemplate]
    promotions: list[dict]


def store_offers(*, lat: float, lon: float, limit: int = 5, channel: str = "pos",
                 at: dt.datetime | None = None) -> list[StoreOffers]:
    """The nearest open stores (great-circle distance) with the claimable coupon templates in scope of
    each (store, its regions, the channel) and valid now, plus active promotions in scope when the
    promotions app offers a selector for them."""
    at = at or timezone.now()
    stores = list(Location.objects.filter(kind=Location.Kind.STORE, status=Location.Status.ACTIVE,
                                          latitude__isnull=False, longitude__isnull=False)
                  .values_list("pk", "latitude", "longitude"))
    near = sorted(((domain.haversine_km(lat, lon, float(la), float(lo)), pk) for pk, la, lo in stores))[:limit]
    locs = Location.objects.in_bulk([pk for _, pk in near])
    templates = list(CouponTemplate.objects.filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=at), Q(valid_from__isnull=True) | Q(valid_from__lte=at),
        Q(total_quota__isnull=True) | Q(issued_count__lt=F("total_quota")), active=True, claimable=True))
    promos = _promotions_selector()
    out = []
    for dist, pk in near:
        loc = locs[pk]
        regions = region_path(loc)
        ts = [t for t in templates if _template_in_context(t, store=loc.code, regions=regions, channel=channel)]
        out.append(StoreOffers(loc, round(dist, 3), ts, promos(loc.code, regions, channel, at) if promos else []))
    return out


def _rule_in_context(rule, *, store: str, regions: tuple[str, ...], channel: str, at: dt.datetime) -> bool:
    c = rule.condition
    if c.channels and channel not in c.channels:
        return False
    if c.stores and store not in c.stores:
        return False
    if c.regions and not set(c.regions) & set(regions):
        return False
    if c.starts_at is not None and at < c.starts_at:
        return False
    return not (c.ends_at is not None and at >= c.ends_at)


def _promotions_selector():
    """Active promotions in scope of a store, read through ``mendian.promotions.selectors``: its
    ``promotions_for_store(store=, regions=, channel=, at=)`` if it has one, else its cached active
    ``RuleBook`` filtered here by the rules' channel / store / region / date conditions."""
    try:
        from mendian.promotions import selectors as promo_selectors
    except ImportError:  # pragma: no cover - the promotions app is part of the project
        return None
    fn = getattr(promo_selectors, "promotions_for_store", None)
    if fn is not None:
        def call(store: str, regions: tuple[str, ...], channel: str, at: dt.datetime) -> list[dict]:
            return [p if isinstance(p, dict) else {"code": getattr(p, "code", str(p)), "name": getattr(p, "name", "")}
                    for p in fn(store=store, regions=regions, channel=channel, at=at)]
        return call
    book_fn = getattr(promo_selectors, "active_rulebook", None)
    if book_fn is None:
        return None
    books: dict[dt.datetime, object] = {}

    def from_book(store: str, regions: tuple[str, ...], channel: str, at: dt.datetime) -> list[dict]:
        book = books.get(at) or books.setdefault(at, book_fn(at=at))
        return [{"code": r.code, "name": r.name, "kind": str(r.kind),
                 "ends_at": r.condition.ends_at.isoformat() if r.condition.ends_at else None}
                for r in book.rules
                if _rule_in_context(r, store=store, regions=regions, channel=channel, at=at)]

    return from_book


def promotions_available() -> bool:
    return _promotions_selector() is not None
