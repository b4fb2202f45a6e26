"""Real concurrency on PostgreSQL: threads with their own connections racing on one coupon, one
template's quota and one member's points."""

from __future__ import annotations

import pytest

from mendian.core.testing import run_threads
from mendian.members import selectors, services
from mendian.members.errors import CouponUnavailable, InsufficientPoints, MemberExists, QuotaExhausted
from mendian.members.models import Coupon, CouponTemplate, Member, PointsEntry

from .factories import CouponTemplateFactory, MemberFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_one_coupon_twenty_checkouts_exactly_one_wins():
    CouponTemplateFactory(code="ONE")
    m = MemberFactory()
    c = services.coupon_claim(member=m, template_code="ONE")
    results = run_threads(20, lambda i: services.coupon_redeem(coupon_code=c.code, order_number=f"SO{i}"))
    won = [r for r in results if isinstance(r, Coupon)]
    lost = [r for r in results if isinstance(r, CouponUnavailable)]
    assert (len(won), len(lost)) == (1, 19), [r for r in results if not isinstance(r, (Coupon, CouponUnavailable))]
    c.refresh_from_db()
    assert c.status == "used" and c.order_number == won[0].order_number


def test_quota_of_ten_under_forty_concurrent_claims_is_never_over_issued():
    CouponTemplateFactory(code="TEN", total_quota=10, per_member_limit=1)
    members = [MemberFactory() for _ in range(40)]
    results = run_threads(40, lambda i: services.coupon_claim(member=members[i], template_code="TEN"))
    ok = [r for r in results if isinstance(r, Coupon)]
    refused = [r for r in results if isinstance(r, QuotaExhausted)]
    assert (len(ok), len(refused)) == (10, 30)
    assert CouponTemplate.objects.get(code="TEN").issued_count == 10 == Coupon.objects.count()


def test_per_member_limit_under_concurrent_claims_of_one_member():
    CouponTemplateFactory(code="TWO", per_member_limit=2)
    m = MemberFactory()
    results = run_threads(12, lambda i: services.coupon_claim(member=m, template_code="TWO"))
    assert sum(isinstance(r, Coupon) for r in results) == 2
    assert sum(isinstance(r, QuotaExhausted) for r in results) == 10
    assert Coupon.objects.filter(member=m).count() == 2


def test_concurrent_redemptions_never_overdraw_points():
    m = MemberFactory()
    services.points_adjust(actor="t", member=m, points=1000, note="seed")
    results = run_threads(30, lambda i: services.points_redeem(member=m.code, order_number=f"SO{i}", points=70))
    ok = [r for r in results if isinstance(r, PointsEntry)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert (len(ok), len(refused)) == (14, 16), [r for r in results if not isinstance(r, (PointsEntry,
                                                                                           InsufficientPoints))]
    m.refresh_from_db()
    assert m.points_balance == 1000 - 14 * 70
    assert selectors.points_ledger_check() == []


def test_same_mobile_registered_concurrently_makes_one_member():
    results = run_threads(8, lambda i: services.member_register(actor="t", mobile="13812341234", channel="app"))
    made = [r for r in results if isinstance(r, Member)]
    dup = [r for r in results if isinstance(r, MemberExists)]
    assert (len(made), len(dup)) == (1, 7)
    assert {d.member_code for d in dup} == {made[0].code}
    assert Member.objects.count() == 1


def test_batch_racing_claims_never_over_issues_the_total_quota():
    CouponTemplateFactory(code="MIX", total_quota=25, per_member_limit=1)
    members = [MemberFactory() for _ in range(60)]
    claimers = members[:20]

    def work(i: int):
        if i == 0:
            b = services.coupon_batch_create(actor="hq", template_code="MIX",
                                             member_codes=[m.code for m in members[10:]])
            return b
        return services.coupon_claim(member=claimers[i - 1], template_code="MIX")

    results = run_threads(21, work)
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, QuotaExhausted)]
    assert unexpected == []
    assert CouponTemplate.objects.get(code="MIX").issued_count == 25 == Coupon.objects.count()
    assert Coupon.objects.values("member").distinct().count() == 25
