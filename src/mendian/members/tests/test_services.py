import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from mendian.catalog.tests.factories import CategoryFactory
from mendian.core.errors import InvalidInput
from mendian.members import selectors, services
from mendian.members.errors import CouponUnavailable, InsufficientPoints, MemberExists, QuotaExhausted
from mendian.members.models import (
    Coupon,
    CouponTemplate,
    EarnRule,
    Member,
    PointsEntry,
    Tier,
    TierChange,
)
from mendian.org.tests.factories import LocationFactory, RegionFactory
from mendian.platform.models import AuditEntry
from mendian.promotions.domain import CouponKind, MemberInput

from .factories import CouponTemplateFactory, MemberFactory, standard_tiers

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def _ledger_ok():
    assert selectors.points_ledger_check() == []


def test_register_gives_base_tier_history_and_registration_coupon():
    standard_tiers()
    store = LocationFactory(code="KM001")
    CouponTemplateFactory(code="WELCOME", issue_on_registration=True, claimable=False)
    m = services.member_register(actor="t", mobile="138 1234 1234", name="张三", store=store, channel="pos",
                                 consent_marketing=True)
    assert m.mobile == "13812341234" and m.tier.code == "NORMAL" and m.code.startswith("M")
    assert list(TierChange.objects.filter(member=m).values_list("reason", "to_tier")) == [("register", "NORMAL")]
    assert list(Coupon.objects.filter(member=m).values_list("template__code", "source")) == [
        ("WELCOME", "registration")]
    entry = AuditEntry.objects.get(action="member.register")
    assert entry.after["mobile"] == "138****1234"


def test_duplicate_mobile_is_refused_with_the_existing_code_and_changes_nothing():
    m = services.member_register(actor="t", mobile="13812341234")
    with pytest.raises(MemberExists) as exc:
        services.member_register(actor="t", mobile="+86 138-1234-1234", channel="app")
    assert exc.value.details == {"member": m.code}
    assert Member.objects.count() == 1


def test_order_paid_earns_growth_and_points_once_per_order():
    standard_tiers()
    EarnRule.objects.create(name="base", points_per_yuan=Decimal("1"))
    m = services.member_register(actor="t", mobile="13812341234")
    r1 = services.member_order_paid(member_code=m.code, order_number="SO1", amount=Decimal("123.45"),
                                    store_code="KM001", channel="pos")
    r2 = services.member_order_paid(member_code=m.code, order_number="SO1", amount=Decimal("123.45"))
    assert (r1.growth, r1.points, r1.replayed) == (123, 123, False)
    assert (r2.growth, r2.points, r2.replayed) == (123, 123, True)
    m.refresh_from_db()
    assert (m.growth_value, m.points_balance, m.orders_count) == (123, 123, 1)
    lot = PointsEntry.objects.get(member=m)
    assert lot.expires_at == dt.datetime(timezone.now().astimezone(SH).year + 2, 1, 1, tzinfo=SH)
    _ledger_ok()


def test_upgrade_at_once_earns_at_new_multiplier_and_issues_upgrade_coupon():
    _, silver, _ = standard_tiers()
    silver.upgrade_coupon_template = CouponTemplateFactory(code="UP-SILVER", claimable=False)
    silver.save()
    EarnRule.objects.create(name="base", points_per_yuan=Decimal("1"))
    m = services.member_register(actor="t", mobile="13812341234")
    services.member_order_paid(member_code=m.code, order_number="SO1", amount=Decimal("600"))
    r = services.member_order_paid(member_code=m.code, order_number="SO2", amount=Decimal("500"))
    assert (r.tier_before, r.tier_after, r.points) == ("NORMAL", "SILVER", 750)
    assert list(Coupon.objects.filter(member=m).values_list("template__code", "source")) == [
        ("UP-SILVER", "upgrade")]
    assert TierChange.objects.filter(member=m, reason="upgrade", to_tier="SILVER", growth=1100).count() == 1


