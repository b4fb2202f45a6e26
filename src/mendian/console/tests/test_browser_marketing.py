"""Members, coupons and promotions in Chromium, as HQ's marketing person and a store manager use them:
register a member and find them (mobile whole with the PII permission, masked without), create a coupon
template and issue it, create a 满减 ladder through the form, activate it, price a cart in the price
preview with the promotion applied and explained, and open the promotion's effect dashboard with its
ECharts chart drawn. Every page: no JavaScript console error, a screenshot. Same skip/fail rules as
test_browser.py."""

from __future__ import annotations

import datetime as dt
import os
import re
from decimal import Decimal as D
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mendian.analytics.models import SalesDaySku
from mendian.catalog.models import Sku
from mendian.console.tests.test_browser import Session, chromium, shots  # noqa: F401  (fixtures)
from mendian.console.tests.test_marketing_pages import shop  # noqa: F401  (fixture: a store, SKUs A/B, hq, manager)
from mendian.members.models import Coupon, CouponTemplate, Member
from mendian.promotions.models import Promotion, PromotionUsage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _follow(s: Session, target) -> None:
    """Click a link or a submit button (a selector or a locator) and wait for the page it leads to."""
    with s.page.expect_navigation():
        s.page.click(target) if isinstance(target, str) else target.click()


def _open(s: Session, path: str):
    """Type an address (``Session.goto`` also waits for the network to idle: not needed on these pages)."""
    return s.page.goto(s.base + path)


def _seen(s: Session, to: Path, name: str) -> None:
    """The page as it stands: saved as a screenshot, and no JavaScript console error so far."""
    s.page.screenshot(path=str(to / f"{name}.png"), full_page=True)
    assert s.errors == [], (name, s.errors)


