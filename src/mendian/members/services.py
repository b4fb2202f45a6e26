"""Members write use-cases: one function = one transaction.

Concurrency: every decrement of a shared counter is one conditional UPDATE (``… WHERE points_balance
>= n``, ``… WHERE issued_count < total_quota``, ``… WHERE status = 'issued'``). On PostgreSQL the
UPDATE also row-locks the member (or template) until commit, so the follow-up writes (FIFO lots) of
concurrent redemptions of one member run one after the other; on SQLite writers are serialised.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from mendian.core.errors import Conflict, InvalidInput, unknown_code
from mendian.core.money import to_money
from mendian.core.timeutil import local_date, local_tz
from mendian.platform.audit import audit_record
from mendian.platform.batch import write_batch
from mendian.platform.outbox import outbox_publish

from . import domain
from .errors import (
    CouponUnavailable,
    InsufficientPoints,
    InvalidMobile,
    MemberExists,
    MemberNotFound,
    QuotaExhausted,
)
from .models import (
    Coupon,
    CouponBatch,
    CouponQuota,
    CouponTemplate,
    EarnRule,
    GrowthEntry,
    Member,
    PointsEntry,
    Tier,
    TierChange,
)

GROWTH_WINDOW = dt.timedelta(days=365)
TIER_REVIEW_EVERY = dt.timedelta(days=365)
BATCH_INLINE_MAX = 200
BATCH_CHUNK = 500


def _now(at: dt.datetime | None) -> dt.datetime:
    return at or timezone.now()


def _member(member: Member | str) -> Member:
    if isinstance(member, Member):
        return member
    found = Member.objects.select_related("tier").filter(code=member).first()
    if found is None:
        raise MemberNotFound(f"member {member} not found", details={"member": member})
    return found


def _new_code(prefix: str, digits: int) -> str:
    return f"{prefix}{secrets.randbelow(10 ** digits):0{digits}d}"


def _tier_defs() -> list[domain.TierDef]:
    return [domain.TierDef(code, threshold) for code, threshold in Tier.objects.values_list("code", "threshold")]


def member_snapshot(m: Member) -> dict[str, Any]:
    """What the audit log keeps of a member: the mobile masked (the log is read by auditors without PII)."""
    return {"code": m.code, "mobile": domain.mask_mobile(m.mobile), "name": m.name, "channel": m.channel,
            "store": m.store.code if m.store_id else None, "birthday": m.birthday,
            "consent_marketing": m.consent_marketing, "consent_data": m.consent_data,
            "tier": m.tier.code if m.tier_id else None}


# ---- members -------------------------------------------------------------------------------------


@transaction.atomic
def member_register(*, actor: Any, mobile: str, name: str = "", channel: str = "pos", store: Any = None,
                    birthday: dt.date | None = None, consent_marketing: bool = False, consent_data: bool = False,
                    at: dt.datetime | None = None) -> Member:
    """Register a member; a known mobile raises ``MemberExists`` (409) naming the existing member."""
    at = _now(at)
    normal = domain.normalise_mobile(mobile)
    if normal is None:
        raise InvalidMobile(details={"field": "mobile"})
    existing = Member.objects.filter(mobile=normal).values_list("code", flat=True).first()
    if existing:
        raise MemberExists(existing)
    tiers = _tier_defs()
    base = domain.tier_for_growth(tiers, 0)
    tier = Tier.objects.filter(code=base).first() if base else None
    member = Member(mobile=normal, name=name.strip(), channel=channel, store=store, birthday=birthday,
                    consent_marketing=consent_marketing, consent_data=consent_data, tier=tier,
                    tier_review_at=at + TIER_REVIEW_EVERY, created_at=at)
    for _attempt in range(5):
        member.code = _new_code("M", 10)
        try:
            with transaction.atomic():
                member.save(force_insert=True)
            break
        except IntegrityError:
            other = Member.objects.filter(mobile=normal).values_list("code", flat=True).first()
            if other:  # a concurrent registration of the same person won
                raise MemberExists(other) from None
    else:  # pragma: no cover - 5 code collisions in a row
        raise Conflict("could not allocate a member code")
    with write_batch():
        if tier is not None:
            TierChange.objects.create(member=member, from_tier="", to_tier=tier.code,
                                      reason=TierChange.Reason.REGISTER, growth=0, at=at)
        audit_record(actor=actor, action="member.register", object_type="member", object_ref=member.code,
                     after=member_snapshot(member))
        outbox_publish(topic="member.registered", payload={"member": member.code, "channel": channel,
                                                           "store": store.code if store else None},
                       partition=store.code if store else "")
        for template in CouponTemplate.objects.filter(issue_on_registration=True, active=True):
            try:
                with transaction.atomic():
                    _issue(template=template, member=member, source=Coupon.Source.REGISTRATION,
                           source_ref="registration", at=at)
            except (QuotaExhausted, CouponUnavailable):
                pass
    return member


def member_lookup_record(*, actor: Any, mobile: str, found: str | None) -> None:
    """Audit a look-up by mobile number (a PII search), found or not."""
    audit_record(actor=actor, action="member.lookup", object_type="member", object_ref=found or "",
                 after={"mobile": domain.mask_mobile(mobile), "found": bool(found)})


# ---- growth value and tiers ---------------------------------------------------------------------


def _window_growth(member: Member, at: dt.datetime) -> int:
    return GrowthEntry.objects.filter(member=member, at__gt=at - GROWTH_WINDOW, at__lte=at).aggregate(
        s=Sum(F("growth") - F("growth_refunded")))["s"] or 0


def _change_tier(member: Member, new_code: str, reason: str, growth: int, at: dt.datetime, actor: Any) -> None:
    old = member.tier.code if member.tier_id else ""
    new_tier = Tier.objects.filter(code=new_code).first() if new_code else None
    Member.objects.filter(pk=member.pk).update(tier=new_tier, tier_review_at=at + TIER_REVIEW_EVERY)
    member.tier, member.tier_review_at = new_tier, at + TIER_REVIEW_EVERY
    TierChange.objects.create(member=member, from_tier=old, to_tier=new_code, reason=reason, growth=growth, at=at)
    audit_record(actor=actor, action=f"member.tier_{reason}", object_type="member", object_ref=member.code,
                 before={"tier": old}, after={"tier": new_code, "growth": growth})
    outbox_publish(topic=f"member.tier_{reason}", payload={"member": member.code, "from": old, "to": new_code})
    if reason == TierChange.Reason.UPGRADE and new_tier is not None and new_tier.upgrade_coupon_template_id:
        try:
            with transaction.atomic():
                _issue(template=new_tier.upgrade_coupon_template, member=member, source=Coupon.Source.UPGRADE,
                       source_ref=f"upgrade:{new_code}:{at.date().isoformat()}", at=at)
        except (QuotaExhausted, CouponUnavailable):
            pass


def _category_paths(codes: Sequence[str]) -> dict[str, tuple[str, ...]]:
    from mendian.catalog.models import Category

    parents = dict(Category.objects.values_list("code", "parent__code"))
    paths: dict[str, tuple[str, ...]] = {}
    for code in codes:
        if code not in parents:
            raise unknown_code("category", code)
        path, c, seen = [], code, set()
        while c and c not in seen:
            seen.add(c)
            path.append(c)
            c = parents.get(c)
        paths[code] = tuple(reversed(path))
    return paths


def _earn_rules() -> list[domain.EarnRule]:
    return [domain.EarnRule(points_per_yuan=r.points_per_yuan, channel=r.channel,
                            store=r.store.code if r.store_id else "",
                            category=r.category.code if r.category_id else "", priority=r.priority)
            for r in EarnRule.objects.filter(active=True).select_related("store", "category")]


@dataclass(frozen=True)
class OrderPaidResult:
    member: str
    order_number: str
    growth: int
    points: int
    tier_before: str
    tier_after: str
    replayed: bool = False


@transaction.atomic
def member_order_paid(*, member_code: str, order_number: str, amount: Decimal, store_code: str = "",
                      channel: str = "pos", category_amounts: Mapping[str, Decimal] | None = None,
                      at: dt.datetime | None = None, actor: Any = "sales") -> OrderPaidResult:
    """A member's order was paid: growth value, an upgrade at once if reached, and points earned.

    Idempotent per (member, order): a second call returns the first result without changes.
    ``amount`` is what the member paid for goods (after discounts, points excluded);
    ``category_amounts`` ({category code: amount}) lets category earn rules apply; any part of
    ``amount`` they do not cover earns as uncategorised.
    """
    at = _now(at)
    amount = to_money(amount)
    member = _member(member_code)
    tier_before = member.tier.code if member.tier_id else ""
    done = GrowthEntry.objects.filter(member=member, order_number=order_number).first()
    if done is not None:
        earned = PointsEntry.objects.filter(member=member, order_number=order_number,
                                            kind=PointsEntry.Kind.EARN).values_list("points", flat=True).first()
        return OrderPaidResult(member.code, order_number, done.growth, earned or 0, tier_before, tier_before, True)
    growth = domain.growth_for_amount(amount)
    try:
        with transaction.atomic():
            GrowthEntry.objects.create(member=member, order_number=order_number, amount=amount, growth=growth,
                                       store_code=store_code, channel=channel, at=at)
    except IntegrityError:  # a concurrent call for the same order won
        return member_order_paid(member_code=member_code, order_number=order_number, amount=amount, at=at)
    Member.objects.filter(pk=member.pk).update(growth_value=F("growth_value") + growth,
                                               orders_count=F("orders_count") + 1)
    with write_batch():
        decision = domain.tier_on_growth(_tier_defs(), tier_before, _window_growth(member, at))
        if decision.change:
            _change_tier(member, decision.new_tier, decision.change, _window_growth(member, at), at, actor)
        # points, at the tier reached by this order
        parts: list[domain.SpendPart] = []
        if category_amounts:
            paths = _category_paths(list(category_amounts))
            for code, part in category_amounts.items():
                parts.append(domain.SpendPart(to_money(part), paths[code]))
            rest = amount - sum((p.amount for p in parts), Decimal(0))
            if rest > 0:
                parts.append(domain.SpendPart(rest))
        else:
            parts.append(domain.SpendPart(amount))
        multiplier = member.tier.points_multiplier if member.tier_id else Decimal(1)
        points = domain.points_earned(parts, _earn_rules(), channel=channel, store=store_code,
                                      multiplier=multiplier)
        if points > 0:
            PointsEntry.objects.create(member=member, kind=PointsEntry.Kind.EARN, points=points, remaining=points,
                                       expires_at=domain.points_expiry(at, local_tz()), order_number=order_number,
                                       amount=amount, at=at)
            Member.objects.filter(pk=member.pk).update(points_balance=F("points_balance") + points)
        outbox_publish(topic="member.order_paid", payload={"member": member.code, "order": order_number,
                                                           "growth": growth, "points": points},
                       partition=store_code)
    return OrderPaidResult(member.code, order_number, growth, points, tier_before,
                           member.tier.code if member.tier_id else "")


def tiers_review(*, now: dt.datetime | None = None, limit: int = 5000) -> int:
    """The scheduled review: members whose review date has come move to the tier their trailing
    12-month growth supports (down as well as up); the next review is a year on. Returns changes."""
    now = _now(now)
    tiers = _tier_defs()
    changed = 0
    ids = list(Member.objects.filter(tier_review_at__lte=now).order_by("tier_review_at", "pk")
               .values_list("pk", flat=True)[:limit])
    for pk in ids:
        with transaction.atomic(), write_batch():
            member = Member.objects.select_related("tier").get(pk=pk)
            growth = _window_growth(member, now)
            decision = domain.tier_on_review(tiers, member.tier.code if member.tier_id else "", growth)
            if decision.change:
                _change_tier(member, decision.new_tier, decision.change, growth, now, "members.tiers_review")
                changed += 1
            else:
                Member.objects.filter(pk=pk).update(tier_review_at=now + TIER_REVIEW_EVERY)
    return changed


# ---- points --------------------------------------------------------------------------------------


def _take_lots(member: Member, points: int, *, prefer_order: str = "") -> None:
    """Spend ``points`` from the member's open lots FIFO (optionally the lot of one order first).
    Runs after the member row was updated (and so locked) in this transaction."""
    lots = list(PointsEntry.objects.filter(member=member, remaining__gt=0)
                .values_list("pk", "remaining", "expires_at", "order_number", "kind"))
    first = [domain.Lot(pk, rem, exp) for pk, rem, exp, order, kind in lots
             if prefer_order and order == prefer_order and kind == PointsEntry.Kind.EARN]
    rest = [domain.Lot(pk, rem, exp) for pk, rem, exp, order, kind in lots
            if not (prefer_order and order == prefer_order and kind == PointsEntry.Kind.EARN)]
    taken: list[tuple[int, int]] = []
    left = points
    if first:
        n = min(left, sum(lot.remaining for lot in first))
        taken += domain.fifo_take(first, n)
        left -= n
    taken += domain.fifo_take(rest, left)
    for pk, n in taken:
        PointsEntry.objects.filter(pk=pk, remaining__gte=n).update(remaining=F("remaining") - n)


@transaction.atomic
def points_redeem(*, member: Member | str, order_number: str, points: int, order_payable: Decimal | None = None,
                  at: dt.datetime | None = None, actor: Any = "sales") -> PointsEntry:
    """Redeem ``points`` as a tender of ``order_number``; idempotent per (member, order).

    With ``order_payable`` (the order's total before the points tender) the points may pay at most
    the chain's maximum share of it (``PointsSettings.max_share``). One conditional UPDATE guards the
    balance, so concurrent redemptions never overdraw it.
    """
    from .selectors import points_policy

    at = _now(at)
    m = _member(member)
    if points <= 0:
        raise InvalidInput("points must be positive", details={"field": "points"})
    previous = PointsEntry.objects.filter(member=m, order_number=order_number, kind=PointsEntry.Kind.REDEEM).first()
    if previous is not None:
        if -previous.points != points:
            raise Conflict(f"order {order_number} already redeemed {-previous.points} points",
                           code="points_already_redeemed", details={"points": -previous.points})
        return previous
    policy = points_policy()
    if order_payable is not None:
        cap = domain.max_redeemable(to_money(order_payable), points, points_per_yuan=policy.points_per_yuan,
                                    max_share=policy.max_share)
        if points > cap:
            raise InvalidInput(f"points may pay at most {policy.max_share:.0%} of the order: {cap} points",
                               code="points_over_max_share", details={"max_points": cap})
    if Member.objects.filter(pk=m.pk, points_balance__gte=points).update(
            points_balance=F("points_balance") - points) != 1:
        balance = Member.objects.filter(pk=m.pk).values_list("points_balance", flat=True).first()
        raise InsufficientPoints(details={"balance": balance, "asked": points})
    _take_lots(m, points)
    value = domain.points_value(points, policy.points_per_yuan)
    entry = PointsEntry.objects.create(member=m, kind=PointsEntry.Kind.REDEEM, points=-points,
                                       order_number=order_number, amount=value, at=at)
    audit_record(actor=actor, action="points.redeem", object_type="member", object_ref=m.code,
                 after={"order": order_number, "points": points, "value": value})
    return entry


@dataclass(frozen=True)
class RefundPointsResult:
    clawed_back: int        # earned points taken back
    returned: int           # redeemed points given back
    uncollected: int        # clawback the balance could not cover (already spent)


@transaction.atomic
def points_refund_clawback(*, member: Member | str, order_number: str, refunded_amount: Decimal,
                           original_amount: Decimal, refund_number: str = "", at: dt.datetime | None = None,
                           actor: Any = "sales") -> RefundPointsResult:
    """A refund of ``refunded_amount`` of an order originally ``original_amount``: take back the same
    share of the points and growth value the order earned and give back the same share of the points it redeemed
    (cumulative over partial refunds, so two half refunds move exactly what one full refund would).

    Idempotent per ``refund_number`` when given. Clawback never takes the balance below zero: what the
    member already spent is recorded as uncollected.
    """
    at = _now(at)
    m = _member(member)
    refunded_amount, original_amount = to_money(refunded_amount), to_money(original_amount)
    if refunded_amount <= 0 or original_amount <= 0:
        raise InvalidInput("amounts must be positive", details={"field": "refunded_amount"})
    Member.objects.filter(pk=m.pk).update(points_balance=F("points_balance"))  # lock the member first
    rows = list(PointsEntry.objects.filter(member=m, order_number=order_number))
    prior = [r for r in rows if refund_number and r.note.split(" ")[0] == refund_number]
    if any(r.kind == PointsEntry.Kind.CLAWBACK for r in prior):
        short = sum(int(r.note.split("uncollected=")[1]) for r in prior if "uncollected=" in r.note)
        return RefundPointsResult(-sum(r.points for r in prior if r.kind == PointsEntry.Kind.CLAWBACK),
                                  sum(r.points for r in prior if r.kind == PointsEntry.Kind.REDEEM_REFUND), short)
    earned = sum(r.points for r in rows if r.kind == PointsEntry.Kind.EARN)
    redeemed = -sum(r.points for r in rows if r.kind == PointsEntry.Kind.REDEEM)
    clawed = -sum(r.points for r in rows if r.kind == PointsEntry.Kind.CLAWBACK)
    uncollected_before = sum(int(r.note.split("uncollected=")[1]) for r in rows
                             if r.kind == PointsEntry.Kind.CLAWBACK and "uncollected=" in r.note)
    returned = sum(r.points for r in rows if r.kind == PointsEntry.Kind.REDEEM_REFUND)
    refunded_before = sum((r.amount or 0) for r in rows if r.kind == PointsEntry.Kind.CLAWBACK)
    cumulative = refunded_before + refunded_amount
    give = domain.proportional_due(redeemed, cumulative, original_amount, returned)
    due = domain.proportional_due(earned, cumulative, original_amount, clawed + uncollected_before)
    if give:
        PointsEntry.objects.create(member=m, kind=PointsEntry.Kind.REDEEM_REFUND, points=give, remaining=give,
                                   expires_at=domain.points_expiry(at, local_tz()), order_number=order_number,
                                   note=refund_number, at=at)
        Member.objects.filter(pk=m.pk).update(points_balance=F("points_balance") + give)
    balance = Member.objects.filter(pk=m.pk).values_list("points_balance", flat=True).get()
    take = min(due, balance)
    short = due - take
    if take:
        Member.objects.filter(pk=m.pk, points_balance__gte=take).update(points_balance=F("points_balance") - take)
        _take_lots(m, take, prefer_order=order_number)
    growth_row = GrowthEntry.objects.filter(member=m, order_number=order_number).first()
    if growth_row is not None:  # growth value goes back in the same share (a tier falls only at review)
        g = domain.proportional_due(growth_row.growth, cumulative, original_amount, growth_row.growth_refunded)
        if g:
            GrowthEntry.objects.filter(pk=growth_row.pk).update(growth_refunded=F("growth_refunded") + g)
            Member.objects.filter(pk=m.pk, growth_value__gte=g).update(growth_value=F("growth_value") - g)
    note = refund_number + (f" uncollected={short}" if short else "")
    PointsEntry.objects.create(member=m, kind=PointsEntry.Kind.CLAWBACK, points=-take, order_number=order_number,
                               amount=refunded_amount, note=note[:200], at=at)
    audit_record(actor=actor, action="points.refund", object_type="member", object_ref=m.code,
                 after={"order": order_number, "refund": refund_number, "refunded_amount": refunded_amount,
                        "clawed_back": take, "returned": give, "uncollected": short})
    return RefundPointsResult(take, give, short)


@transaction.atomic
def points_adjust(*, actor: Any, member: Member | str, points: int, note: str,
                  at: dt.datetime | None = None) -> PointsEntry:
    """A manual correction by HQ: positive adds a lot, negative spends FIFO (never below zero)."""
    at = _now(at)
    m = _member(member)
    if points == 0:
        raise InvalidInput("points must not be 0", details={"field": "points"})
    if points > 0:
        Member.objects.filter(pk=m.pk).update(points_balance=F("points_balance") + points)
        entry = PointsEntry.objects.create(member=m, kind=PointsEntry.Kind.ADJUST, points=points, remaining=points,
                                           expires_at=domain.points_expiry(at, local_tz()), note=note, at=at)
    else:
        if Member.objects.filter(pk=m.pk, points_balance__gte=-points).update(
                points_balance=F("points_balance") + points) != 1:
            raise InsufficientPoints()
        _take_lots(m, -points)
        entry = PointsEntry.objects.create(member=m, kind=PointsEntry.Kind.ADJUST, points=points, note=note, at=at)
    audit_record(actor=actor, action="points.adjust", object_type="member", object_ref=m.code,
                 after={"points": points, "note": note})
    return entry


def points_expire(*, now: dt.datetime | None = None, limit: int = 10000) -> int:
    """Expire lots whose date has passed (FIFO is implicit: a lot expires whole, with what is left).
    One transaction per member. Returns the points expired."""
    now = _now(now)
    member_ids = list(PointsEntry.objects.filter(remaining__gt=0, expires_at__lte=now)
                      .values_list("member_id", flat=True).distinct().order_by("member_id")[:limit])
    total = 0
    for member_id in member_ids:
        with transaction.atomic():
            Member.objects.filter(pk=member_id).update(points_balance=F("points_balance"))  # lock
            lots = list(PointsEntry.objects.filter(member_id=member_id, remaining__gt=0, expires_at__lte=now)
                        .values_list("pk", "remaining"))
            n = sum(r for _, r in lots)
            if not n:
                continue
            PointsEntry.objects.filter(pk__in=[pk for pk, _ in lots]).update(remaining=0)
            PointsEntry.objects.create(member_id=member_id, kind=PointsEntry.Kind.EXPIRE, points=-n,
                                       note=f"{len(lots)} lots", at=now)
            Member.objects.filter(pk=member_id).update(points_balance=F("points_balance") - n)
            total += n
    return total


# ---- coupons -------------------------------------------------------------------------------------


TEMPLATE_FIELDS = ("name", "kind", "amount", "threshold", "rate", "cap", "item_sku", "skus", "categories", "brands",
                   "exclude_skus", "stores", "regions", "channels", "valid_from", "valid_to", "valid_days",
                   "total_quota", "per_member_limit", "claimable", "issue_on_registration", "active")


def _template_check(t: CouponTemplate) -> None:
    k = CouponTemplate.Kind
    if t.kind not in k.values:
        raise InvalidInput(f"unknown coupon kind {t.kind!r}", details={"field": "kind"})
    if t.kind in (k.THRESHOLD, k.NO_THRESHOLD) and (t.amount or 0) <= 0:
        raise InvalidInput("an amount-off coupon needs a positive amount", details={"field": "amount"})
    if t.kind == k.THRESHOLD and (t.threshold or 0) <= 0:
        raise InvalidInput("a threshold coupon needs a positive threshold", details={"field": "threshold"})
    if t.kind == k.THRESHOLD and t.amount >= t.threshold:
        raise InvalidInput("the amount off must be below the threshold", details={"field": "amount"})
    if t.kind == k.PERCENT and not (t.rate is not None and 0 < t.rate < 1):
        raise InvalidInput("a percent coupon needs a rate between 0 and 1 (0.9 = 10% off)", details={"field": "rate"})
    if t.kind == k.ITEM and not t.item_sku:
        raise InvalidInput("an item coupon needs item_sku", details={"field": "item_sku"})
    if not t.valid_days and t.valid_to is None:
        raise InvalidInput("give valid_to or valid_days", details={"field": "valid_to"})
    if t.valid_from and t.valid_to and t.valid_to <= t.valid_from:
        raise InvalidInput("valid_to must be after valid_from", details={"field": "valid_to"})
    if t.per_member_limit < 1:
        raise InvalidInput("per_member_limit must be at least 1", details={"field": "per_member_limit"})


@transaction.atomic
def coupon_template_create(*, actor: Any, code: str, **fields: Any) -> CouponTemplate:
    if CouponTemplate.objects.filter(code=code).exists():
        raise Conflict(f"coupon template {code} exists", code="template_exists")
    t = CouponTemplate(code=code, created_at=timezone.now(),
                       **{k: v for k, v in fields.items() if k in TEMPLATE_FIELDS and v is not None})
    _template_check(t)
    t.save(force_insert=True)
    audit_record(actor=actor, action="coupon_template.create", object_type="coupon_template", object_ref=code,
                 after={f: getattr(t, f) for f in TEMPLATE_FIELDS})
    return t


def _issue(*, template: CouponTemplate, member: Member, source: str, source_ref: str = "",
           at: dt.datetime) -> Coupon:
    """Issue one coupon inside the caller's transaction (and a savepoint of theirs, for batches).

    The per-member and the total quota are each one conditional UPDATE, so under any concurrency
    neither is ever exceeded. With a ``source_ref`` the issue is idempotent.
    """
    if source_ref:
        found = Coupon.objects.filter(template=template, member=member, source_ref=source_ref).first()
        if found is not None:
            return found
    if not template.active:
        raise CouponUnavailable("the coupon template is not active", details={"template": template.code})
    if template.valid_to is not None and template.valid_to <= at and not template.valid_days:
        raise CouponUnavailable("the coupon template has ended", details={"template": template.code})
    # lock order everywhere: the template row, then quota rows (batches lock the same way)
    if CouponTemplate.objects.filter(Q(total_quota__isnull=True) | Q(issued_count__lt=F("total_quota")),
                                     pk=template.pk).update(issued_count=F("issued_count") + 1) != 1:
        raise QuotaExhausted(details={"template": template.code, "total_quota": template.total_quota})
    CouponQuota.objects.bulk_create([CouponQuota(template=template, member=member)], ignore_conflicts=True)
    if CouponQuota.objects.filter(template=template, member=member, issued__lt=template.per_member_limit).update(
            issued=F("issued") + 1) != 1:
        raise QuotaExhausted("this member already holds the most coupons of this template",
                             code="coupon_member_limit", details={"template": template.code,
                                                                  "per_member_limit": template.per_member_limit})
    valid_from, valid_to = domain.coupon_window(issued_at=at, valid_from=template.valid_from,
                                                valid_to=template.valid_to, valid_days=template.valid_days,
                                                tz=local_tz())
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Coupon.objects.create(code=_new_code("C", 15), template=template, member=member,
                                             source=source, source_ref=source_ref, valid_from=valid_from,
                                             valid_to=valid_to, issued_at=at)
        except IntegrityError:
            if source_ref and Coupon.objects.filter(template=template, member=member, source_ref=source_ref).exists():
                raise Conflict("issued concurrently", code="coupon_issue_race") from None
    raise Conflict("could not allocate a coupon code")  # pragma: no cover


def _issue_bulk(*, template: CouponTemplate, members: Sequence[Member], source: str, source_ref: str,
                at: dt.datetime) -> int:
    """Issue one coupon of ``template`` to each of ``members`` in a handful of statements (batches).

    Same guarantees as ``_issue``: the template row and the members' quota rows are locked (ordered),
    then per-member limits and the remaining total quota decide who gets one; members already holding
    this ``source_ref`` are skipped. Returns the number issued."""
    if not members or not template.active:
        return 0
    tpl = CouponTemplate.objects.select_for_update().get(pk=template.pk)
    if tpl.valid_to is not None and tpl.valid_to <= at and not tpl.valid_days:
        return 0
    ids = [m.pk for m in members]
    holding = set(Coupon.objects.filter(template=tpl, member_id__in=ids, source_ref=source_ref)
                  .values_list("member_id", flat=True))
    CouponQuota.objects.bulk_create([CouponQuota(template=tpl, member_id=i) for i in ids], ignore_conflicts=True)
    used = dict(CouponQuota.objects.select_for_update().filter(template=tpl, member_id__in=ids).order_by("member_id")
                .values_list("member_id", "issued"))
    eligible = [i for i in ids if i not in holding and used.get(i, 0) < tpl.per_member_limit]
    if tpl.total_quota is not None:
        eligible = eligible[:max(0, tpl.total_quota - tpl.issued_count)]
    if not eligible:
        return 0
    CouponQuota.objects.filter(template=tpl, member_id__in=eligible).update(issued=F("issued") + 1)
    if CouponTemplate.objects.filter(Q(total_quota__isnull=True) | Q(total_quota__gte=F("issued_count") + len(eligible)),
                                     pk=tpl.pk).update(issued_count=F("issued_count") + len(eligible)) != 1:
        raise IntegrityError("total quota moved under the lock")  # pragma: no cover - the row is locked
    valid_from, valid_to = domain.coupon_window(issued_at=at, valid_from=tpl.valid_from, valid_to=tpl.valid_to,
                                                valid_days=tpl.valid_days, tz=local_tz())
    Coupon.objects.bulk_create([Coupon(code=_new_code("C", 15), template=tpl, member_id=i, source=source,
                                       source_ref=source_ref, valid_from=valid_from, valid_to=valid_to, issued_at=at)
                                for i in eligible])
    return len(eligible)


def _template(code: str) -> CouponTemplate:
    t = CouponTemplate.objects.filter(code=code).first()
    if t is None:
        raise unknown_code("template", code)
    return t


@transaction.atomic
def coupon_claim(*, member: Member | str, template_code: str, at: dt.datetime | None = None,
                 actor: Any = None) -> Coupon:
    """A member claims a claimable coupon (领券): per-member and total quotas apply."""
    at = _now(at)
    m = _member(member)
    t = _template(template_code)
    if not t.claimable:
        raise CouponUnavailable("this coupon cannot be claimed", details={"template": t.code})
    if t.valid_from and t.valid_from > at and not t.valid_days:
        raise CouponUnavailable("this coupon cannot be claimed yet", details={"template": t.code})
    coupon = _issue(template=t, member=m, source=Coupon.Source.CLAIM, at=at)
    audit_record(actor=actor or m.code, action="coupon.claim", object_type="coupon", object_ref=coupon.code,
                 after={"member": m.code, "template": t.code})
    return coupon


@transaction.atomic
def coupon_issue_for_promotion(*, template_code: str, member: Member | str, promotion_code: str, order_number: str,
                               at: dt.datetime | None = None) -> Coupon:
    """A promotion gives a coupon (e.g. 满额返券) for an order; idempotent per (promotion, order)."""
    at = _now(at)
    m = _member(member)
    coupon = _issue(template=_template(template_code), member=m, source=Coupon.Source.PROMOTION,
                    source_ref=f"{promotion_code}:{order_number}"[:60], at=at)
    audit_record(actor=promotion_code, action="coupon.issue", object_type="coupon", object_ref=coupon.code,
                 after={"member": m.code, "template": template_code, "order": order_number})
    return coupon


@transaction.atomic
def coupon_redeem(*, coupon_code: str, order_number: str, member: Member | str | None = None,
                  at: dt.datetime | None = None, actor: Any = "sales") -> Coupon:
    """Use a coupon on an order: one conditional UPDATE (status issued → used, in its validity
    window), so of any number of concurrent checkouts exactly one wins. Repeating the call for the
    same order returns the coupon unchanged."""
    at = _now(at)
    qs = Coupon.objects.filter(code=coupon_code)
    if member is not None:
        qs = qs.filter(member=_member(member))
    n = qs.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at), status=Coupon.Status.ISSUED,
                  valid_from__lte=at).update(status=Coupon.Status.USED, used_at=at, order_number=order_number)
    coupon = qs.select_related("template", "member").first()
    if coupon is None:
        raise CouponUnavailable(f"coupon {coupon_code} not found", code="coupon_not_found",
                                details={"coupon": coupon_code})
    if n != 1:
        if coupon.status == Coupon.Status.USED and coupon.order_number == order_number:
            return coupon
        reason = ("used" if coupon.status == Coupon.Status.USED else coupon.status if coupon.status != "issued"
                  else "not yet valid" if coupon.valid_from > at else "expired")
        raise CouponUnavailable(f"coupon {coupon_code} is {reason}", details={"coupon": coupon_code,
                                                                              "reason": reason})
    audit_record(actor=actor, action="coupon.redeem", object_type="coupon", object_ref=coupon_code,
                 after={"order": order_number, "member": coupon.member.code})
    return coupon


@transaction.atomic
def coupon_restore(*, order_number: str, coupon_codes: Sequence[str] | None = None,
                   actor: Any = "sales") -> list[str]:
    """A refund (or a cancelled order) gives back the coupons used on it (all, or the codes named).
    A restored coupon keeps its validity dates: one restored after its end stays unusable."""
    qs = Coupon.objects.filter(order_number=order_number, status=Coupon.Status.USED)
    if coupon_codes is not None:
        qs = qs.filter(code__in=list(coupon_codes))
    codes = sorted(qs.values_list("code", flat=True))
    if codes:
        Coupon.objects.filter(code__in=codes, status=Coupon.Status.USED, order_number=order_number).update(
            status=Coupon.Status.ISSUED, used_at=None, order_number="")
        audit_record(actor=actor, action="coupon.restore", object_type="order", object_ref=order_number,
                     after={"coupons": codes})
    return codes


# ---- batches, birthdays --------------------------------------------------------------------------


def _segment_qs(segment: Mapping[str, Any]):
    qs = Member.objects.all()
    if segment.get("tiers"):
        qs = qs.filter(tier__code__in=segment["tiers"])
    if segment.get("stores"):
        qs = qs.filter(store__code__in=segment["stores"])
    if segment.get("regions"):
        from mendian.org.models import Region

        regions = set(Region.objects.filter(code__in=segment["regions"]).values_list("pk", flat=True))
        frontier = set(regions)
        while frontier:
            frontier = set(Region.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)) - regions
            regions |= frontier
        qs = qs.filter(store__region_id__in=regions)
    if segment.get("channels"):
        qs = qs.filter(channel__in=segment["channels"])
    if segment.get("birthday_month"):
        qs = qs.filter(birthday__month=int(segment["birthday_month"]))
    if segment.get("min_growth") is not None:
        qs = qs.filter(growth_value__gte=int(segment["min_growth"]))
    if segment.get("registered_after"):
        qs = qs.filter(created_at__gte=segment["registered_after"])
    if segment.get("marketing_consent", True):
        qs = qs.filter(consent_marketing=True)
    return qs


def _batch_targets(batch: CouponBatch):
    if batch.member_codes:
        return Member.objects.filter(code__in=batch.member_codes)
    return _segment_qs(batch.segment)


SEGMENT_KEYS = {"tiers", "stores", "regions", "channels", "birthday_month", "min_growth", "registered_after",
                "marketing_consent"}


@transaction.atomic
def coupon_batch_create(*, actor: Any, template_code: str, member_codes: Sequence[str] = (),
                        segment: Mapping[str, Any] | None = None) -> CouponBatch:
    """HQ issues a template to a list of member codes or to a segment (see ``SEGMENT_KEYS``; members
    without marketing consent are left out of segments unless ``marketing_consent`` is false).
    Up to ``BATCH_INLINE_MAX`` members are issued at once; larger batches run in the
    ``members.coupon_batches`` job, with progress on the batch."""
    t = _template(template_code)
    segment = dict(segment or {})
    if bool(member_codes) == bool(segment):
        raise InvalidInput("give either member_codes or segment", details={"field": "member_codes"})
    bad = set(segment) - SEGMENT_KEYS
    if bad:
        raise InvalidInput(f"unknown segment keys: {sorted(bad)}", details={"field": "segment"})
    codes = list(dict.fromkeys(member_codes))
    if codes:
        known = set(Member.objects.filter(code__in=codes).values_list("code", flat=True))
        missing = [c for c in codes if c not in known]
        if missing:
            raise unknown_code("member", missing[0])
    batch = CouponBatch(number=f"CB{local_date():%y%m%d}{_new_code('', 6)}", template=t, member_codes=codes,
                        segment=segment, created_by=actor if getattr(actor, "pk", None) else None,
                        created_at=timezone.now())
    batch.total = _batch_targets(batch).count()
    batch.save(force_insert=True)
    audit_record(actor=actor, action="coupon_batch.create", object_type="coupon_batch", object_ref=batch.number,
                 after={"template": t.code, "total": batch.total, "segment": segment, "members": len(codes)})
    if batch.total <= BATCH_INLINE_MAX:
        coupon_batch_step(batch_id=batch.pk, chunk=BATCH_INLINE_MAX)
        batch.refresh_from_db()
    return batch


def coupon_batch_step(*, batch_id: int, chunk: int = BATCH_CHUNK) -> CouponBatch:
    """Issue the next ``chunk`` members of a batch in one transaction; progress is kept on the batch
    (a cursor over member ids), so a stopped worker resumes where it left off."""
    with transaction.atomic():
        if CouponBatch.objects.filter(pk=batch_id).exclude(status=CouponBatch.Status.DONE).update(
                status=CouponBatch.Status.RUNNING) != 1:
            return CouponBatch.objects.get(pk=batch_id)
        batch = CouponBatch.objects.select_related("template").get(pk=batch_id)
        members = list(_batch_targets(batch).filter(pk__gt=batch.cursor).order_by("pk")[:chunk])
        now = timezone.now()
        try:
            with transaction.atomic():
                issued = _issue_bulk(template=batch.template, members=members, source=Coupon.Source.BATCH,
                                     source_ref=batch.number, at=now)
        except IntegrityError:  # a coupon code collided, or a concurrent issue: one by one instead
            issued = 0
            for m in members:
                try:
                    with transaction.atomic():
                        _issue(template=batch.template, member=m, source=Coupon.Source.BATCH,
                               source_ref=batch.number, at=now)
                    issued += 1
                except (QuotaExhausted, CouponUnavailable):
                    pass
        skipped = len(members) - issued
        done = len(members) < chunk
        CouponBatch.objects.filter(pk=batch_id).update(
            cursor=members[-1].pk if members else batch.cursor, processed=F("processed") + len(members),
            issued=F("issued") + issued, skipped=F("skipped") + skipped,
            status=CouponBatch.Status.DONE if done else CouponBatch.Status.RUNNING,
            finished_at=now if done else None)
    return CouponBatch.objects.get(pk=batch_id)


def coupon_batches_run(*, max_chunks: int = 20) -> int:
    """The job: advance unfinished batches, oldest first. Returns chunks run."""
    ran = 0
    for batch_id in CouponBatch.objects.exclude(status=CouponBatch.Status.DONE).order_by("pk").values_list(
            "pk", flat=True):
        while ran < max_chunks:
            ran += 1
            if coupon_batch_step(batch_id=batch_id).status == CouponBatch.Status.DONE:
                break
        if ran >= max_chunks:
            break
    return ran


def coupons_birthday(*, today: dt.date | None = None) -> int:
    """Issue each tier's birthday coupon to members born on ``today`` (local); once per year."""
    today = today or local_date()
    now = timezone.now()
    issued = 0
    qs = (Member.objects.filter(birthday__month=today.month, birthday__day=today.day,
                                tier__birthday_coupon_template__isnull=False)
          .select_related("tier__birthday_coupon_template"))
    for m in qs.iterator():
        try:
            with transaction.atomic():
                c = _issue(template=m.tier.birthday_coupon_template, member=m, source=Coupon.Source.BIRTHDAY,
                           source_ref=f"birthday:{today.year}", at=now)
            issued += int(c.issued_at == now)
        except (QuotaExhausted, CouponUnavailable):
            continue
    return issued


DEFAULT_TIERS = [("NORMAL", "普卡", "Standard", 0, "0", "1"), ("SILVER", "银卡", "Silver", 1000, "2", "1.2"),
                 ("GOLD", "金卡", "Gold", 5000, "5", "1.5"), ("DIAMOND", "钻石卡", "Diamond", 20000, "8", "2")]


@transaction.atomic
def members_defaults_ensure() -> dict[str, int]:
    """Standard tiers (普卡/银卡/金卡/钻石卡), 1 point per yuan and 100 points = ¥1, unless set up already."""
    from .models import PointsSettings

    made = {"tiers": 0, "earn_rules": 0}
    if not Tier.objects.exists():
        Tier.objects.bulk_create([Tier(code=c, name_zh=zh, name_en=en, threshold=th, discount_percent=Decimal(d),
                                       points_multiplier=Decimal(mult), free_shipping=th >= 5000)
                                  for c, zh, en, th, d, mult in DEFAULT_TIERS])
        made["tiers"] = len(DEFAULT_TIERS)
    if not EarnRule.objects.exists():
        EarnRule.objects.create(name="每消费1元积1分 1 point per yuan", points_per_yuan=Decimal("1"))
        made["earn_rules"] = 1
    PointsSettings.current()
    return made
