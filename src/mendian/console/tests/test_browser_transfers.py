"""Issue 5's "Done when" in Chromium: a store manager sees a shortage, HQ runs the plan and accepts
it, the sending store ships, the receiving store receives with one damaged unit, the ledger still
holds, and the day's routes are listed and drawn on a map. Same skip/fail rules as test_browser.py."""

from __future__ import annotations

import os

import pytest

from mendian.console.tests.test_browser import Session, chromium, shots  # noqa: F401  (fixtures)
from mendian.inventory.selectors import stock_totals
from mendian.inventory.services import stock_ledger_check
from mendian.transfers.models import TransferOrder, TransferPlan
from mendian.transfers.tests.conftest import Chain

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def transfer_chain(transactional_db) -> Chain:
    c = Chain()
    c.receive(c.km001, c.sku_a, 40)
    c.receive(c.km001, c.sku_b, 40)
    c.receive(c.km003, c.sku_a, 30)
    c.lost(c.km002, c.sku_a, 5)
    c.lost(c.km002, c.sku_b, 3)
    return c


def test_shortage_plan_accept_ship_receive_with_damage_and_routes(chromium, live_server, transfer_chain, shots):  # noqa: F811
    c = transfer_chain
    # the receiving store's manager sees the shortage
    s = Session(chromium, live_server.url)
    s.login("manager.KM002")
    s.goto("/")
    s.page.click("[data-nav='transfers']")
    s.page.wait_for_load_state("networkidle")
    s.page.click("#shortages-link")
    s.page.wait_for_load_state("networkidle")
    assert s.page.locator("#shortages tr[data-sku='A001'] [data-col='need']").inner_text() == "7"
    assert s.page.locator("#shortages tr[data-sku='B001'] [data-col='need']").inner_text() == "5"
    s.page.screenshot(path=str(shots / "transfers-shortages.png"), full_page=True)
    s.close()

    # HQ runs the plan for the KM region (with a MIP bound: a city-size plan) and accepts it
    hq = Session(chromium, live_server.url)
    hq.login("hq")
    hq.goto("/transfers/plans/")
    hq.page.select_option("#region", "KM")
    hq.page.fill("#mip_seconds", "5")
    hq.page.click("#run-plan")
    hq.page.wait_for_load_state("networkidle")
    assert hq.page.locator("#plan-status").get_attribute("data-status") == "proposed"
    assert hq.page.locator("[data-fig='met']").inner_text() == "12 / 12"
    assert hq.page.locator("#moves tbody tr").count() == 2
    assert hq.page.locator("[data-fig='gap']").inner_text().endswith("%")
    hq.page.screenshot(path=str(shots / "transfers-plan.png"), full_page=True)
    hq.page.click("#accept-plan")
    hq.page.wait_for_load_state("networkidle")
    assert hq.page.locator("#plan-status").get_attribute("data-status") == "accepted"
    plan = TransferPlan.objects.get()
    order = TransferOrder.objects.get(plan=plan)
    assert (order.from_location.code, order.to_location.code, order.status) == ("KM001", "KM002", "approved")

    # the sending store ships
    m1 = Session(chromium, live_server.url)
    m1.login("manager.KM001")
    m1.goto("/transfers/")
    m1.page.click(f"tr[data-number='{order.number}'] a")
    m1.page.wait_for_load_state("networkidle")
    assert m1.page.locator("#receive").count() == 0
    m1.page.click("#ship")
    m1.page.wait_for_load_state("networkidle")
    assert m1.page.locator("#status").get_attribute("data-status") == "shipped"
    m1.close()
    assert stock_totals(location_id=c.km001.pk, sku_id=c.sku_a.pk)[0] == 33

    # a second shipment of the day (a store's own request) so the routes have two tasks
    from mendian.org.scope import user_scope
    from mendian.transfers import services as tsvc

    extra = tsvc.transfer_request(user=c.m3, scope=user_scope(c.m3), from_location=c.km003, to_location=c.km001,
                                  lines=[tsvc.RequestLine(c.sku_a.pk, 4)])
    tsvc.transfer_approve(user=c.m3, scope=user_scope(c.m3), number=extra.number)
    tsvc.transfer_ship(user=c.m3, scope=user_scope(c.m3), number=extra.number)

    # the receiving store receives with one damaged unit
    m2 = Session(chromium, live_server.url)
    m2.login("manager.KM002")
    m2.goto(f"/transfers/{order.number}/")
    m2.page.fill(f"input[name='received_{c.sku_a.pk}']", "6")
    m2.page.fill(f"input[name='damaged_{c.sku_a.pk}']", "1")
    m2.page.screenshot(path=str(shots / "transfers-receive.png"), full_page=True)
    m2.page.click("#receive")
    m2.page.wait_for_load_state("networkidle")
    assert m2.page.locator("#status").get_attribute("data-status") == "received"
    assert m2.page.locator("#lines tr[data-sku='A001'] [data-col='damaged']").inner_text() == "1"
    assert m2.page.locator("#lines tr[data-sku='A001'] [data-col='received']").inner_text() == "6"
    m2.close()
    assert stock_totals(location_id=c.km002.pk, sku_id=c.sku_a.pk)[0] == 6
    assert stock_ledger_check() == []

    # the day's routes: a list per vehicle and a map
    hq.goto("/transfers/routes/")
    assert hq.page.locator("[data-fig='transfers']").inner_text() == "2"
    assert hq.page.locator("#vehicles [data-vehicle]").count() >= 1
    hq.page.wait_for_selector("#route-map canvas")
    assert hq.page.locator("#route-map canvas").count() >= 1
    hq.page.screenshot(path=str(shots / "transfers-routes.png"), full_page=True)
    hq.close()
