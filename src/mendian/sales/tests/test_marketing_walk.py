"""Issue 3, "Done when", end to end through the API as the console and the terminals call it.

A marketer (HQ) sets up a 满减 ladder for region YN, 第2件半价 on the snacks category, a member price
by tier and a coupon campaign (a template issued by batch to the region's members, also claimable). A
member registered at store A (KM001) buys at store B (KM002, POS) and on the mini-program (pickup at
KM001) with the member price, both promotions, a coupon and points in one order, sees the explanation,
and one line of the POS order is refunded: exactly that line's amount, its share of the points, the
coupon back only once the whole order is refunded.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from mendian.catalog.tests.factories import CategoryFactory, ProductFactory, SkuFactory
from mendian.inventory.tests.factories import receive
from mendian.members import subscribers as _members_subscribers  # noqa: F401  (registers the handlers)
from mendian.members.models import Coupon, Member, PointsEntry
from mendian.members.services import members_defaults_ensure
from mendian.org.tests.factories import LocationFactory, RegionFactory, user_with_role
from mendian.platform.outbox import outbox_deliver
from mendian.sales.services import shift_open

pytestmark = pytest.mark.django_db


@pytest.fixture
def walk_chain():
    yn = RegionFactory(code="YN", name="云南")
    km = RegionFactory(code="KM", name="昆明", parent=yn)
    a = LocationFactory(code="KM001", region=km)
    b = LocationFactory(code="KM002", region=km)
    snacks = CategoryFactory(code="SN", name="休闲零食")
    drinks = CategoryFactory(code="BV", name="酒水饮料")
    skus = {
        "CHIPS": SkuFactory(code="CHIPS", list_price=D("20.00"), product=ProductFactory(category=snacks)),
        "TEA": SkuFactory(code="TEA", list_price=D("30.00"), product=ProductFactory(category=drinks)),
        "BAIJIU": SkuFactory(code="BAIJIU", list_price=D("1299.00"), product=ProductFactory(category=drinks)),
    }
    for store in (a, b):
        for sku in skus.values():
            receive(store, sku, 50, "5.0000")
    members_defaults_ensure()  # 普卡/银卡/金卡/钻石卡, 1 point per yuan, 100 points = ¥1, points pay ≤ 50 %
    return {"a": a, "b": b, "users": {
        "hq": user_with_role("hq", username="hq"),
        "cashier_a": user_with_role("cashier", username="cashier.KM001", location=a),
        "cashier_b": user_with_role("cashier", username="cashier.KM002", location=b),
        "manager_a": user_with_role("store_manager", username="manager.KM001", location=a),
        "manager_b": user_with_role("store_manager", username="manager.KM002", location=b),
    }}


def _created(r, status: int = 201) -> dict:
    assert r.status_code == status, r.content
    return r.json()


def test_marketing_walk(walk_chain, api_client):
    users = walk_chain["users"]
    hq = api_client(users["hq"])

    # -- the marketer sets up the campaign --------------------------------------------------------------
    promotions = [
        {"code": "MJ-YN", "name": "云南满100减10, 满200减25", "kind": "amount_off", "condition": {"regions": ["YN"]},
         "benefit": {"tiers": [{"threshold": "100", "amount": "10"}, {"threshold": "200", "amount": "25"}]}},
        {"code": "N2-SN", "name": "零食第2件半价", "kind": "nth_item",
         "condition": {"scope": {"categories": ["SN"]}}, "benefit": {"n": 2, "rate": "0.5"}},
        {"code": "VIP", "name": "会员价", "kind": "tier_price",
         "benefit": {"tier_rates": {"SILVER": "0.98", "GOLD": "0.95", "DIAMOND": "0.92"}}},
    ]
    for p in promotions:
        assert _created(hq.post("/api/v1/promotions", p, idempotency_key=f"p-{p['code']}"))["status"] == "draft"
        assert _created(hq.post(f"/api/v1/promotions/{p['code']}/activate", {}), 200)["status"] == "active"
    tpl = {"code": "C80-15", "name": "满80减15", "kind": "threshold", "threshold": "80", "amount": "15",
           "valid_days": 30, "per_member_limit": 2, "claimable": True, "regions": ["YN"]}
    _created(hq.post("/api/v1/coupon-templates", tpl, idempotency_key="tpl"))

    # -- a member registers at store A and becomes gold with a first purchase there -----------------------
    cashier_a, cashier_b = api_client(users["cashier_a"]), api_client(users["cashier_b"])
    member = _created(cashier_a.post("/api/v1/members", {"mobile": "13800138000", "name": "李四", "consent_marketing": True},
                                     idempotency_key="reg"))
    code = member["code"]
    assert member["store"] == "KM001" and member["tier"]["code"] == "NORMAL"
    batch = _created(hq.post("/api/v1/coupon-batches", {"template": "C80-15", "segment": {"regions": ["YN"]}},
                             idempotency_key="batch"))
    assert (batch["status"], batch["issued"]) == ("done", 1)
    for store, user in (("a", "cashier_a"), ("b", "cashier_b")):
        shift_open(actor=users[user], store_id=walk_chain[store].pk, opening_float=D("200.00"))
    first = _created(cashier_a.post("/api/v1/orders", {
        "store": "KM001", "channel": "pos", "member": code, "lines": [{"sku": "BAIJIU", "quantity": 4}],
        "tenders": [{"method": "card", "amount": "5171.00"}]}, idempotency_key="first"))
    assert first["total"] == "5171.00"  # 5196.00 − 满200减25; no member price for 普卡
    outbox_deliver()  # growth 5171 ≥ 5000: 金卡 at once, and the order earns at 金卡's 1.5 points per yuan
    m = Member.objects.get(code=code)
    assert (m.tier.code, m.points_balance) == ("GOLD", 7756)
    _created(cashier_b.post("/api/v1/coupons/claim", {"member": code, "template": "C80-15"}, idempotency_key="claim"))
    wallet = hq.get(f"/api/v1/members/{code}/wallet").json()
    coupons = sorted(c["code"] for c in wallet["items"] if c["template"] == "C80-15")
    assert len(coupons) == 2

    # -- at store B: the price and its explanation, then the sale -------------------------------------
    # hand-computed: CHIPS 2 × 20.00, TEA 3 × 30.00 = 130.00
    #   金卡 member price 95 %: CHIPS 19.00, TEA 28.50          −6.50 → 123.50
    #   第2件半价 on the second CHIPS (19.00 × 0.5)              −9.50 → 114.00
    #   满100减10 (123.50 after member prices ≥ 100)            −10.00 → 104.00, over the lines 28.50 : 85.50
    #   coupon 满80减15                                          −15.00 →  89.00, over the lines 26.00 : 78.00
    #   lines: CHIPS 40.00 − 2.00 − 9.50 − 2.50 − 3.75 = 22.25; TEA 90.00 − 4.50 − 7.50 − 11.25 = 66.75
    #   500 points = ¥5.00 (a tender): 84.00 to pay
    cart = {"store": "KM002", "channel": "pos", "member": code, "coupons": coupons, "points": 500,
            "lines": [{"sku": "CHIPS", "quantity": 2}, {"sku": "TEA", "quantity": 3}]}
    price = _created(cashier_b.post("/api/v1/carts/price", cart), 200)
    assert (price["subtotal"], price["discount_total"], price["total"], price["points_value"], price["payable"]) == (
        "130.00", "41.00", "89.00", "5.00", "84.00")
    assert [(ln["sku"], ln["discount"], ln["amount"]) for ln in price["lines"]] == [
        ("CHIPS", "17.75", "22.25"), ("TEA", "23.25", "66.75")]
    used = price["coupons_used"][0]
    other = next(c for c in coupons if c != used)
    explained = [(a["rule"], a["kind"], a["lines"], a["amount"]) for a in price["adjustments"]]
    assert explained == [("VIP", "tier_price", [1, 2], "6.50"), ("N2-SN", "nth_item", [1], "9.50"),
                         ("MJ-YN", "amount_off", [1, 2], "10.00"), (used, "coupon_threshold", [1, 2], "15.00")]
    assert [(n["promotion"], n["reason_code"]) for n in price["not_applied"]] == [(other, "not_best")]
    assert [(h["promotion"], h["add_amount"]) for h in price["hints"]] == [("MJ-YN", "76.50")]  # 满200减25
    # the same explanation per line, in the quote of the promotions API
    quote = _created(cashier_b.post("/api/v1/pricing/quote", {
        "store": "KM002", "channel": "pos", "lines": cart["lines"], "member": {"code": code, "tier": "GOLD"}}), 200)
    assert [[a["promotion"] for a in ln["adjustments"]] for ln in quote["lines"]] == [
        ["VIP", "N2-SN", "MJ-YN"], ["VIP", "MJ-YN"]]

    sale = _created(cashier_b.post("/api/v1/orders", {**cart, "tenders": [{"method": "cash", "amount": "100.00"}]},
                                   idempotency_key="sale-b"))
    assert (sale["store"], sale["member"], sale["total"], sale["points_used"], sale["change"]) == (
        "KM002", code, "89.00", 500, "16.00")
    assert [(ln["line"], ln["amount"]) for ln in sale["lines"]] == [(1, "22.25"), (2, "66.75")]
    assert sorted((t["method"], t["amount"]) for t in sale["tenders"]) == [("cash", "100.00"), ("points", "5.00")]
    assert [a["rule"] for a in sale["adjustments"]] == ["VIP", "N2-SN", "MJ-YN", used]
    assert sale["not_applied"] == price["not_applied"] and sale["hints"] == price["hints"]
    outbox_deliver()  # −500 redeemed, +126 earned: (89.00 − 5.00) × 1.5
    assert Member.objects.get(code=code).points_balance == 7756 - 500 + 126

    # -- and on the mini-program, picked up at store A, with the other coupon -----------------------------
    manager_a = api_client(users["manager_a"])
    online = _created(manager_a.post("/api/v1/orders", {
        **cart, "store": "KM001", "channel": "miniprogram", "fulfilment": "pickup", "coupons": [other],
        "tenders": [{"method": "wechat_pay", "amount": "84.00", "reference": "wx-1"}]}, idempotency_key="online"))
    assert (online["status"], online["total"], online["points_value"]) == ("paid", "89.00", "5.00")
    assert [a["rule"] for a in online["adjustments"]] == ["VIP", "N2-SN", "MJ-YN", other]
    _created(cashier_a.post("/api/v1/pickups/verify", {"store": "KM001", "code": online["pickup_code"]}), 200)
    outbox_deliver()
    assert Member.objects.get(code=code).points_balance == 7756 - 2 * (500 - 126)
    before = 7756 - 2 * (500 - 126)

    # -- refunding one line returns exactly its share -----------------------------------------------------
    manager_b = api_client(users["manager_b"])
    r1 = _created(manager_b.post(f"/api/v1/orders/{sale['number']}/refund", {"lines": [{"line": 1, "quantity": 2}]},
                                 idempotency_key="refund-1"))
    # 22.25 is a quarter of 89.00: a quarter of the ¥5.00 points tender goes back as points
    assert r1["amount"] == "22.25"
    assert sorted((t["method"], t["amount"]) for t in r1["tenders"]) == [("cash", "-21.00"), ("points", "-1.25")]
    outbox_deliver()
    assert _points(code, sale["number"], PointsEntry.Kind.REDEEM_REFUND) == 125  # a quarter of the 500
    assert _points(code, sale["number"], PointsEntry.Kind.CLAWBACK) == -32  # a quarter of the 126 earned, half up
    assert Member.objects.get(code=code).points_balance == before + 125 - 32
    assert Coupon.objects.get(code=used).status == Coupon.Status.USED  # part of the order stands: the coupon too

    r2 = _created(manager_b.post(f"/api/v1/orders/{sale['number']}/refund", {"lines": [{"line": 2, "quantity": 3}]},
                                 idempotency_key="refund-2"))
    assert r2["amount"] == "66.75" and r2["order_detail"]["status"] == "refunded"
    assert sorted((t["method"], t["amount"]) for t in r2["tenders"]) == [("cash", "-63.00"), ("points", "-3.75")]
    outbox_deliver()
    # the shares add up exactly: cash 21.00 + 63.00 = the 84.00 paid; points tender 1.25 + 3.75 = 5.00, and as
    # points 125 + 375 = the 500 redeemed; 32 + 94 = the 126 earned taken back
    assert _points(code, sale["number"], PointsEntry.Kind.REDEEM_REFUND) == 500
    assert _points(code, sale["number"], PointsEntry.Kind.CLAWBACK) == -126
    assert Member.objects.get(code=code).points_balance == before + 500 - 126
    assert Coupon.objects.get(code=used).status == Coupon.Status.ISSUED  # the whole order refunded: it comes back
    assert Coupon.objects.get(code=other).status == Coupon.Status.USED  # the online order's stays used


def _points(member: str, order: str, kind: str) -> int:
    return sum(PointsEntry.objects.filter(member__code=member, order_number=order, kind=kind)
               .values_list("points", flat=True))
