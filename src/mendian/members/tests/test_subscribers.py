from decimal import Decimal

import pytest

from mendian.catalog.tests.factories import CategoryFactory, ProductFactory, SkuFactory
from mendian.members import selectors, services, subscribers
from mendian.members.models import Coupon, EarnRule, Member
from mendian.platform.models import OutboxEvent

from .factories import CouponTemplateFactory, MemberFactory, standard_tiers

pytestmark = pytest.mark.django_db


def _event(topic, **payload):
    return OutboxEvent(topic=topic, payload=payload)


def _setup():
    standard_tiers()
    food = CategoryFactory(code="FOOD")
    EarnRule.objects.create(name="base", points_per_yuan=Decimal("1"))
    EarnRule.objects.create(name="food x2", points_per_yuan=Decimal("2"), category=food)
    SkuFactory(code="APPLE", product=ProductFactory(category=food))
    SkuFactory(code="SOAP", product=ProductFactory(category=CategoryFactory(code="HOME")))
    m = MemberFactory()
    services.points_adjust(actor="t", member=m, points=2000, note="seed")
    return m


def test_paid_event_earns_on_money_paid_by_category_once():
    m = _setup()
    services.points_redeem(member=m, order_number="SO1", points=2000)  # ¥20 of a ¥100 order
    ev = _event("order.paid", number="SO1", store="KM001", channel="pos", total="100.00", member=m.code,
                lines=[{"sku": "APPLE", "amount": "50.00"}, {"sku": "SOAP", "amount": "50.00"}])
    subscribers.on_order_paid(ev)
    subscribers.on_order_paid(ev)  # redelivered
    m.refresh_from_db()
    # ¥80 paid: APPLE ¥40 × 2 + SOAP ¥40 × 1 = 120 points; growth 80
    assert (m.points_balance, m.growth_value, m.orders_count) == (120, 80, 1)
    assert selectors.points_ledger_check() == []


def test_refund_and_cancel_events_move_points_and_restore_coupons():
    m = _setup()
    CouponTemplateFactory(code="Q")
    c = services.coupon_claim(member=m, template_code="Q")
    services.coupon_redeem(coupon_code=c.code, order_number="SO1")
    services.points_redeem(member=m, order_number="SO1", points=1000)
    subscribers.on_order_paid(_event("order.paid", number="SO1", total="100.00", member=m.code,
                                     lines=[{"sku": "SOAP", "amount": "100.00"}]))
    m.refresh_from_db()
    assert m.points_balance == 1000 + 90
    half = _event("order.refunded", number="SO1", total="100.00", refunded_total="50.00", member=m.code,
                  refund={"number": "RF1", "amount": "50.00"})
    subscribers.on_order_refunded(half)
    subscribers.on_order_refunded(half)
    m.refresh_from_db()
    assert m.points_balance == 1090 - 45 + 500
    assert Coupon.objects.get(pk=c.pk).status == "used"
    subscribers.on_order_refunded(_event("order.refunded", number="SO1", total="100.00", refunded_total="100.00",
                                         member=m.code, refund={"number": "RF2", "amount": "50.00"}))
    m.refresh_from_db()
    assert m.points_balance == 2000
    assert Coupon.objects.get(pk=c.pk).status == "issued"
    assert selectors.points_ledger_check() == []


def test_events_without_a_known_member_change_nothing():
    _setup()
    subscribers.on_order_paid(_event("order.paid", number="SO9", total="10.00", member="NOPE", lines=[]))
    assert Member.objects.get().orders_count == 0


def test_expired_unpaid_order_gives_back_coupon_and_points():
    m = _setup()
    CouponTemplateFactory(code="Q")
    c = services.coupon_claim(member=m, template_code="Q")
    services.coupon_redeem(coupon_code=c.code, order_number="SO7")
    services.points_redeem(member=m, order_number="SO7", points=500)
    ev = _event("order.expired", number="SO7", total="60.00", member=m.code)
    subscribers.on_order_expired(ev)
    subscribers.on_order_expired(ev)
    m.refresh_from_db()
    assert m.points_balance == 2000 and m.orders_count == 0
    assert Coupon.objects.get(pk=c.pk).status == "issued"
    assert selectors.points_ledger_check() == []
