"""Promotion use-cases: configure rules (audited), price a cart, record what an order took.

Sales calls ``pricing_quote`` to price a cart (POS, online, the price preview) and, inside the
transaction that creates the order, ``promotion_usage_record`` with the same ``PricingResult``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from mendian.core.errors import Conflict, InvalidInput, NotFound, unknown_code
from mendian.org.models import Location
from mendian.platform.audit import audit_record
from mendian.platform.batch import current_batch, write_batch

from . import selectors
from .domain import (
    CartLine,
    CartSnapshot,
    CouponInput,
    MemberInput,
    PointsPolicy,
    PricingResult,
    apply_promotions,
)
from .domain.config import rule_from_config
from .models import Promotion, PromotionUsage


class PromotionQuotaExhausted(Conflict):
    """A flash sale or gift quota (or a budget) has less left than this order needs."""

    code = "promotion_quota_exhausted"


def _snapshot(p: Promotion) -> dict[str, Any]:
    return {"code": p.code, "name": p.name, "kind": p.kind, "status": p.status, "priority": p.priority,
            "exclusive_group": p.exclusive_group, "combines_with_coupons": p.combines_with_coupons,
            "combines_with_member_price": p.combines_with_member_price, "combines_with_points": p.combines_with_points,
            "threshold_basis": p.threshold_basis, "condition": p.condition, "benefit": p.benefit,
            "starts_at": p.starts_at, "ends_at": p.ends_at, "budget": p.budget, "quota_total": p.quota_total,
            "per_member_units": p.per_member_units, "refuse_over_quota": p.refuse_over_quota,
            **_auto_pause_snapshot(p)}


def _auto_pause_snapshot(p: Promotion) -> dict[str, Any]:
    return {"max_cost_per_incremental": p.max_cost_per_incremental, "pause_min_days": p.pause_min_days,
            "pause_min_orders": p.pause_min_orders}


def _check_auto_pause(max_cost_per_incremental: Decimal | None, pause_min_days: int,
                      pause_min_orders: int) -> Decimal | None:
    """Refuse a threshold that makes no sense; the threshold to store (4 places, half-up)."""
    if max_cost_per_incremental is not None and not (max_cost_per_incremental.is_finite()
                                                     and 0 < max_cost_per_incremental < 10000):
        raise InvalidInput("max_cost_per_incremental: discount yuan per incremental yuan, above 0 (0.5 = 5 jiao)",
                           code="invalid_promotion", details={"field": "max_cost_per_incremental"})
    if not 0 <= pause_min_days <= 366:
        raise InvalidInput("pause_min_days: 0 to 366", code="invalid_promotion", details={"field": "pause_min_days"})
    if not 0 <= pause_min_orders <= 10_000_000:
        raise InvalidInput("pause_min_orders: 0 or more", code="invalid_promotion",
                           details={"field": "pause_min_orders"})
    if max_cost_per_incremental is None:
        return None
    return Decimal(max_cost_per_incremental).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


@transaction.atomic
def promotion_create(*, actor: Any, code: str, name: str, kind: str, condition: dict | None = None,
                     benefit: dict | None = None, priority: int = 0, exclusive_group: str = "",
                     combines_with_coupons: bool = True, combines_with_member_price: bool = True,
                     combines_with_points: bool = True, threshold_basis: str = "net",
                     starts_at: dt.datetime | None = None, ends_at: dt.datetime | None = None,
                     budget: Decimal | None = None, quota_total: int | None = None,
                     per_member_units: int | None = None, refuse_over_quota: bool = False,
                     max_cost_per_incremental: Decimal | None = None, pause_min_days: int = 3,
                     pause_min_orders: int = 20) -> Promotion:
    """Create a promotion rule as a draft, after checking that the engine can read it.
    ``max_cost_per_incremental`` (with its minimums) lets the promotion pause itself: ``effect.py``."""
    try:
        rule_from_config(code=code, kind=kind, name=name, condition=condition, benefit=benefit,
                         exclusive_group=exclusive_group, priority=priority, threshold_basis=threshold_basis,
                         starts_at=starts_at, ends_at=ends_at)
    except (ValueError, KeyError, TypeError) as e:
        raise InvalidInput(str(e), code="invalid_promotion", details={"message": str(e)}) from e
    if starts_at and ends_at and ends_at <= starts_at:
        raise InvalidInput("ends_at must be after starts_at", code="invalid_promotion")
    max_cost_per_incremental = _check_auto_pause(max_cost_per_incremental, pause_min_days, pause_min_orders)
    if Promotion.objects.filter(code=code).exists():
        raise Conflict(f"promotion {code} exists", code="duplicate_code")
    p = Promotion(code=code, name=name, kind=kind, condition=condition or {}, benefit=benefit or {},
                  priority=priority, exclusive_group=exclusive_group, combines_with_coupons=combines_with_coupons,
                  combines_with_member_price=combines_with_member_price, combines_with_points=combines_with_points,
                  threshold_basis=threshold_basis, starts_at=starts_at, ends_at=ends_at, budget=budget,
                  quota_total=quota_total, per_member_units=per_member_units, refuse_over_quota=refuse_over_quota,
                  max_cost_per_incremental=max_cost_per_incremental, pause_min_days=pause_min_days,
                  pause_min_orders=pause_min_orders, created_by=actor if getattr(actor, "pk", None) else None)
    try:
        with transaction.atomic():
            p.save(force_insert=True)
    except IntegrityError as e:
        raise Conflict(f"promotion {code} exists", code="duplicate_code") from e
    audit_record(actor=actor, action="promotion.create", object_type="promotion", object_ref=code, after=_snapshot(p))
    return p


_TRANSITIONS = {
    Promotion.Status.ACTIVE: {Promotion.Status.DRAFT, Promotion.Status.PAUSED},
    Promotion.Status.PAUSED: {Promotion.Status.ACTIVE},
    Promotion.Status.ENDED: {Promotion.Status.DRAFT, Promotion.Status.ACTIVE, Promotion.Status.PAUSED},
}


@transaction.atomic
def promotion_set_status(*, actor: Any, code: str, status: str, reason: str = "") -> Promotion:
    """Activate, pause or end a promotion (audited). A refused transition changes nothing. A pause keeps
    its reason on the promotion (``paused_reason``); an activation clears it and starts the auto-pause
    minimums again (``activated_at``)."""
    p = Promotion.objects.select_for_update().filter(code=code).first()
    if p is None:
        raise NotFound(f"promotion {code} not found")
    allowed = _TRANSITIONS.get(status)
    if allowed is None:
        raise InvalidInput(f"status: one of {', '.join(_TRANSITIONS)}", code="invalid_status")
    if p.status not in allowed:
        raise Conflict(f"a {p.status} promotion cannot become {status}", code="invalid_transition")
    before = p.status
    p.status = status
    p.paused_reason = reason[:300] if status == Promotion.Status.PAUSED else ""
    fields = ["status", "paused_reason", "updated_at"]
    if status == Promotion.Status.ACTIVE:
        p.activated_at = timezone.now()
        fields.append("activated_at")
    p.save(update_fields=fields)
    audit_record(actor=actor, action=f"promotion.{status}", object_type="promotion", object_ref=code,
                 before={"status": before}, after={"status": status, "reason": reason})
    return p


@transaction.atomic
def promotion_auto_pause_set(*, actor: Any, code: str, max_cost_per_incremental: Decimal | None,
                             pause_min_days: int = 3, pause_min_orders: int = 20) -> Promotion:
    """Set (or clear, with None) the merchant's threshold: the promotion pauses itself when its discount
    cost per incremental yuan of covered sales passes it, once it has run ``pause_min_days`` whole days
    and taken ``pause_min_orders`` orders since its last activation (audited)."""
    p = Promotion.objects.select_for_update().filter(code=code).first()
    if p is None:
        raise NotFound(f"promotion {code} not found")
    max_cost_per_incremental = _check_auto_pause(max_cost_per_incremental, pause_min_days, pause_min_orders)
    before = _auto_pause_snapshot(p)
    p.max_cost_per_incremental = max_cost_per_incremental
    p.pause_min_days = pause_min_days
    p.pause_min_orders = pause_min_orders
    p.save(update_fields=["max_cost_per_incremental", "pause_min_days", "pause_min_orders", "updated_at"])
    audit_record(actor=actor, action="promotion.auto_pause", object_type="promotion", object_ref=code,
                 before=before, after=_auto_pause_snapshot(p))
    return p


@dataclass(frozen=True)
class QuoteLine:
    sku: str
    quantity: int


def pricing_quote(*, store: Location, channel: str, lines: list[QuoteLine], member: MemberInput | None = None,
                  coupons: list[CouponInput] | None = None, points: int = 0, shipping_fee: Decimal = Decimal("0"),
                  at: dt.datetime | None = None, points_policy: PointsPolicy | None = None) -> PricingResult:
    """Price a cart for a store, channel and member with the active promotions. No write.

    Regular prices: the store price valid at ``at``, else the SKU's list price. The member's past
    usage (per-member limits, flash units) is read from PromotionUsage.
    """
    at = at or timezone.now()
    if not lines:
        raise InvalidInput("a cart needs at least one line", code="empty_cart")
    codes = [ln.sku for ln in lines]
    skus = selectors.skus_for_cart(codes)
    for c in codes:
        if c not in skus:
            raise unknown_code("lines.sku", c)
    for ln in lines:
        if ln.quantity <= 0:
            raise InvalidInput("quantity must be positive", code="invalid_quantity", details={"sku": ln.sku})
    prices = selectors.store_prices(location_id=store.pk, sku_ids=[s.pk for s in skus.values()], at=at)
    paths = selectors.category_paths()
    cart_lines = []
    for ln in lines:
        s = skus[ln.sku]
        brand = s.product.brand.code if s.product.brand_id else ""
        cart_lines.append(CartLine(sku=s.code, quantity=ln.quantity, unit_price=prices.get(s.pk, s.list_price),
                                   category_path=paths.get(s.product.category_id, ()), brand=brand,
                                   price_unit_qty=s.price_unit_qty, name=s.name))
    if member is not None:
        uses, units = selectors.member_promotion_usage(member_code=member.code)
        member = MemberInput(code=member.code, tier=member.tier, points_balance=member.points_balance,
                             is_new=member.is_new, first_order=member.first_order,
                             promotion_uses={**uses, **member.promotion_uses},
                             promotion_units={**units, **member.promotion_units})
    cart = CartSnapshot(lines=tuple(cart_lines), at=at, channel=channel, store=store.code,
                        regions=selectors.region_path(store), member=member, coupons=tuple(coupons or ()),
                        points=points if member is not None else 0, points_policy=points_policy or PointsPolicy(),
                        shipping_fee=shipping_fee)
    return apply_promotions(cart, selectors.active_rulebook(at=at))


def promotion_usage_record(*, order_ref: str, member_code: str, result: PricingResult,
                           at: dt.datetime | None = None) -> list[PromotionUsage]:
    """Take what an order used from each applied promotion: flash units and gift sets from the quota,
    the discount from the budget, one usage row per promotion (per-member limits count these).

    Call inside the transaction that creates the order. Each counter moves by a conditional UPDATE
    (``quota_used + units <= quota_total``), so concurrent checkouts never oversell a flash sale or
    overspend a budget; when one cannot move, ``PromotionQuotaExhausted`` is raised with nothing of
    this call left behind (its savepoint is rolled back and its audit entries are taken out of the
    caller's write batch), so the caller may re-quote — the rule book then sees the smaller quota and
    prices the rest at the regular price — and call again in the same transaction, or refuse
    (``details["refuse"]``: the quota ran short and the merchant set the sale to refuse). Recording the
    same order twice changes nothing.
    """
    at = at or timezone.now()
    codes = [a.promotion for a in result.applied if not a.kind.startswith("coupon_")]
    promos = {p.code: p for p in Promotion.objects.filter(code__in=codes)}
    out: list[PromotionUsage] = []
    batch = current_batch()
    mark = len(batch.audit) if batch is not None else 0
    try:
        with transaction.atomic(), write_batch():
            done = set(PromotionUsage.objects.filter(order_ref=order_ref, promotion__code__in=codes)
                       .values_list("promotion__code", flat=True))
            for a in sorted(result.applied, key=lambda a: a.promotion):  # a fixed order: no deadlocks
                p = promos.get(a.promotion)
                if p is None or a.promotion in done:
                    continue
                qs = Promotion.objects.filter(pk=p.pk)
                updates: dict[str, Any] = {}
                if p.quota_total is not None and a.units:
                    qs = qs.filter(quota_used__lte=F("quota_total") - a.units)
                    updates["quota_used"] = F("quota_used") + a.units
                if p.budget is not None and a.saving:
                    qs = qs.filter(budget_used__lte=F("budget") - a.saving)
                    updates["budget_used"] = F("budget_used") + a.saving
                if updates and qs.update(**updates) == 0:
                    raise _exhausted(Promotion.objects.get(pk=p.pk), units=a.units, discount=a.saving)
                out.append(PromotionUsage.objects.create(promotion=p, order_ref=order_ref, member_code=member_code,
                                                         units=a.units, discount=a.saving, created_at=at))
                audit_record(actor="pricing", action="promotion.use", object_type="promotion", object_ref=p.code,
                             after={"order": order_ref, "units": a.units, "discount": str(a.saving)})
                if p.budget is not None and p.budget - p.budget_used - a.saving <= 0:
                    Promotion.objects.filter(pk=p.pk, status=Promotion.Status.ACTIVE).update(
                        status=Promotion.Status.ENDED, updated_at=at)
                    audit_record(actor="pricing", action="promotion.ended", object_type="promotion",
                                 object_ref=p.code, after={"reason": "budget spent"})
    except PromotionQuotaExhausted:
        if batch is not None:  # the entries of promotions recorded before the refusal were rolled back too
            del batch.audit[mark:]
        raise
    return out


def _exhausted(fresh: Promotion, *, units: int, discount: Decimal) -> PromotionQuotaExhausted:
    quota_left = None if fresh.quota_total is None else fresh.quota_total - fresh.quota_used
    quota_short = quota_left is not None and units > quota_left
    return PromotionQuotaExhausted(
        f"promotion {fresh.code} has not enough left for this order",
        details={"promotion": fresh.code, "units": units, "discount": str(discount), "quota_left": quota_left,
                 "budget_left": None if fresh.budget is None else str(fresh.budget - fresh.budget_used),
                 "refuse": quota_short and fresh.refuse_over_quota})


def promotion_quota_check(*, result: PricingResult) -> None:
    """Refuse a quote that sells units of a flash sale (or leaves out the gifts of a gift promotion)
    because its chain-wide quota is short, where the merchant set the promotion to refuse
    (``refuse_over_quota``): 409 ``promotion_quota_exhausted``. Otherwise the engine's pricing stands:
    units beyond the quota at the regular price, said in ``result.notes``. Units beyond a member's own
    limit (``per_member_units``) are never refused, they pay the regular price.

    No query unless the quote met a quota: a promotion not applied as sold out, or a note of units at
    the regular price.
    """
    spent = {n.promotion for n in result.not_applied if n.reason_code == "quota_spent"}
    noted = {w for n in result.notes for w in n.replace("(", " ").replace(")", " ").split()}
    capped = {a.promotion: a.units for a in result.applied if a.units and a.promotion in noted}
    if not spent and not capped:
        return
    for p in Promotion.objects.filter(code__in=sorted(spent | set(capped)), refuse_over_quota=True,
                                      quota_total__isnull=False).order_by("code"):
        left = p.quota_total - p.quota_used
        if p.code in capped:
            short = capped[p.code] >= left
        else:  # sold out; a rule on everything is reported for any cart, so only a scoped rule refuses
            short = not selectors.promotion_to_rule(p).condition.scope.is_all
        if short:
            raise PromotionQuotaExhausted(
                f"promotion {p.code} has not enough left for this order",
                details={"promotion": p.code, "units": capped.get(p.code, 0), "quota_left": left, "refuse": True,
                         "notes": list(result.notes)})
