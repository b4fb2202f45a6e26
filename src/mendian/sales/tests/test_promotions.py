"""Checkout priced by the promotions engine: 满减 at POS, coupon + points, member tier price, gift
lines taking stock, refunds of discounted lines, cancel giving coupons and points back, the cart
price preview, and (PostgreSQL) one coupon raced by two checkouts."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from mendian.inventory.models import StockMovement
from mendian.members import subscribers as _members_subscribers  # noqa: F401  (registers the handlers)
from mendian.members.models import Coupon, Member
from mendian.members.services import coupon_claim, points_adjust
from mendian.members.tests.factories import CouponTemplateFactory, MemberFactory, TierFactory
from mendian.platform.outbox import outbox_deliver
from mendian.promotions.models import PromotionUsage
from mendian.promotions.services import promotion_create, promotion_set_status
from mendian.sales import selectors, services
from mendian.sales.domain import LineRequest, RefundRequestLine, TenderRequest
from mendian.sales.models import Order, OrderStatus

pytestmark = pytest.mark.django_db


def _promo(code: str, kind: str, **kw):
    promotion_create(actor="test", code=code, name=code, kind=kind, **kw)
    return promotion_set_status(actor="test", code=code, status="active")


def _mj():
    return _promo("MJ100", "amount_off", benefit={"tiers": [{"threshold": "100", "amount": "10"}]})


def _member_with_coupon_and_points(points: int = 1000) -> tuple[Member, Coupon]:
    m = MemberFactory(code="M0000000001")
    CouponTemplateFactory(code="C10", threshold=D("50.00"), amount=D("10.00"))
    coupon = coupon_claim(member=m, template_code="C10")
    points_adjust(actor="test", member=m, points=points, note="test")
    return m, coupon


def _ctx(chain, user):
    return selectors.sale_context_get(store_code="KM001", user_id=user.pk)


def test_manjian_at_pos_discounts_lines_exactly_and_records_usage(chain, open_shift):
    _mj()
    user = chain.users["cashier_km1"]
    open_shift(user, chain.km1)
    ctx = _ctx(chain, user)
    assert ctx.promotions_active is True
    r = services.order_create(actor=user, ctx=ctx, channel="pos", fulfilment="in_store",
                              lines=[LineRequest("S005", 4), LineRequest("S002", 1)],
                              tenders=[TenderRequest("cash", D("100.00"))])
    o = r.order
    assert (o.subtotal, o.discount_total, o.total, o.change) == (D("103.00"), D("10.00"), D("93.00"), D("7.00"))
    assert sum(ln.discount for ln in r.lines) == D("10.00")
    assert all(ln.amount >= 0 and ln.discount >= 0 for ln in r.lines)
    assert sum(ln.amount for ln in r.lines) == D("93.00")
    assert [a["rule"] for a in o.adjustments] == ["MJ100"] and o.adjustments[0]["amount"] == "10.00"
    assert PromotionUsage.objects.filter(order_ref=o.number, promotion__code="MJ100").count() == 1


def test_manjian_refused_when_tenders_only_cover_the_list_price_minus_a_fen(chain, open_shift, api_client):
    _mj()
    user = chain.users["cashier_km1"]
    open_shift(user, chain.km1)
    body = {"store": "KM001", "channel": "pos", "lines": [{"sku": "S005", "quantity": 4}],
            "tenders": [{"method": "card", "amount": "89.99"}]}
    r = api_client(user).post("/api/v1/orders", body, idempotency_key="k1")
    assert r.status_code == 422 and r.json()["error"]["code"] == "tenders_short"
    assert not Order.objects.exists() and not PromotionUsage.objects.exists()
    body["tenders"] = [{"method": "card", "amount": "90.00"}]
    r = api_client(user).post("/api/v1/orders", body, idempotency_key="k2")
    assert r.status_code == 201, r.json()
    j = r.json()
    assert j["discount_total"] == "10.00" and j["total"] == "90.00" and j["lines"][0]["discount"] == "10.00"
    assert j["adjustments"][0]["rule"] == "MJ100" and j["adjustments"][0]["lines"] == [1]


def test_coupon_and_points_order_redeems_both_and_adds_a_points_tender(chain, open_shift, api_client):
    m, coupon = _member_with_coupon_and_points()
    user = chain.users["cashier_km1"]
    open_shift(user, chain.km1)
    body = {"store": "KM001", "channel": "pos", "lines": [{"sku": "S005", "quantity": 4}], "member": m.code,
            "coupons": [coupon.code], "points": 500, "tenders": [{"method": "cash", "amount": "85.00"}]}
    r = api_client(user).post("/api/v1/orders", body, idempotency_key="cp")
    assert r.status_code == 201, r.json()
    j = r.json()
    assert (j["subtotal"], j["discount_total"], j["total"]) == ("100.00", "10.00", "90.00")
    assert (j["member"], j["points_used"], j["points_value"], j["paid_total"]) == (m.code, 500, "5.00", "90.00")
    assert sorted((t["method"], t["amount"]) for t in j["tenders"]) == [("cash", "85.00"), ("points", "5.00")]
    coupon.refresh_from_db()
    m.refresh_from_db()
    assert coupon.status == Coupon.Status.USED and coupon.order_number == j["number"]
    assert m.points_balance == 500
    assert Order.objects.get(number=j["number"]).member_code == m.code
    # a refund of the whole order pays the cash share in cash, the points share goes back as points
    hq = chain.users["manager_km1"]
    rr = api_client(hq).post(f"/api/v1/orders/{j['number']}/refund", {"lines": [{"line": 1, "quantity": 4}]},
                             idempotency_key="rf")
    assert rr.status_code == 201, rr.json()
    assert rr.json()["amount"] == "90.00"
    assert sorted((t["method"], t["amount"]) for t in rr.json()["tenders"]) == [("cash", "-85.00"),
                                                                                ("points", "-5.00")]
    outbox_deliver()
    m.refresh_from_db()
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.ISSUED  # fully refunded: the coupon comes back
    assert m.points_balance == 1000  # the 500 redeemed come back; what the sale earned is taken back


def test_unknown_member_and_foreign_coupon_are_422_naming_the_field(chain, open_shift, api_client):
    m, _coupon = _member_with_coupon_and_points()
    user = chain.users["cashier_km1"]
    open_shift(user, chain.km1)
    c = api_client(user)
    base = {"store": "KM001", "channel": "pos", "lines": [{"sku": "S005", "quantity": 4}],
            "tenders": [{"method": "cash", "amount": "100.00"}]}
    r = c.post("/api/v1/orders", {**base, "member": "NOBODY"}, idempotency_key="a")
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "member"
    r = c.post("/api/v1/orders", {**base, "member": m.code, "coupons": ["NOPE"]}, idempotency_key="b")
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "coupons[0]"
    r = c.post("/api/v1/orders", {**base, "points": 100}, idempotency_key="c")
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "member"
    assert not Order.objects.exists()


def test_member_tier_price(chain, open_shift):
    gold = TierFactory(code="GOLD", threshold=5000)
    m = MemberFactory(code="M0000000002", tier=gold)
    _promo("GOLD10", "tier_price", benefit={"tier_rates": {"GOLD": "0.9"}})
    user = chain.users["cashier_km1"]
    open_shift(user, chain.km1)
    lines = [LineRequest("S001", 2)]
    r = services.order_create(actor=user, ctx=_ctx(chain, user), channel="pos", fulfilment="in_store", lines=lines,
                              tenders=[TenderRequest("card", D("22.50"))], member=m.code)
    assert (r.order.subtotal, r.order.discount_total, r.order.total) == (D("25.00"), D("2.50"), D("22.50"))
    assert r.order.member_code == m.code
    # without the member the same cart costs the store price
    r2 = services.order_create(actor=user, ctx=_ctx(chain, user), channel="pos", fulfilment="in_store", lines=lines,
                               tenders=[TenderRequest("card", D("25.00"))])
    assert r2.order.discount_total == D("0.00") and r2.order.total == D("25.00")


def test_gift_line_is_zero_priced_and_takes_stock(chain, open_shift):
    _promo("GIFT50", "gift", condition={"min_amount": "50"},
           benefit={"gifts": [{"sku": "S004", "quantity": 1, "value": "1.00"}]})
    user = chain.users["cashier_km1"]
    open_shift(user, chain.km1)
    r = services.order_create(actor=user, ctx=_ctx(chain, user), channel="pos", fulfilment="in_store",
                              lines=[LineRequest("S005", 2)], tenders=[TenderRequest("cash", D("50.00"))])
    assert [(ln.sku_code, ln.quantity, ln.unit_price, ln.amount) for ln in r.lines] == [
        ("S005", 2, D("25.00"), D("50.00")), ("S004", 1, D("0.00"), D("0.00"))]
    assert r.order.total == D("50.00")
    mv = StockMovement.objects.filter(doc_ref=r.order.number, sku__code="S004", reason="sale")
    assert sum(x.on_hand_delta for x in mv) == -1


def test_refund_of_a_discounted_line_is_pro_rata(chain, open_shift, api_client):
    _mj()
    user = chain.users["cashier_km1"]
    open_shift(user, chain.km1)
    r = services.order_create(actor=user, ctx=_ctx(chain, user), channel="pos", fulfilment="in_store",
                              lines=[LineRequest("S005", 4), LineRequest("S002", 1)],
                              tenders=[TenderRequest("cash", D("93.00"))])
    line1 = r.lines[0]
    assert line1.discount > 0
    rf = services.order_refund(actor=user, order_id=r.order.pk, lines=[RefundRequestLine(1, 1)])
    expected = (line1.amount / 4).quantize(D("0.01"))
    assert rf.refund.amount == expected and expected < D("25.00")
    assert [(t.method, t.amount) for t in rf.tenders] == [("cash", -expected)]


def test_cancel_gives_coupon_and_points_back_through_the_subscriber(chain, api_client):
    m, coupon = _member_with_coupon_and_points()
    c = api_client(chain.users["manager_km1"])
    body = {"store": "KM001", "channel": "online", "fulfilment": "pickup", "lines": [{"sku": "S005", "quantity": 4}],
            "member": m.code, "coupons": [coupon.code], "points": 500,
            "tenders": [{"method": "wechat_pay", "amount": "85.00", "reference": "wx"}]}
    r = c.post("/api/v1/orders", body, idempotency_key="on")
    assert r.status_code == 201, r.json()
    number = r.json()["number"]
    assert r.json()["status"] == "paid"
    outbox_deliver()
    m.refresh_from_db()
    assert m.points_balance >= 500  # 500 redeemed (and what the paid order earned, if any)
    rc = c.post(f"/api/v1/orders/{number}/cancel", {})
    assert rc.status_code == 200, rc.json()
    assert sorted((t["method"], t["amount"]) for t in rc.json()["tenders"] if t["refund"]) == [
        ("points", "-5.00"), ("wechat_pay", "-85.00")]
    outbox_deliver()
    m.refresh_from_db()
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.ISSUED and coupon.order_number == ""
    assert m.points_balance == 1000
    assert Order.objects.get(number=number).status == OrderStatus.CANCELLED


def test_cart_price_shows_the_order_pricing_without_writing(chain, api_client):
    _mj()
    m, coupon = _member_with_coupon_and_points()
    c = api_client(chain.users["cashier_km1"])
    body = {"store": "KM001", "channel": "pos", "lines": [{"sku": "S005", "quantity": 5}], "member": m.code,
            "coupons": [coupon.code], "points": 200}
    r = c.post("/api/v1/carts/price", body)
    assert r.status_code == 200, r.json()
    j = r.json()
    assert (j["subtotal"], j["discount_total"], j["total"]) == ("125.00", "20.00", "105.00")
    assert (j["points_used"], j["points_value"], j["payable"]) == (200, "2.00", "103.00")
    assert j["coupons_used"] == [coupon.code]
    assert sorted(a["rule"] for a in j["adjustments"]) == sorted(["MJ100", coupon.code])
    coupon.refresh_from_db()
    m.refresh_from_db()
    assert coupon.status == Coupon.Status.ISSUED and m.points_balance == 1000
    assert not Order.objects.exists() and not PromotionUsage.objects.exists()