def test_category_rules_apply_to_category_amounts():
    standard_tiers()
    food = CategoryFactory(code="FOOD")
    CategoryFactory(code="FRESH", parent=food)
    EarnRule.objects.create(name="base", points_per_yuan=Decimal("1"))
    EarnRule.objects.create(name="food x3", points_per_yuan=Decimal("3"), category=food)
    m = services.member_register(actor="t", mobile="13812341234")
    r = services.member_order_paid(member_code=m.code, order_number="SO1", amount=Decimal("100"),
                                   category_amounts={"FRESH": Decimal("40")})
    assert r.points == 40 * 3 + 60


def test_review_downgrades_on_schedule_with_history():
    _, _, gold = standard_tiers()
    m = MemberFactory(tier=gold, tier_review_at=timezone.now() - dt.timedelta(minutes=1))
    services.member_order_paid(member_code=m.code, order_number="SO1", amount=Decimal("1500"),
                               at=timezone.now() - dt.timedelta(days=30))
    not_due = MemberFactory(tier=gold, tier_review_at=timezone.now() + dt.timedelta(days=3))
    assert services.tiers_review() == 1
    m.refresh_from_db()
    not_due.refresh_from_db()
    assert m.tier.code == "SILVER" and not_due.tier.code == "GOLD"
    assert m.tier_review_at > timezone.now() + dt.timedelta(days=364)
    assert list(TierChange.objects.filter(member=m).values_list("from_tier", "to_tier", "reason")) == [
        ("GOLD", "SILVER", "downgrade")]


def _member_with_points(points, mobile="13812341234", at=None):
    m = MemberFactory(mobile=mobile)
    services.points_adjust(actor="t", member=m, points=points, note="seed", at=at)
    return m


def test_redeem_takes_fifo_and_refuses_overdraw_without_change():
    m = MemberFactory()
    old = timezone.now() - dt.timedelta(days=400)
    services.points_adjust(actor="t", member=m, points=300, note="old", at=old)
    services.points_adjust(actor="t", member=m, points=500, note="new")
    e = services.points_redeem(member=m.code, order_number="SO1", points=400)
    assert (e.points, e.amount) == (-400, Decimal("4.00"))
    assert list(PointsEntry.objects.filter(member=m, kind="adjust").order_by("id").values_list("remaining", flat=True)
                ) == [0, 400]
    with pytest.raises(InsufficientPoints):
        services.points_redeem(member=m.code, order_number="SO2", points=401)
    m.refresh_from_db()
    assert m.points_balance == 400
    assert not PointsEntry.objects.filter(order_number="SO2").exists()
    # the same order again is a replay
    assert services.points_redeem(member=m.code, order_number="SO1", points=400).pk == e.pk
    _ledger_ok()


def test_refund_claws_back_earned_and_returns_redeemed_proportionally():
    standard_tiers()
    EarnRule.objects.create(name="base", points_per_yuan=Decimal("1"))
    m = _member_with_points(1000)
    services.points_redeem(member=m, order_number="SO1", points=600)
    services.member_order_paid(member_code=m.code, order_number="SO1", amount=Decimal("333"))
    r1 = services.points_refund_clawback(member=m, order_number="SO1", refunded_amount=Decimal("111"),
                                         original_amount=Decimal("333"), refund_number="RF1")
    assert (r1.clawed_back, r1.returned, r1.uncollected) == (111, 200, 0)
    again = services.points_refund_clawback(member=m, order_number="SO1", refunded_amount=Decimal("111"),
                                            original_amount=Decimal("333"), refund_number="RF1")
    assert (again.clawed_back, again.returned) == (111, 200)
    r2 = services.points_refund_clawback(member=m, order_number="SO1", refunded_amount=Decimal("222"),
                                         original_amount=Decimal("333"), refund_number="RF2")
    assert (r2.clawed_back, r2.returned) == (222, 400)
    m.refresh_from_db()
    assert m.points_balance == 1000  # back to where it was before the order
    assert m.growth_value == 0
    assert services._window_growth(m, timezone.now()) == 0
    _ledger_ok()


