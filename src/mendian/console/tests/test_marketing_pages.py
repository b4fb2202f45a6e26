"""Console pages for members, coupons and promotions: HQ creates and activates a 满减 promotion,
creates a coupon template and issues it to a member, the member page shows the coupon; a store
manager sees masked mobiles and no promotion admin; the price preview shows the 满减 discount."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.contrib.auth.models import Permission

from mendian.catalog.tests.factories import CategoryFactory, ProductFactory, SkuFactory
from mendian.members.models import Coupon, CouponTemplate, Member
from mendian.org.tests.factories import LocationFactory, RegionFactory, user_with_role
from mendian.promotions.models import Promotion

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(db):
    yn = RegionFactory(code="YN", name="Yunnan")
    km = RegionFactory(code="KM", name="Kunming", parent=yn)
    store = LocationFactory(code="KM001", region=km)
    cat = CategoryFactory(code="FOOD")
    SkuFactory(code="A", list_price=D("30.00"), product=ProductFactory(category=cat))
    SkuFactory(code="B", list_price=D("20.00"), product=ProductFactory(category=cat))
    hq = user_with_role("hq")
    hq.user_permissions.add(Permission.objects.get(codename="view_pii", content_type__app_label="org"))
    return {"store": store, "hq": hq, "manager": user_with_role("store_manager", location=store)}


def _text(resp) -> str:
    return resp.content.decode()


def _messages(resp) -> list[str]:
    return [str(m) for m in resp.context["messages"]] if resp.context and "messages" in resp.context else []


def test_hq_promotion_coupon_member_and_preview(shop, signed_in):
    hq = signed_in(shop["hq"])
    # register a member; a second registration with the same mobile names the existing code
    r = hq.post("/members/register/", {"mobile": "13812341234", "name": "Li", "store": "KM001"})
    m = Member.objects.get(mobile="13812341234")
    assert r.status_code == 302 and r["Location"] == f"/members/{m.code}/"
    r = hq.post("/members/register/", {"mobile": "138 1234 1234", "name": "Li again"}, follow=True)
    assert Member.objects.count() == 1
    assert any(m.code in s for s in _messages(r))

    # a 满减 promotion: refused JSON changes nothing, then created and activated
    r = hq.post("/promotions/", {"code": "MJ", "name": "满100减10", "kind": "amount_off", "benefit": "{not json"})
    assert r.status_code == 200 and not Promotion.objects.exists()
    r = hq.post("/promotions/", {"code": "MJ", "name": "满100减10", "kind": "amount_off",
                                 "condition": '{"regions": ["YN"]}',
                                 "benefit": '{"tiers": [{"threshold": "100", "amount": "10"}]}', "budget": "500",
                                 "combines_with_coupons": "1"})
    assert r.status_code == 302 and r["Location"] == "/promotions/MJ/"
    assert Promotion.objects.get(code="MJ").status == "draft"
    r = hq.post("/promotions/MJ/status/", {"status": "active"}, follow=True)
    assert Promotion.objects.get(code="MJ").status == "active"
    assert 'data-status="active"' in _text(r) and 'id="usage-orders">0<' in _text(r)
    r = hq.post("/promotions/MJ/status/", {"status": "active"}, follow=True)  # refused transition
    assert Promotion.objects.get(code="MJ").status == "active" and _messages(r)
    assert 'data-code="MJ"' in _text(hq.get("/promotions/"))

    # a coupon template, issued to the member through a batch
    r = hq.post("/coupons/", {"code": "C5", "name": "满50减5", "kind": "threshold", "amount": "5",
                              "threshold": "50", "valid_days": "30", "per_member_limit": "1"})
    assert r.status_code == 302, _messages(hq.post("/coupons/", {}))
    assert CouponTemplate.objects.filter(code="C5").exists()
    r = hq.post("/coupons/batches/", {"template": "C5", "members": f"{m.code.lower()}\n"})
    assert r.status_code == 302 and r["Location"].startswith("/coupons/batches/CB")
    batch_page = _text(hq.get(r["Location"]))
    assert 'id="progress">1 / 1<' in batch_page and 'id="issued">1<' in batch_page
    assert Coupon.objects.filter(member=m, template__code="C5").count() == 1
    page = _text(hq.get(f"/members/{m.code}/"))
    assert 'data-template="C5"' in page and 'data-state="available"' in page
    assert 'id="mobile">13812341234<' in page  # HQ with the PII permission sees the number

    # the price preview: 3×A (30) + 1×B (20) = 110 ≥ 100 → 10 off, total 100.00
    r = hq.get("/price-preview/", {"store": "KM001", "channel": "pos", "lines": "A 3\nB 1"})
    page = _text(r)
    assert 'id="subtotal">110.00<' in page and 'id="discount">10.00<' in page and 'id="total">100.00<' in page
    assert 'data-promotion="MJ"' in page and '<span class="saving">10.00</span>' in page
    # with the member, the 满50减5 coupon stacks: 110 - 10 - 5
    page = _text(hq.get("/price-preview/", {"store": "KM001", "channel": "pos", "member": m.code, "lines": "A 3\nB 1"}))
    assert 'id="discount">15.00<' in page and 'id="total">95.00<' in page
    # an unknown SKU is an error on the page, not a crash
    assert 'id="preview-error"' in _text(hq.get("/price-preview/", {"store": "KM001", "lines": "NOPE 1"}))


def test_store_manager_sees_masked_mobiles_and_no_promotion_admin(shop, signed_in):
    Member.objects.create(code="M0000000001", mobile="13912345678", created_at="2026-01-01T00:00:00+08:00")
    mgr = signed_in(shop["manager"])
    r = mgr.get("/members/", {"q": "13912345678"})
    assert r.status_code == 200
    page = _text(r)
    table = page[page.index('<table id="members">'):]
    assert 'data-code="M0000000001"' in table and 'data-col="mobile">139****5678<' in table
    assert "13912345678" not in table
    page = _text(mgr.get("/members/M0000000001/"))
    assert 'id="mobile">139****5678<' in page
    Promotion.objects.create(code="P1", name="x", kind="amount_off")
    for url in ("/promotions/", "/promotions/P1/", "/coupons/", "/coupons/batches/CB1/"):
        assert mgr.get(url).status_code in (403, 404), url
    assert mgr.post("/promotions/P1/status/", {"status": "active"}).status_code in (403, 404)
    assert Promotion.objects.get(code="P1").status == "draft"
    assert mgr.post("/promotions/", {"code": "P2", "name": "y", "kind": "amount_off"}).status_code in (403, 404)
    assert not Promotion.objects.filter(code="P2").exists()
    # the nav shows members but not the HQ pages
    home = _text(mgr.get("/members/"))
    assert 'href="/members/"' in home and 'href="/promotions/"' not in home and 'href="/coupons/"' not in home
    # another store's price preview is a 404
    LocationFactory(code="KM009", region=shop["store"].region)
    assert mgr.get("/price-preview/", {"store": "KM009", "lines": "A 1"}).status_code == 404
