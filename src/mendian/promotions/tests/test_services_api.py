"""Services and API with a real database: rules as configuration, quotes, usage, quota guard."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import transaction

from mendian.catalog.models import Brand, StorePrice
from mendian.catalog.tests.factories import CategoryFactory, ProductFactory, SkuFactory
from mendian.core.errors import Conflict, InvalidInput
from mendian.org.tests.factories import LocationFactory, RegionFactory, user_with_role
from mendian.platform.models import AuditEntry
from mendian.promotions import services
from mendian.promotions.domain import MemberInput
from mendian.promotions.models import Promotion, PromotionUsage

CST = dt.timezone(dt.timedelta(hours=8))
AT = dt.datetime(2026, 11, 25, 12, 0, tzinfo=CST)


@pytest.fixture
def shop(db):
    yn = RegionFactory(code="YN", name="Yunnan")
    km = RegionFactory(code="KM", name="Kunming", parent=yn)
    store = LocationFactory(code="KM001", region=km)
    food = CategoryFactory(code="FOOD")
    snack = CategoryFactory(code="SNACK", parent=food)
    brand = Brand.objects.create(code="LUX", name="Lux")
    a = SkuFactory(code="A", list_price=D("30.00"), product=ProductFactory(category=snack, brand=brand))
    b = SkuFactory(code="B", list_price=D("20.00"), product=ProductFactory(category=food))
    return {"store": store, "a": a, "b": b}


def _mj(**kw):
    args = dict(actor="test", code="MJ", name="满100减10", kind="amount_off",
                condition={"regions": ["YN"]}, benefit={"tiers": [{"threshold": "100", "amount": "10"}]})
    args.update(kw)
    return services.promotion_create(**args)


def test_create_activate_and_quote_with_store_price_and_category_path(shop):
    _mj()
    services.promotion_set_status(actor="test", code="MJ", status="active")
    StorePrice.objects.create(sku=shop["a"], location=shop["store"], price=D("35.00"), valid_from=AT - dt.timedelta(days=1))
    res = services.pricing_quote(store=shop["store"], channel="pos", at=AT,
                                 lines=[services.QuoteLine("A", 2), services.QuoteLine("B", 2)])
    assert (res.subtotal, res.discount, res.total) == (D("110.00"), D("10.00"), D("100.00"))
    assert [a.promotion for a in res.applied] == ["MJ"]
    assert list(AuditEntry.objects.filter(object_ref="MJ").values_list("action", flat=True).order_by("id")) == \
        ["promotion.create", "promotion.active"]


def test_draft_and_paused_promotions_do_not_price(shop):
    _mj()
    res = services.pricing_quote(store=shop["store"], channel="pos", at=AT, lines=[services.QuoteLine("A", 4)])
    assert res.discount == D("0.00")
    services.promotion_set_status(actor="test", code="MJ", status="active")
    services.promotion_set_status(actor="test", code="MJ", status="paused")
    assert services.pricing_quote(store=shop["store"], channel="pos", at=AT,
                                  lines=[services.QuoteLine("A", 4)]).discount == D("0.00")


def test_an_invalid_rule_is_refused_and_nothing_is_written(shop):
    with pytest.raises(InvalidInput):
        _mj(benefit={"tiers": [{"threshold": "100", "amount": 10.5}]})  # a float
    with pytest.raises(InvalidInput):
        _mj(kind="nope")
    assert Promotion.objects.count() == 0 and AuditEntry.objects.count() == 0


def test_a_refused_transition_changes_nothing(shop):
    _mj()
    with pytest.raises(Conflict):
        services.promotion_set_status(actor="test", code="MJ", status="paused")
    assert Promotion.objects.get(code="MJ").status == "draft"


def _flash(quota: int, **kw) -> Promotion:
    p = services.promotion_create(actor="test", code="MS", name="秒杀", kind="special_price",
                                  condition={"scope": {"skus": ["A"]}}, benefit={"price": "9.90"}, quota_total=quota, **kw)
    services.promotion_set_status(actor="test", code="MS", status="active")
    return p


def test_usage_takes_the_flash_quota_and_per_member_units(shop):
    _flash(3, per_member_units=2)
    m = MemberInput("M1")
    res = services.pricing_quote(store=shop["store"], channel="pos", at=AT, member=m, lines=[services.QuoteLine("A", 3)])
    assert res.total == D("49.80")  # 2 at 9.90 (member limit), 1 at 30
    services.promotion_usage_record(order_ref="O1", member_code="M1", result=res, at=AT)
    services.promotion_usage_record(order_ref="O1", member_code="M1", result=res, at=AT)  # a retry: no change
    p = Promotion.objects.get(code="MS")
    assert p.quota_used == 2 and PromotionUsage.objects.get().units == 2
    again = services.pricing_quote(store=shop["store"], channel="pos", at=AT, member=m, lines=[services.QuoteLine("A", 1)])
    assert again.total == D("30.00")
    assert [(n.promotion, n.reason_code) for n in again.not_applied] == [("MS", "member_quota_spent")]


def test_usage_refuses_when_the_quota_moved_and_writes_nothing(shop):
    _flash(2)
    res = services.pricing_quote(store=shop["store"], channel="pos", at=AT, lines=[services.QuoteLine("A", 2)])
    Promotion.objects.filter(code="MS").update(quota_used=1)  # another till sold one meanwhile
    with pytest.raises(services.PromotionQuotaExhausted):
        with transaction.atomic():
            services.promotion_usage_record(order_ref="O2", member_code="", result=res, at=AT)
    assert Promotion.objects.get(code="MS").quota_used == 1 and PromotionUsage.objects.count() == 0


def test_budget_is_spent_and_the_promotion_ends_itself(shop):
    _mj(budget=D("15.00"))
    services.promotion_set_status(actor="test", code="MJ", status="active")
    res = services.pricing_quote(store=shop["store"], channel="pos", at=AT, lines=[services.QuoteLine("A", 4)])
    services.promotion_usage_record(order_ref="O1", member_code="", result=res, at=AT)
    res2 = services.pricing_quote(store=shop["store"], channel="pos", at=AT, lines=[services.QuoteLine("A", 4)])
    assert res2.discount == D("5.00")  # the budget left caps the discount
    services.promotion_usage_record(order_ref="O2", member_code="", result=res2, at=AT)
    p = Promotion.objects.get(code="MJ")
    assert (p.budget_used, p.status) == (D("15.00"), "ended")


# ---- API -------------------------------------------------------------------------------------


def test_api_hq_creates_and_activates_others_are_refused(shop, api_client):
    hq = api_client(user_with_role("hq", username="hq1"))
    body = {"code": "N2", "name": "第二件半价", "kind": "nth_item", "condition": {"scope": {"categories": ["FOOD"]}},
            "benefit": {"n": 2, "rate": "0.5"}}
    r = hq.post("/api/v1/promotions", body, idempotency_key="k1")
    assert r.status_code == 201, r.content
    assert r.json()["status"] == "draft"
    assert hq.post("/api/v1/promotions", body, idempotency_key="k1").status_code == 201  # replay
    assert hq.post("/api/v1/promotions/N2/activate", {}).json()["status"] == "active"
    cashier = api_client(user_with_role("cashier", username="c1", location=shop["store"]))
    r2 = cashier.post("/api/v1/promotions", {**body, "code": "N3"})
    assert r2.status_code == 403 and not Promotion.objects.filter(code="N3").exists()
    bad = hq.post("/api/v1/promotions", {**body, "code": "N4", "benefit": {"n": 2}})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_promotion"
    lst = cashier.get("/api/v1/promotions")
    assert lst.json()["count"] == 1


def test_api_quote_explains_and_hides_stores_out_of_scope(shop, api_client):
    _mj()
    services.promotion_set_status(actor="test", code="MJ", status="active")
    cashier = api_client(user_with_role("cashier", username="c1", location=shop["store"]))
    body = {"store": "KM001", "channel": "pos", "at": AT.isoformat(), "lines": [{"sku": "A", "quantity": 3}],
            "member": {"code": "M1", "tier": "gold", "points_balance": 1000}, "points": 1000,
            "coupons": [{"code": "CP5", "kind": "no_threshold", "amount": "5"}]}
    r = cashier.post("/api/v1/pricing/quote", body)
    assert r.status_code == 200, r.content
    j = r.json()
    # 90 (< 100): no 满减; coupon 5 -> 85; points: 1000 = ¥10
    assert (j["total"], j["discount"], j["points_value"], j["payable"]) == ("85.00", "5.00", "10.00", "75.00")
    assert j["lines"][0]["adjustments"][0] == {"promotion": "CP5", "kind": "coupon_no_threshold", "amount": "5.00",
                                               "reason": "优惠券 coupon CP5"}
    assert j["not_applied"][0]["promotion"] == "MJ" and j["hints"][0]["add_amount"] == "10.00"
    other = LocationFactory(code="GZ001", region=RegionFactory(code="GD"))
    assert cashier.post("/api/v1/pricing/quote", {**body, "store": other.code}).status_code == 404
    unknown = cashier.post("/api/v1/pricing/quote", {**body, "lines": [{"sku": "NOPE", "quantity": 1}]})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_code"


# The flash quota raced by 300 concurrent checkouts (PostgreSQL) is in sales/tests/test_concurrency.py:
# the checkout re-prices the units beyond the quota at the regular price, or refuses where the sale says so.
