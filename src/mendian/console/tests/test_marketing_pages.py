"""Console pages for members, coupons and promotions: HQ creates and activates a 满减 promotion,
creates a coupon template and issues it to a member, the member page shows the coupon; a store
manager sees masked mobiles and no promotion admin; the price preview shows the 满减 discount."""

from __future__ import annotations

import json
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


def test_hq_sees_a_promotions_effect_and_sets_its_auto_pause_threshold(shop, signed_in):
    """Effect dashboard (issue 3): covered-SKU sales 5–11 Oct against 28 Sep–4 Oct from the rollups,
    discount from the usage rows: sales 180.00 vs 100.00 → incremental 80.00 (+80.0%), discount 16.00 →
    0.2000 per incremental yuan."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from mendian.analytics.models import SalesDaySku
    from mendian.catalog.models import Sku
    from mendian.promotions.models import PromotionUsage

    hq = signed_in(shop["hq"])
    r = hq.post("/promotions/", {"code": "FD", "name": "食品满减", "kind": "amount_off",
                                 "condition": '{"scope": {"categories": ["FOOD"]}}',
                                 "benefit": '{"tiers": [{"threshold": "100", "amount": "10"}]}', "budget": "200",
                                 "max_cost_per_incremental": "0.5", "pause_min_days": "", "pause_min_orders": "0"})
    assert r.status_code == 302 and r["Location"] == "/promotions/FD/"
    p = Promotion.objects.get(code="FD")
    assert (p.max_cost_per_incremental, p.pause_min_days, p.pause_min_orders) == (D("0.5000"), 3, 0)
    hq.post("/promotions/FD/status/", {"status": "active"})
    Promotion.objects.filter(code="FD").update(budget_used=D("16.00"))
    store, a, b = shop["store"], Sku.objects.get(code="A"), Sku.objects.get(code="B")
    for sku, day, amount in ((a, dt.date(2026, 9, 29), "100.00"), (a, dt.date(2026, 10, 6), "150.00"),
                             (b, dt.date(2026, 10, 7), "30.00")):
        SalesDaySku.objects.create(day=day, location=store, region=store.region, channel="pos", sku=sku,
                                   category=sku.product.category, quantity=1, amount=D(amount), transactions=1)
    tz = ZoneInfo("Asia/Shanghai")
    for ref, day, disc in (("KM001-1", 6, "10.00"), ("KM001-2", 7, "6.00")):
        PromotionUsage.objects.create(promotion=p, order_ref=ref, units=0, discount=D(disc),
                                      created_at=dt.datetime(2026, 10, day, 15, tzinfo=tz))

    assert 'href="/promotions/FD/effect/"' in _text(hq.get("/promotions/"))
    assert 'href="/promotions/FD/effect/"' in _text(hq.get("/promotions/FD/"))
    page = _text(hq.get("/promotions/FD/effect/", {"from": "2026-10-05", "to": "2026-10-11"}))
    for html in ('id="eff-orders">2<', 'id="eff-discount">16.00<', 'id="eff-budget-used">16.00<',
                 'id="eff-budget-left">184.00<', 'id="eff-sales">180.00<', 'id="eff-expected">100.00<',
                 'id="eff-incremental">80.00<', 'id="eff-uplift">80.0%<', 'id="eff-cost">0.2000<',
                 'id="eff-threshold">0.5000<', 'data-verdict="too_early"', "2026-09-28 – 2026-10-04",
                 'data-chart="chart-effect"', "echarts.min.js", "KM001-2"):
        assert html in page, html
    zh = _text(hq.get("/promotions/FD/effect/", {"from": "2026-10-05", "to": "2026-10-11"},
                      headers={"Accept-Language": "zh-Hans"}))
    assert "每增量销售元的优惠成本" in zh and "此前 2 个整周的相同星期" not in zh and "此前 1 个整周的相同星期" in zh
    chart = json.loads(page.split('<script id="chart-effect" type="application/json">')[1].split("</script>")[0])
    assert chart["type"] == "line" and chart["labels"][:3] == ["10-05", "10-06", "10-07"]
    assert chart["series"][0]["data"][:3] == [0.0, 150.0, 30.0]
    assert chart["series"][1]["data"][1] == 100.0

    # the threshold from the page; a bad one changes nothing
    hq.post("/promotions/FD/auto-pause/", {"max_cost_per_incremental": "0.25", "pause_min_days": "0",
                                           "pause_min_orders": "0"})
    page = _text(hq.get("/promotions/FD/effect/", {"from": "2026-10-05", "to": "2026-10-11"}))
    assert 'data-verdict="under_threshold"' in page
    r = hq.post("/promotions/FD/auto-pause/", {"max_cost_per_incremental": "0.15", "pause_min_days": "0",
                                               "pause_min_orders": "0"}, follow=True)
    assert Promotion.objects.get(code="FD").max_cost_per_incremental == D("0.1500") and _messages(r)
    page = _text(hq.get("/promotions/FD/effect/", {"from": "2026-10-05", "to": "2026-10-11"}))
    assert 'data-verdict="over_threshold"' in page
    r = hq.post("/promotions/FD/auto-pause/", {"max_cost_per_incremental": "-1"}, follow=True)
    assert Promotion.objects.get(code="FD").max_cost_per_incremental == D("0.1500") and _messages(r)
    # a bad period is a message, and the default period is shown
    r = hq.get("/promotions/FD/effect/", {"from": "2026-10-11", "to": "2026-10-01"})
    assert r.status_code == 200 and _messages(r)
    assert hq.get("/promotions/NOPE/effect/").status_code == 404
    mgr = signed_in(shop["manager"])
    assert mgr.get("/promotions/FD/effect/").status_code in (403, 404)
    assert mgr.post("/promotions/FD/auto-pause/", {"max_cost_per_incremental": "9"}).status_code in (403, 404)
    assert Promotion.objects.get(code="FD").max_cost_per_incremental == D("0.1500")