def test_clawback_never_overdraws_and_records_what_was_uncollected():
    standard_tiers()
    EarnRule.objects.create(name="base", points_per_yuan=Decimal("1"))
    m = MemberFactory()
    services.member_order_paid(member_code=m.code, order_number="SO1", amount=Decimal("200"))
    services.points_redeem(member=m, order_number="SO2", points=150)
    r = services.points_refund_clawback(member=m, order_number="SO1", refunded_amount=Decimal("200"),
                                        original_amount=Decimal("200"), refund_number="RF1")
    assert (r.clawed_back, r.uncollected) == (50, 150)
    again = services.points_refund_clawback(member=m, order_number="SO1", refunded_amount=Decimal("200"),
                                            original_amount=Decimal("200"), refund_number="RF1")
    assert (again.clawed_back, again.uncollected) == (50, 150)
    assert PointsEntry.objects.filter(kind="clawback").count() == 1
    m.refresh_from_db()
    assert m.points_balance == 0
    _ledger_ok()


def test_expiry_job_expires_only_lapsed_lots():
    m = MemberFactory()
    services.points_adjust(actor="t", member=m, points=300, note="2024", at=dt.datetime(2024, 6, 1, tzinfo=SH))
    services.points_adjust(actor="t", member=m, points=200, note="2025", at=dt.datetime(2025, 6, 1, tzinfo=SH))
    services.points_redeem(member=m, order_number="SO1", points=100, at=dt.datetime(2025, 7, 1, tzinfo=SH))
    assert services.points_expire(now=dt.datetime(2025, 12, 31, 23, 59, tzinfo=SH)) == 0
    assert services.points_expire(now=dt.datetime(2026, 1, 1, 0, 0, tzinfo=SH)) == 200
    assert services.points_expire(now=dt.datetime(2026, 1, 1, 0, 1, tzinfo=SH)) == 0
    m.refresh_from_db()
    assert m.points_balance == 200
    _ledger_ok()


def test_ledger_check_finds_a_tampered_balance():
    m = _member_with_points(100)
    Member.objects.filter(pk=m.pk).update(points_balance=150)
    assert [(p.member, p.balance, p.ledger_sum) for p in selectors.points_ledger_check()] == [(m.code, 150, 100)]


def test_coupon_quotas_per_member_and_total():
    t = CouponTemplateFactory(code="Q", total_quota=2, per_member_limit=1)
    a, b, c = MemberFactory(), MemberFactory(), MemberFactory()
    services.coupon_claim(member=a, template_code="Q")
    with pytest.raises(QuotaExhausted) as exc:
        services.coupon_claim(member=a, template_code="Q")
    assert exc.value.code == "coupon_member_limit"
    services.coupon_claim(member=b, template_code="Q")
    with pytest.raises(QuotaExhausted):
        services.coupon_claim(member=c, template_code="Q")
    t.refresh_from_db()
    assert t.issued_count == 2 and Coupon.objects.count() == 2


def test_coupon_redeem_once_restore_on_refund():
    CouponTemplateFactory(code="Q")
    m = MemberFactory()
    c = services.coupon_claim(member=m, template_code="Q")
    services.coupon_redeem(coupon_code=c.code, order_number="SO1", member=m)
    assert services.coupon_redeem(coupon_code=c.code, order_number="SO1").status == "used"  # replay
    with pytest.raises(CouponUnavailable) as exc:
        services.coupon_redeem(coupon_code=c.code, order_number="SO2")
    assert exc.value.details["reason"] == "used"
    c.refresh_from_db()
    assert c.order_number == "SO1"
    assert services.coupon_restore(order_number="SO1") == [c.code]
    c.refresh_from_db()
    assert (c.status, c.order_number) == ("issued", "")
    services.coupon_redeem(coupon_code=c.code, order_number="SO2")


def test_coupon_redeem_refuses_expired_and_other_members_coupons():
    CouponTemplateFactory(code="Q", valid_days=1)
    m, other = MemberFactory(), MemberFactory()
    c = services.coupon_claim(member=m, template_code="Q")
    with pytest.raises(CouponUnavailable):
        services.coupon_redeem(coupon_code=c.code, order_number="SO1", member=other)
    with pytest.raises(CouponUnavailable) as exc:
        services.coupon_redeem(coupon_code=c.code, order_number="SO1", at=timezone.now() + dt.timedelta(days=3))
    assert exc.value.details["reason"] == "expired"
    c.refresh_from_db()
    assert c.status == "issued"