def test_hq_registers_a_member_issues_a_coupon_and_runs_a_mj_ladder(chromium, live_server, shop, shots):  # noqa: F811
    hq = Session(chromium, live_server.url)
    hq.login(shop["hq"].username)

    # members: register one through the form, back to the list, open the member's page
    _follow(hq, "[data-nav='members']")
    _follow(hq, "#register-link")
    hq.page.fill("#register-form input[name='mobile']", "13812341234")
    hq.page.fill("#register-form input[name='name']", "Li")
    hq.page.select_option("#register-form select[name='store']", "KM001")
    _follow(hq, "#register-form button[type='submit']")
    m = Member.objects.get(mobile="13812341234")
    assert hq.page.url.endswith(f"/members/{m.code}/")
    _follow(hq, "[data-nav='members']")
    row = hq.page.locator(f"#members tr[data-code='{m.code}']")
    assert row.locator("[data-col='mobile']").inner_text() == "13812341234"  # HQ holds the PII permission
    _seen(hq, shots, "marketing-members")
    _follow(hq, row.locator("a"))
    assert hq.page.locator("#mobile").inner_text() == "13812341234"
    assert hq.page.locator("#wallet tbody tr").inner_text().strip() == "No coupons."

    # coupons: a 满50减5 template through the form, then a batch issued to the member
    _follow(hq, "[data-nav='coupons']")
    f = "#template-form"
    hq.page.fill(f"{f} input[name='code']", "C5")
    hq.page.fill(f"{f} input[name='name']", "满50减5")
    hq.page.select_option(f"{f} select[name='kind']", "threshold")
    hq.page.fill(f"{f} input[name='amount']", "5")
    hq.page.fill(f"{f} input[name='threshold']", "50")
    hq.page.fill(f"{f} input[name='valid_days']", "30")
    _follow(hq, f"{f} button[type='submit']")
    assert CouponTemplate.objects.filter(code="C5").exists()
    assert hq.page.locator("#templates tr[data-code='C5']").count() == 1
    _seen(hq, shots, "marketing-coupons")
    hq.page.select_option("#batch-form select[name='template']", "C5")
    hq.page.fill("#batch-form textarea[name='members']", m.code.lower())
    _follow(hq, "#batch-form button[type='submit']")
    assert "/coupons/batches/CB" in hq.page.url
    assert hq.page.locator("#progress").inner_text() == "1 / 1"
    assert hq.page.locator("#issued").inner_text() == "1"
    _seen(hq, shots, "marketing-coupon-batch")
    assert Coupon.objects.filter(member=m, template__code="C5").count() == 1
    _open(hq, f"/members/{m.code}/")
    assert hq.page.locator("#wallet tr[data-template='C5'] [data-state]").get_attribute("data-state") == "available"
    _seen(hq, shots, "marketing-member")

    # promotions: a 满100减10 / 满200减30 ladder, created as a draft and activated
    _follow(hq, "[data-nav='promotions']")
    f = "#promotion-form"
    hq.page.fill(f"{f} input[name='code']", "MJ")
    hq.page.fill(f"{f} input[name='name']", "满100减10")
    hq.page.select_option(f"{f} select[name='kind']", "amount_off")
    hq.page.fill(f"{f} textarea[name='condition']", '{"regions": ["YN"]}')
    hq.page.fill(f"{f} textarea[name='benefit']",
                 '{"tiers": [{"threshold": "100", "amount": "10"}, {"threshold": "200", "amount": "30"}]}')
    hq.page.fill(f"{f} input[name='budget']", "500")
    _follow(hq, f"{f} button[type='submit']")
    assert hq.page.url.endswith("/promotions/MJ/")
    assert hq.page.locator("#status").get_attribute("data-status") == "draft"
    _follow(hq, "#to-active")
    assert hq.page.locator("#status").get_attribute("data-status") == "active"
    assert Promotion.objects.get(code="MJ").status == "active"
    _seen(hq, shots, "marketing-promotion")

    # the price preview: 3×A (30) + 1×B (20) = 110 ≥ 100 → 10 off, and 90 more reaches the next tier
    _open(hq, "/promotions/")
    _follow(hq, "a[href='/price-preview/']")
    hq.page.select_option("#preview-form select[name='store']", "KM001")
    hq.page.select_option("#preview-form select[name='channel']", "pos")
    hq.page.fill("#preview-form textarea[name='lines']", "A 3\nB 1")
    _follow(hq, "#preview-form button[type='submit']")
    assert [hq.page.locator(f"#{k}").inner_text() for k in ("subtotal", "discount", "total")] == [
        "110.00", "10.00", "100.00"]
    applied = hq.page.locator("#applied li[data-promotion='MJ']")
    assert applied.locator(".saving").inner_text() == "10.00"
    assert re.search(r"满¥?100(\.00)?减¥?10(\.00)?", applied.inner_text())  # the engine's explanation of the tier
    assert "MJ" in hq.page.locator("#lines tr[data-sku='A']").inner_text()  # spread over the lines
    assert hq.page.locator("#hints li[data-promotion='MJ']").count() == 1  # spend 90 more for 30 off
    _seen(hq, shots, "marketing-price-preview")

    # the effect dashboard: covered sales before and during, two orders that used it
    p = Promotion.objects.get(code="MJ")
    store, a, b = shop["store"], Sku.objects.get(code="A"), Sku.objects.get(code="B")
    for sku, day, amount in ((a, dt.date(2026, 9, 29), "100.00"), (a, dt.date(2026, 10, 6), "150.00"),
                             (b, dt.date(2026, 10, 7), "30.00")):
        SalesDaySku.objects.create(day=day, location=store, region=store.region, channel="pos", sku=sku,
                                   category=sku.product.category, quantity=1, amount=D(amount), transactions=1)
    tz = ZoneInfo("Asia/Shanghai")
    for ref, day, disc in (("KM001-1", 6, "10.00"), ("KM001-2", 7, "6.00")):
        PromotionUsage.objects.create(promotion=p, order_ref=ref, units=0, discount=D(disc),
                                      created_at=dt.datetime(2026, 10, day, 15, tzinfo=tz))
    _open(hq, "/promotions/MJ/")
    _follow(hq, "#effect-link")
    assert hq.page.url.endswith("/promotions/MJ/effect/")
    hq.page.wait_for_selector("#effect-chart canvas, #effect-chart svg")  # drawn on the default period
    hq.page.fill("#effect-period input[name='from']", "2026-10-05")
    hq.page.fill("#effect-period input[name='to']", "2026-10-11")
    _follow(hq, "#effect-period button")
    assert "from=2026-10-05" in hq.page.url
    assert hq.page.locator("#eff-orders").inner_text() == "2"
    assert hq.page.locator("#eff-sales").inner_text() == "180.00"
    assert hq.page.locator("#eff-incremental").inner_text() == "80.00"
    hq.page.wait_for_selector("#effect-chart canvas, #effect-chart svg")
    assert hq.page.locator("#effect-chart").get_attribute("data-drawn") == "1"
    assert hq.page.locator("#effect-chart canvas, #effect-chart svg").count() >= 1
    assert hq.page.evaluate("echarts.getInstanceByDom(document.getElementById('effect-chart')).getOption()"
                            ".series.length") == 2  # during vs the same weekdays before
    _seen(hq, shots, "marketing-promotion-effect")
    hq.close()


def test_a_store_manager_finds_a_member_with_the_mobile_masked(chromium, live_server, shop, shots):  # noqa: F811
    Member.objects.create(code="M0000000001", mobile="13912345678", name="Wang", store=shop["store"],
                          created_at=dt.datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai")))
    s = Session(chromium, live_server.url, locale="zh-CN", mobile=True)
    s.login(shop["manager"].username)
    _open(s, "/members/")
    s.page.fill("input[name='q']", "13912345678")
    _follow(s, "form.toolbar button")
    row = s.page.locator("#members tr[data-code='M0000000001']")
    assert row.locator("[data-col='mobile']").inner_text() == "139****5678"
    assert "13912345678" not in s.page.locator("#members").inner_text()
    _seen(s, shots, "marketing-members-masked-phone-zh")
    _follow(s, row.locator("a"))
    assert s.page.locator("#mobile").inner_text() == "139****5678"
    assert "会员" in s.page.locator("h1").inner_text()
    _seen(s, shots, "marketing-member-masked-phone-zh")
    # no promotion or coupon admin for a store manager
    # the bare error page has no icon and the browser asks for /favicon.ico: that 404 may be logged
    # after the page has loaded, so it stays allowed to the end (these are the last pages)
    s.allow_404, seen = True, len(s.errors)
    for path in ("/promotions/", "/coupons/"):
        assert _open(s, path).status == 403, path
    assert all("403" in e for e in s.errors[seen:]), s.errors  # the browser logs the refused page
    del s.errors[seen:]
    s.close()
