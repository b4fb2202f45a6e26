"""The console tested as a person uses it: Debian's Chromium driven by Playwright against a live server.

Skipped, with a clear message, when Chromium is missing outside CI; a failure in CI (``CI=true``).
Screenshots go to ``$MENDIAN_SCREENSHOT_DIR`` when set (``docs/screenshots`` uses the demo chain:
``mendian console-screenshots``), else to the test's temporary directory.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import pytest

from mendian.analytics.models import SalesTarget
from mendian.analytics.rollups import rollups_rebuild
from mendian.analytics.tests.chain import make_chain, online_order, pos_sale
from mendian.sales.models import Order

CHROMIUM = os.environ.get("MENDIAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Playwright's sync API keeps an event loop in this thread; the ORM calls of the test itself are
# plain synchronous calls between browser steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).exists():
        msg = (f"browser tests need Debian's Chromium at {CHROMIUM}: "
               "apt-get install -y chromium chromium-driver")
        if _in_ci():
            pytest.fail("CI: " + msg)
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    d = Path(os.environ.get("MENDIAN_SCREENSHOT_DIR") or tmp_path)
    d.mkdir(parents=True, exist_ok=True)
    return d


class Session:
    """One signed-in browser context that records JavaScript console errors."""

    def __init__(self, chromium, base: str, *, locale: str = "en-US", mobile: bool = False) -> None:
        viewport = {"width": 390, "height": 844} if mobile else {"width": 1280, "height": 900}
        self.ctx = chromium.new_context(locale=locale, viewport=viewport, accept_downloads=True)
        self.page = self.ctx.new_page()
        self.base = base
        self.errors: list[str] = []
        self.allow_404 = False
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _console(self, msg) -> None:
        if msg.type == "error" and not (self.allow_404 and "404" in msg.text):
            self.errors.append(msg.text)

    def goto(self, path: str):
        resp = self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")
        return resp

    def login(self, username: str) -> None:
        self.goto("/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", "demo")
        self.page.click("#sign-in")
        self.page.wait_for_load_state("networkidle")
        assert "/login/" not in self.page.url

    def close(self) -> None:
        self.ctx.close()
        assert self.errors == [], self.errors


@pytest.fixture
def chain_with_sales(transactional_db):
    c = make_chain()
    tz = dt.timezone(dt.timedelta(hours=8))
    today = dt.datetime.now(tz).replace(hour=10, minute=0, second=0, microsecond=0)
    pos_sale(c, c.users["cashier_km1"], c.km1, [("S001", 2), ("S003", 1)], at=today - dt.timedelta(days=1))
    pos_sale(c, c.users["cashier_km1"], c.km1, [("S002", 3)], at=today)
    pos_sale(c, c.users["manager_km2"], c.km2, [("S004", 2)], at=today)
    pos_sale(c, c.users["manager_dl1"], c.dl1, [("S001", 1)], at=today)
    SalesTarget.objects.create(location=c.km1, month=today.date().replace(day=1), amount="3000.00")
    rollups_rebuild()
    return c


def test_hq_opens_the_dashboards_drills_to_a_sku_and_exports(chromium, live_server, chain_with_sales, shots):
    from openpyxl import load_workbook

    s = Session(chromium, live_server.url)
    s.login("hq")
    assert s.page.url.endswith("/dashboards/sales/")
    assert s.page.locator("h1").inner_text() == "Sales dashboard"
    assert s.page.locator("canvas").count() >= 2  # ECharts drew the share and the daily charts
    s.page.screenshot(path=str(shots / "sales-dashboard.png"))
    s.goto("/dashboards/purchasing/")
    assert s.page.locator("[data-table='purchasing-by-category'] tbody tr").count() == 2
    s.goto("/dashboards/store/?store=KM001")
    s.goto("/explore/")
    # chain → region → store → category → sub-category → SKU, each by clicking the first row
    for expected in ("region=KM", "store=KM001", "category=", "category=SNACK", "sku="):
        s.page.locator("table tbody a.drill").first.click()
        s.page.wait_for_load_state("networkidle")
        assert expected in s.page.url, (expected, s.page.url)
    assert "sku=S00" in s.page.url
    # the path is in the URL: the same view opens from the address alone
    shared = s.page.url
    s.goto(shared.replace(s.base, ""))
    assert s.page.locator("#place-crumbs a").count() == 6  # chain, region, store, FOOD, SNACK, SKU
    s.page.screenshot(path=str(shots / "drill-down-sku.png"))
    with s.page.expect_download() as dl:
        s.page.locator("a[data-export='xlsx']").first.click()
    path = dl.value.path()
    ws = load_workbook(io.BytesIO(Path(path).read_bytes())).active
    assert ws.cell(row=1, column=1).value in {"Year", "Month", "Day", "Hour"}
    assert ws.max_row >= 2
    s.close()


def test_a_regional_director_sees_the_region(chromium, live_server, chain_with_sales, shots):
    s = Session(chromium, live_server.url)
    s.login("region.KM")
    assert "KM Kunming" in s.page.locator("h1").inner_text()
    names = s.page.locator("[data-table='sales-by-store'] tbody td:first-child").all_inner_texts()
    assert names == ["KM001 Store KM001", "KM002 Store KM002"]
    s.page.locator("[data-table='sales-by-store'] a.drill").first.click()
    s.page.wait_for_load_state("networkidle")
    assert "/dashboards/store/" in s.page.url and "store=KM001" in s.page.url
    s.close()


def test_a_store_manager_works_in_both_languages_and_only_in_their_store(chromium, live_server, chain_with_sales,
                                                                           shots):
    s = Session(chromium, live_server.url, locale="zh-CN", mobile=True)
    s.login("manager.KM001")
    assert s.page.url.endswith("/dashboards/store/")
    assert "门店看板" in s.page.locator("h1").inner_text()  # the browser's language by default
    s.page.screenshot(path=str(shots / "store-dashboard-phone-zh.png"), full_page=True)
    s.page.click("button[data-lang='en']")
    s.page.wait_for_load_state("networkidle")
    assert "Store dashboard" in s.page.locator("h1").inner_text()
    s.page.click("#menu summary")  # the phone menu opens
    assert s.page.locator("#menu a", has_text="POS").is_visible()
    s.allow_404 = True
    for path in ("/locations/DL001/", "/dashboards/store/?store=DL001", "/explore/?store=DL001"):
        assert s.goto(path).status == 404, path
    s.allow_404 = False
    assert s.goto("/locations/KM001/").status == 200
    s.close()


def test_a_pos_sale_and_a_pickup_verification(chromium, live_server, chain_with_sales, shots):
    c = chain_with_sales
    pickup = online_order(c.users["hq"], c.km1, [("S004", 1)]).order
    s = Session(chromium, live_server.url)
    s.login("manager.KM001")  # has no shift open yet: opens one here
    s.goto("/shifts/")
    s.page.click("#open-shift button")
    s.page.wait_for_load_state("networkidle")
    s.goto("/pos/")
    assert s.page.locator("#no-shift").count() == 0
    for code, qty, shown in (("S001", "2", "S001"), (c.skus[2].barcodes.first().code, "1", "S003")):
        s.page.fill("#scan", code)  # a SKU code, then a barcode
        s.page.fill("#qty", qty)
        s.page.click("#add")
        s.page.locator("#cart-lines tbody td", has_text=shown).first.wait_for()
        s.page.wait_for_load_state("networkidle")
    assert s.page.locator("#cart-total").inner_text() == "34.90"
    s.page.screenshot(path=str(shots / "pos.png"))
    s.page.select_option("#method", "cash")
    s.page.fill("#amount", "50.00")
    s.page.click("#pay")
    s.page.wait_for_load_state("networkidle")
    number = s.page.locator("#order-number").inner_text()
    order = Order.objects.get(number=number)
    assert (order.channel, str(order.total), str(order.change)) == ("pos", "34.90", "15.10")
    s.goto("/pickups/")
    s.page.fill("#code", pickup.pickup_code)
    s.page.click("#verify")
    s.page.wait_for_load_state("networkidle")
    assert s.page.locator("#pickup-ok").count() == 1
    assert Order.objects.get(pk=pickup.pk).status == "completed"
    s.close()