def test_batch_to_list_inline_and_segment_through_the_job(monkeypatch):
    t = CouponTemplateFactory(code="B", claimable=False, total_quota=5)
    members = [MemberFactory() for _ in range(7)]
    b = services.coupon_batch_create(actor="hq", template_code="B", member_codes=[m.code for m in members[:3]])
    assert (b.status, b.total, b.issued) == ("done", 3, 3)
    monkeypatch.setattr(services, "BATCH_INLINE_MAX", 2)
    b2 = services.coupon_batch_create(actor="hq", template_code="B", segment={"marketing_consent": True})
    assert (b2.status, b2.total, b2.processed) == ("pending", 7, 0)
    services.coupon_batch_step(batch_id=b2.pk, chunk=4)
    b2.refresh_from_db()
    assert (b2.status, b2.processed) == ("running", 4)
    services.coupon_batches_run()
    b2.refresh_from_db()
    # 3 members already hold one (per-member limit 1); quota 5 leaves 2 for the other 4
    assert (b2.status, b2.processed, b2.issued, b2.skipped) == ("done", 7, 2, 5)
    t.refresh_from_db()
    assert t.issued_count == 5 == Coupon.objects.count()


def test_birthday_coupons_once_a_year():
    _, silver, _ = standard_tiers()
    silver.birthday_coupon_template = CouponTemplateFactory(code="BDAY", claimable=False, per_member_limit=10)
    silver.save()
    today = dt.date(2026, 5, 20)
    MemberFactory(tier=silver, birthday=dt.date(1990, 5, 20))
    MemberFactory(tier=silver, birthday=dt.date(1990, 5, 21))
    assert services.coupons_birthday(today=today) == 1
    assert services.coupons_birthday(today=today) == 0
    assert Coupon.objects.filter(source="birthday").count() == 1


def test_pricing_context_and_wallet_for_pricing():
    _, silver, _ = standard_tiers()
    yn = RegionFactory(code="YN")
    km = RegionFactory(code="KM", parent=yn)
    LocationFactory(code="KM001", region=km)
    LocationFactory(code="SH001", region=RegionFactory(code="SH"))
    m = MemberFactory(tier=silver)
    _member = services.points_adjust(actor="t", member=m, points=250, note="x")
    CouponTemplateFactory(code="ALL")
    CouponTemplateFactory(code="YNONLY", regions=["YN"], kind=CouponTemplate.Kind.PERCENT, rate=Decimal("0.9"),
                          cap=Decimal("20"), threshold=Decimal("0"), categories=["FOOD"])
    CouponTemplateFactory(code="APPONLY", channels=["app"])
    for code in ("ALL", "YNONLY", "APPONLY"):
        services.coupon_claim(member=m, template_code=code)
    used = services.coupon_claim(member=m, template_code=CouponTemplateFactory(code="USED").code)
    services.coupon_redeem(coupon_code=used.code, order_number="SO9")
    ctx = selectors.member_pricing_context(m.code)
    assert ctx == MemberInput(code=m.code, tier="SILVER", points_balance=250, is_new=True, first_order=True)
    assert selectors.member_pricing_context("NOPE") is None
    km_pos = selectors.wallet_coupons_for_pricing(member=m.code, store="KM001", channel="pos")
    assert sorted(c.name.split()[-1] if c.kind == CouponKind.THRESHOLD else "YNONLY" for c in km_pos) == [
        "ALL", "YNONLY"]
    pct = next(c for c in km_pos if c.kind == CouponKind.PERCENT)
    assert (pct.rate, pct.cap, pct.scope.categories) == (Decimal("0.9000"), Decimal("20.00"), frozenset({"FOOD"}))
    assert len(selectors.wallet_coupons_for_pricing(member=m, store="SH001", channel="pos")) == 1
    assert len(selectors.wallet_coupons_for_pricing(member=m, store="SH001", channel="app")) == 2
    assert selectors.tier_rates() == {"SILVER": Decimal("0.95"), "GOLD": Decimal("0.9")}


