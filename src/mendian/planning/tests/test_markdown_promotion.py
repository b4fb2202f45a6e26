"""Slow movers → draft markdown promotion: draft only, scoped to the store, applied once activated."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mendian.org.tests.factories import user_with_role
from mendian.platform.models import AuditEntry
from mendian.promotions import services as promo
from mendian.promotions.models import Promotion

from .factories import small_chain

pytestmark = pytest.mark.django_db
URL = "/api/v1/slow-movers/{}/draft-promotion"


@pytest.fixture
def chain():
    return small_chain(skus=3)


def test_buyer_drafts_a_markdown_that_applies_only_once_activated(api_client, chain):
    buyer = api_client(user_with_role("buyer"))
    sm = buyer.get("/api/v1/slow-movers", location="KM001").json()
    gr2 = next(i for i in sm["items"] if i["sku"] == "GR002")
    pct = Decimal(gr2["markdown_pct"])
    assert pct > 0
    r = buyer.post(URL.format("KM001"), {"skus": ["GR002"]}, idempotency_key="md-1")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["count"] == 1
    code = body["items"][0]["code"]
    again = buyer.post(URL.format("KM001"), {"skus": ["GR002"]}, idempotency_key="md-1")
    assert again.status_code == 201 and again.json()["items"][0]["code"] == code
    assert Promotion.objects.count() == 1
    p = Promotion.objects.get(code=code)
    assert p.status == Promotion.Status.DRAFT
    assert p.kind == Promotion.KindChoice.SPECIAL_PRICE.value
    assert p.condition == {"stores": ["KM001"], "scope": {"skus": ["GR002"]}}
    assert Decimal(p.benefit["rate"]) == Decimal(1) - pct
    assert p.name.startswith("滞销清货 KM001 ")
    assert (p.ends_at - p.starts_at).days == 14
    assert AuditEntry.objects.filter(action="promotion.create", object_ref=code).count() == 1

    lines = [promo.QuoteLine("GR002", 2)]
    before = promo.pricing_quote(store=chain.km, channel="pos", lines=lines)
    assert before.total == Decimal("25.00") and before.discount == 0
    promo.promotion_set_status(actor=None, code=code, status="active")
    after = promo.pricing_quote(store=chain.km, channel="pos", lines=lines)
    assert after.total == (Decimal("25.00") * (1 - pct)).quantize(Decimal("0.01"))
    assert [a.promotion for a in after.applied] == [code]
    # the other store is out of the promotion's scope
    assert promo.pricing_quote(store=chain.dl, channel="pos", lines=lines).total == Decimal("25.00")


def test_nothing_to_mark_down_is_a_422_and_creates_nothing(api_client, chain):
    hq = api_client(user_with_role("hq"))
    r = hq.post(URL.format("DL001"), {})
    assert r.status_code == 422, r.content
    assert r.json()["error"]["code"] == "nothing_to_mark_down"
    r = hq.post(URL.format("KM001"), {"skus": ["GR000"]})  # out of stock, not a slow mover
    assert r.status_code == 422
    assert Promotion.objects.count() == 0


def test_store_roles_may_not_draft(api_client, chain):
    sm = api_client(user_with_role("store_manager", location=chain.km))
    assert sm.post(URL.format("KM001"), {}).status_code == 403
    assert sm.post(URL.format("DL001"), {}).status_code == 404
    cashier = api_client(user_with_role("cashier", location=chain.km))
    assert cashier.post(URL.format("KM001"), {}).status_code in (403, 404)
    assert hq_unknown(api_client) == 404
    assert Promotion.objects.count() == 0


def hq_unknown(api_client) -> int:
    return api_client(user_with_role("hq")).post(URL.format("XX999"), {}).status_code
