"""The till prices with the promotions engine: a member found by mobile, a wallet coupon, points,
the explanation on screen, and the sale charging exactly what the screen said."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from mendian.members import services as msvc
from mendian.members.models import Coupon
from mendian.members.tests.factories import CouponTemplateFactory
from mendian.promotions.services import promotion_create, promotion_set_status
from mendian.sales.models import Order, Tender

pytestmark = pytest.mark.django_db


def _setup(chain):
    # 满20减5 on everything; a 满10减3 coupon; a member registered at another store with 500 points
    promotion_create(actor="test", code="MJ20", name="满20减5", kind="amount_off",
                     benefit={"tiers": [{"threshold": "20", "amount": "5"}]})
    promotion_set_status(actor="test", code="MJ20", status="active")
    CouponTemplateFactory(code="C10", name="满10减3", amount=D("3.00"), threshold=D("10.00"))
    member = msvc.member_register(actor="test", mobile="13900001111", name="王芳", channel="app")
    coupon = msvc.coupon_claim(member=member, template_code="C10")
    msvc.points_adjust(actor="test", member=member, points=500, note="welcome")
    return member, coupon


def test_a_member_sale_at_the_till_shows_why_and_charges_it(chain, signed_in):
    member, coupon = _setup(chain)
    c = signed_in(chain.users["cashier_km1"])
    c.post("/shifts/", {"store": "KM001", "action": "open", "opening_float": "100.00"})
    c.post("/pos/", {"store": "KM001", "action": "add", "code": "S001", "quantity": "2"})  # 2 × 12.50
    page = c.get("/pos/?store=KM001").content.decode()
    assert "MJ20" in page and 'id="cart-total">20.00<' in page  # 25.00 − 5.00, before any member
    # the cashier finds the member by mobile (a cashier sees it masked), ticks the coupon, asks for 100 points
    resp = c.post("/pos/", {"store": "KM001", "action": "customer", "member": "13900001111"}, HTTP_HX_REQUEST="true")
    body = resp.content.decode()
    assert member.code in body and "139****1111" in body and coupon.code in body
    resp = c.post("/pos/", {"store": "KM001", "action": "customer", "member": member.code,
                            "coupons": [coupon.code], "points": "100"}, HTTP_HX_REQUEST="true")
    body = resp.content.decode()
    # 25.00 − 5.00 (满20减5) − 3.00 (coupon) = 17.00; 100 points = ¥1.00 → 16.00 to pay
    assert 'id="cart-total">17.00<' in body and 'id="cart-payable">16.00<' in body
    assert "满¥20.00减¥5.00" in body and coupon.code in body and 'id="explanation"' in body
    resp = c.post("/pos/checkout/", {"store": "KM001", "method": "cash", "amount": "20.00"})
    order = Order.objects.get()
    assert resp.status_code == 302, resp.content
    assert (order.member_code, order.total, order.change) == (member.code, D("17.00"), D("4.00"))
    assert dict(Tender.objects.filter(order=order).values_list("method", "amount")) == {
        "cash": D("20.00"), "points": D("1.00")}
    assert Coupon.objects.get(pk=coupon.pk).status == Coupon.Status.USED
    member.refresh_from_db()
    assert member.points_balance < 500  # 100 redeemed (earning on the sale comes through the outbox)
    # the next sale starts without the member
    assert member.code not in c.get("/pos/?store=KM001").content.decode()


def test_an_unknown_member_or_bad_points_are_told_not_sold(chain, signed_in):
    _setup(chain)
    c = signed_in(chain.users["cashier_km1"])
    c.post("/pos/", {"store": "KM001", "action": "add", "code": "S001", "quantity": "1"})
    body = c.post("/pos/", {"store": "KM001", "action": "customer", "member": "13800000000"},
                  HTTP_HX_REQUEST="true").content.decode()
    assert "No member with code or mobile 13800000000." in body
    body = c.post("/pos/", {"store": "KM001", "action": "customer", "member": "13900001111", "points": "-5"},
                  HTTP_HX_REQUEST="true").content.decode()
    assert "Points must be a whole number, zero or more." in body