def test_store_offers_nearest_first_with_templates_in_scope():
    a = LocationFactory(code="A1", latitude=Decimal("25.0"), longitude=Decimal("102.0"))
    LocationFactory(code="B1", latitude=Decimal("25.1"), longitude=Decimal("102.0"))
    LocationFactory(code="C1", latitude=Decimal("30.0"), longitude=Decimal("102.0"))
    CouponTemplateFactory(code="B1ONLY", stores=["B1"])
    CouponTemplateFactory(code="EVERY")
    CouponTemplateFactory(code="NOTCLAIM", claimable=False)
    rows = selectors.store_offers(lat=25.09, lon=102.0, limit=2)
    assert [r.store.code for r in rows] == ["B1", "A1"]
    assert [t.code for t in rows[0].templates] == ["B1ONLY", "EVERY"]
    assert [t.code for t in rows[1].templates] == ["EVERY"]
    assert rows[1].store == a


def test_redeem_refuses_more_than_the_max_share_of_the_order():
    m = _member_with_points(10_000)
    with pytest.raises(InvalidInput) as exc:
        services.points_redeem(member=m, order_number="SO1", points=5001, order_payable=Decimal("100.00"))
    assert exc.value.details == {"max_points": 5000}
    m.refresh_from_db()
    assert m.points_balance == 10_000
    services.points_redeem(member=m, order_number="SO1", points=5000, order_payable=Decimal("100.00"))
    m.refresh_from_db()
    assert m.points_balance == 5000


def test_ledger_check_job_counts_mismatches():
    from mendian.members import jobs

    m = _member_with_points(100)
    assert jobs.points_ledger_check() == 0
    Member.objects.filter(pk=m.pk).update(points_balance=99)
    assert jobs.points_ledger_check() == 1


def test_promotion_issues_a_coupon_once_per_order_and_benefits_read_the_tier():
    _, silver, _ = standard_tiers()
    silver.free_shipping = True
    silver.save()
    m = MemberFactory(tier=silver)
    CouponTemplateFactory(code="RETURN20", claimable=False)
    a = services.coupon_issue_for_promotion(template_code="RETURN20", member=m.code, promotion_code="P1",
                                            order_number="SO1")
    b = services.coupon_issue_for_promotion(template_code="RETURN20", member=m.code, promotion_code="P1",
                                            order_number="SO1")
    assert a.pk == b.pk and (a.source, a.source_ref) == ("promotion", "P1:SO1")
    assert Coupon.objects.count() == 1
    assert selectors.member_benefits(m.code) == selectors.MemberBenefits("SILVER", Decimal("5.00"), False,
                                                                         Decimal("1.50"), True)
    assert selectors.member_benefits("NOPE") is None


def test_check_command_and_defaults():
    from django.core.management import CommandError, call_command

    call_command("members", "defaults")
    call_command("members", "defaults")
    assert list(Tier.objects.values_list("code", flat=True)) == ["NORMAL", "SILVER", "GOLD", "DIAMOND"]
    m = _member_with_points(10)
    call_command("members", "check")
    Member.objects.filter(pk=m.pk).update(points_balance=11)
    with pytest.raises(CommandError):
        call_command("members", "check")


def test_store_offers_include_active_promotions_in_scope():
    from mendian.promotions import services as promo

    yn = RegionFactory(code="YN")
    LocationFactory(code="KMX", region=yn, latitude=Decimal("25.0"), longitude=Decimal("102.0"))
    ladder = {"tiers": [{"threshold": "100", "amount": "10"}]}
    promo.promotion_create(actor="t", code="YN-LADDER", name="满100减10", kind="amount_off",
                           condition={"regions": ["YN"]}, benefit=ladder)
    promo.promotion_create(actor="t", code="SH-ONLY", name="上海", kind="amount_off",
                           condition={"regions": ["SH"]}, benefit=ladder)
    promo.promotion_create(actor="t", code="DRAFT", name="草稿", kind="amount_off", benefit=ladder)
    promo.promotion_set_status(actor="t", code="YN-LADDER", status="active")
    promo.promotion_set_status(actor="t", code="SH-ONLY", status="active")
    rows = selectors.store_offers(lat=25.0, lon=102.0, limit=1)
    assert [p["code"] for p in rows[0].promotions] == ["YN-LADDER"]
    assert selectors.promotions_available()
