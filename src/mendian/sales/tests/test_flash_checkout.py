"""Checkout of a flash sale whose quota moves under it (issue 3): the units beyond what is left pay the
regular price and the order says so; a card that paid the flash total is told the new price (409
``price_changed``); a flash sale set to refuse refuses; nothing of a refused try is left behind.

SQLite runs one writer at a time, so "another till sold meanwhile" is played by a quote read before
that sale (the rule book of the moment before). The real race is in ``test_concurrency.py``
(PostgreSQL).
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.db import transaction
from django.db.models import F

from mendian.platform.models import AuditEntry, IdempotencyRecord
from mendian.promotions import selectors as promotion_selectors
from mendian.promotions import services as promotion_services
from mendian.promotions.models import Promotion, PromotionUsage
from mendian.promotions.services import PromotionQuotaExhausted, promotion_create, promotion_set_status
from mendian.sales import selectors, services
from mendian.sales.domain import LineRequest, TenderRequest
from mendian.sales.models import Order

pytestmark = pytest.mark.django_db


def _flash(quota: int, *, refuse: bool = False, per_member_units: int | None = None) -> None:
    # S005 sells at 25.00; the flash price is 10.00
    promotion_create(actor="test", code="MS", name="秒杀", kind="special_price", condition={"scope": {"skus": ["S005"]}},
                     benefit={"price": "10.00"}, quota_total=quota, refuse_over_quota=refuse,
                     per_member_units=per_member_units)
    promotion_set_status(actor="test", code="MS", status="active")


def _mj_with_budget() -> None:
    promotion_create(actor="test", code="MJ", name="满50减5", kind="amount_off",
                     benefit={"tiers": [{"threshold": "50", "amount": "5"}]}, budget=D("100.00"))
    promotion_set_status(actor="test", code="MJ", status="active")


def _other_till_sold(monkeypatch, units: int) -> None:
    """Another till sells ``units`` flash units, committed after our quote read the rule book."""
    stale = promotion_selectors.active_rulebook(at=promotion_services.timezone.now())
    Promotion.objects.filter(code="MS").update(quota_used=F("quota_used") + units)
    real = promotion_selectors.active_rulebook
    calls = []

    def book(*, at):
        calls.append(at)
        return stale if len(calls) == 1 else real(at=at)

    monkeypatch.setattr(promotion_selectors, "active_rulebook", book)


CART = [{"sku": "S005", "quantity": 3}, {"sku": "S001", "quantity": 2}]  # 75.00 + 25.00


def _pos(chain, open_shift, api_client):
    user = chain.users["cashier_km1"]
    open_shift(user, chain.km1)
    return api_client(user)


def test_units_beyond_a_quota_that_moved_during_checkout_pay_the_regular_price(chain, open_shift, api_client,
                                                                               monkeypatch):
    _flash(3)
    _mj_with_budget()
    c = _pos(chain, open_shift, api_client)
    _other_till_sold(monkeypatch, 2)  # our quote still sees 3 flash units; 1 is left
    body = {"store": "KM001", "channel": "pos", "lines": CART, "tenders": [{"method": "cash", "amount": "100.00"}]}
    r = c.post("/api/v1/orders", body, idempotency_key="flash-1")
    assert r.status_code == 201, r.json()
    j = r.json()
    # 1 × 10.00 + 2 × 25.00 + 25.00 = 85.00; 满50减5 → 80.00 (the stale quote said 55.00 − 5 = 50.00)
    assert (j["subtotal"], j["discount_total"], j["total"], j["change"]) == ("100.00", "20.00", "80.00", "20.00")
    assert j["number"].endswith("-0001")  # the re-priced try keeps the order number it drew
    assert len(j["notes"]) == 1 and "S005" in j["notes"][0] and "MS" in j["notes"][0]
    ms = next(a for a in j["adjustments"] if a["rule"] == "MS")
    assert (ms["units"], ms["amount"], ms["lines"]) == (1, "15.00", [1])
    p = Promotion.objects.get(code="MS")
    assert p.quota_used == 3
    assert list(PromotionUsage.objects.filter(order_ref=j["number"]).order_by("promotion__code")
                .values_list("promotion__code", "units", "discount")) == [("MJ", 0, D("5.00")), ("MS", 1, D("15.00"))]
    # the first try recorded 满减 before the flash sale refused it: rolled back, budget and audit alike
    assert Promotion.objects.get(code="MJ").budget_used == D("5.00")
    uses = AuditEntry.objects.filter(action="promotion.use").values_list("object_ref", flat=True)
    assert sorted(uses) == ["MJ", "MS"]
    created = AuditEntry.objects.get(action="order.create", object_ref=j["number"])
    assert created.after["notes"] == j["notes"]
    # the replay answers the same, notes included
    assert c.post("/api/v1/orders", body, idempotency_key="flash-1").json() == j


def test_a_card_that_paid_the_flash_total_is_told_the_new_price_and_nothing_is_written(chain, open_shift, api_client,
                                                                                      monkeypatch):
    _flash(3)
    c = _pos(chain, open_shift, api_client)
    _other_till_sold(monkeypatch, 2)
    body = {"store": "KM001", "channel": "pos", "lines": CART, "tenders": [{"method": "card", "amount": "55.00"}]}
    r = c.post("/api/v1/orders", body, idempotency_key="card-1")
    assert r.status_code == 409, r.json()
    err = r.json()["error"]
    assert err["code"] == "price_changed" and "85.00" in err["message"]
    assert {k: err["details"][k] for k in ("quoted_total", "total", "payable", "tendered")} == {
        "quoted_total": "55.00", "total": "85.00", "payable": "85.00", "tendered": "55.00"}
    assert err["details"]["notes"] and "S005" in err["details"]["notes"][0]
    assert not Order.objects.exists() and not PromotionUsage.objects.exists()
    assert Promotion.objects.get(code="MS").quota_used == 2  # only the other till's units
    assert not IdempotencyRecord.objects.exists()
    assert not AuditEntry.objects.filter(action__in=["order.create", "promotion.use"]).exists()
    # the terminal tenders the new total with the same key: sold
    r = c.post("/api/v1/orders", {**body, "tenders": [{"method": "card", "amount": "85.00"}]}, idempotency_key="card-1")
    assert r.status_code == 201, r.json()
    assert r.json()["total"] == "85.00" and Promotion.objects.get(code="MS").quota_used == 3


def test_the_cart_price_shows_units_beyond_the_quota_at_the_regular_price(chain, api_client):
    _flash(1)
    c = api_client(chain.users["cashier_km1"])
    r = c.post("/api/v1/carts/price", {"store": "KM001", "channel": "pos", "lines": CART[:1]})
    assert r.status_code == 200, r.json()
    j = r.json()
    assert j["total"] == "60.00" and len(j["notes"]) == 1 and "S005" in j["notes"][0]


def test_a_flash_sale_set_to_refuse_refuses_when_the_quota_moved_under_the_order(chain, open_shift, api_client,
                                                                                 monkeypatch):
    _flash(3, refuse=True)
    c = _pos(chain, open_shift, api_client)
    _other_till_sold(monkeypatch, 2)
    body = {"store": "KM001", "channel": "pos", "lines": CART, "tenders": [{"method": "cash", "amount": "100.00"}]}
    r = c.post("/api/v1/orders", body, idempotency_key="refuse-1")
    assert r.status_code == 409 and r.json()["error"]["code"] == "promotion_quota_exhausted", r.json()
    assert r.json()["error"]["details"]["promotion"] == "MS" and r.json()["error"]["details"]["refuse"] is True
    assert not Order.objects.exists() and not PromotionUsage.objects.exists()
    assert Promotion.objects.get(code="MS").quota_used == 2


@pytest.mark.parametrize(("used", "quantity"), [(3, 1), (2, 3)])
def test_a_flash_sale_set_to_refuse_refuses_a_fresh_quote_it_cannot_cover(chain, open_shift, used, quantity):
    _flash(3, refuse=True)
    Promotion.objects.filter(code="MS").update(quota_used=used)
    user = chain.users["cashier_km1"]
    open_shift(user, chain.km1)
    ctx = selectors.sale_context_get(store_code="KM001", user_id=user.pk)
    with pytest.raises(PromotionQuotaExhausted) as exc, transaction.atomic():
        services.order_create(actor=user, ctx=ctx, channel="pos", fulfilment="in_store",
                              lines=[LineRequest("S005", quantity)], tenders=[TenderRequest("cash", D("100.00"))])
    assert exc.value.details["refuse"] is True
    assert not Order.objects.exists()
    # a cart without the flash SKU, or with what is left, still sells
    r = services.order_create(actor=user, ctx=ctx, channel="pos", fulfilment="in_store",
                              lines=[LineRequest("S001", 1)], tenders=[TenderRequest("cash", D("12.50"))])
    assert r.order.total == D("12.50")
    if used < 3:
        r = services.order_create(actor=user, ctx=ctx, channel="pos", fulfilment="in_store",
                                  lines=[LineRequest("S005", 3 - used)], tenders=[TenderRequest("cash", D("10.00"))])
        assert r.order.total == D("10.00") and Promotion.objects.get(code="MS").quota_used == 3


def test_units_beyond_a_members_own_limit_pay_the_regular_price_even_where_the_sale_refuses(chain, open_shift):
    from mendian.members.tests.factories import MemberFactory

    m = MemberFactory(code="M0000000007")
    _flash(100, refuse=True, per_member_units=1)
    user = chain.users["cashier_km1"]
    open_shift(user, chain.km1)
    ctx = selectors.sale_context_get(store_code="KM001", user_id=user.pk)
    r = services.order_create(actor=user, ctx=ctx, channel="pos", fulfilment="in_store", member=m.code,
                              lines=[LineRequest("S005", 3)], tenders=[TenderRequest("cash", D("60.00"))])
    assert r.order.total == D("60.00") and r.notes and Promotion.objects.get(code="MS").quota_used == 1


def test_a_checkout_that_keeps_losing_the_race_gives_up_with_409(chain, open_shift, monkeypatch):
    _flash(3)
    user = chain.users["cashier_km1"]
    open_shift(user, chain.km1)
    calls = []

    def always_taken(**kw):
        calls.append(kw["order_ref"])
        raise PromotionQuotaExhausted("taken", details={"promotion": "MS", "refuse": False})

    monkeypatch.setattr(promotion_services, "promotion_usage_record", always_taken)
    ctx = selectors.sale_context_get(store_code="KM001", user_id=user.pk)
    with pytest.raises(PromotionQuotaExhausted), transaction.atomic():
        services.order_create(actor=user, ctx=ctx, channel="pos", fulfilment="in_store",
                              lines=[LineRequest("S005", 1)], tenders=[TenderRequest("cash", D("25.00"))])
    assert len(calls) == services.REPRICE_ATTEMPTS and len(set(calls)) == 1
    assert not Order.objects.exists()
