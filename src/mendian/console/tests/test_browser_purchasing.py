"""Purchasing in Chromium, as the people do it: the buyer has orders suggested, approves one and sends
it to the supplier; the supplier's portal user confirms it with a changed quantity and date, sends a
ship notice with a lot, books a dock slot and uploads a QC report; the warehouse receives against the
notice with a rejection and follows the lot. Every page: no JavaScript console error, a screenshot.
Same skip/fail rules as test_browser.py."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from mendian.console.tests.test_browser import Session, chromium, shots  # noqa: F401  (fixtures)
from mendian.console.tests.test_browser_marketing import _follow, _seen
from mendian.inventory.models import StockLevel
from mendian.purchasing.models import DeliveryAppointment, PurchaseOrder, QcReport, ShipNotice
from mendian.purchasing.tests.conftest import _media, world  # noqa: F401  (fixtures: the purchasing world)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def test_buyer_sends_an_order_the_supplier_confirms_and_ships_the_warehouse_receives(chromium, live_server,  # noqa: F811
                                                                                     world, shots):  # noqa: F811
    milk, yog = world["milk"], world["yog"]
    # the buyer: suggest, open the draft, approve, send
    b = Session(chromium, live_server.url)
    b.login("buyer")
    _seen(b, shots, "purchasing-buyer-home")
    _follow(b, "[data-nav='purchase_orders']")
    b.page.select_option("form:has(#suggest) select[name='supplier']", "DAIRY")
    _follow(b, "#suggest")
    order = PurchaseOrder.objects.get(supplier__code="DAIRY", location__code="DC01")
    row = b.page.locator(f"#orders tr[data-number='{order.number}']")
    assert row.locator("[data-status]").get_attribute("data-status") == "draft"
    _seen(b, shots, "purchasing-orders-buyer")
    _follow(b, row.locator("a"))
    assert b.page.locator("#lines tr[data-sku='MILK'] [data-col='quantity']").inner_text() == "96"
    assert b.page.locator("#lines tr[data-sku='YOG'] [data-col='quantity']").inner_text() == "42"
    _seen(b, shots, "purchasing-order-draft")
    _follow(b, "#approve")
    assert b.page.locator("#status").get_attribute("data-status") == "approved"
    _follow(b, "#send")
    assert b.page.locator("#status").get_attribute("data-status") == "sent"
    b.close()

    # the supplier: sees only its order, confirms 84 of 96 milk for a later day, then ships the yoghurt
    s = Session(chromium, live_server.url)
    s.login("dairy.portal")
    assert s.page.url.endswith("/purchasing/orders/")
    assert s.page.locator("#orders tbody tr[data-number]").count() == 1
    _seen(s, shots, "purchasing-orders-supplier")
    _follow(s, f"#orders tr[data-number='{order.number}'] a")
    when = world["tomorrow"] + dt.timedelta(days=1)
    s.page.fill(f"input[name='qty_{milk.pk}']", "84")
    s.page.fill(f"input[name='date_{milk.pk}']", when.isoformat())
    _follow(s, "#confirm")
    assert s.page.locator("#status").get_attribute("data-status") == "confirmed"
    assert s.page.input_value(f"input[name='qty_{milk.pk}']") == "84"  # open to change until it ships
    assert s.page.input_value(f"input[name='date_{milk.pk}']") == when.isoformat()
    expiry = dt.date(2027, 3, 1)
    s.page.fill(f"input[name='asn_qty_{yog.pk}']", "42")
    s.page.fill(f"input[name='asn_lot_{yog.pk}']", "L-YOG-7")
    s.page.fill(f"input[name='asn_expiry_{yog.pk}']", expiry.isoformat())
    s.page.fill("#notice-form input[name='carrier']", "SF")
    _follow(s, "#create-notice")
    notice = ShipNotice.objects.get(order=order)
    assert s.page.locator("#lines tr[data-sku='MILK'] [data-col='confirmed']").inner_text() == "84"
    assert s.page.locator("#lines tr[data-sku='MILK'] [data-col='confirmed_date']").inner_text() == when.isoformat()
    assert "YOG × 42 (L-YOG-7)" in s.page.locator(f"#notices tr[data-notice='{notice.number}']").inner_text()
    _follow(s, "#book")  # the first free slot
    appt = DeliveryAppointment.objects.get(notice=notice)
    assert s.page.locator(f"#notices tr[data-notice='{notice.number}'] [data-col='slot']").inner_text() != "—"
    assert appt.status == "booked"
    s.page.set_input_files("#qc-form input[type='file']", files=[
        {"name": "qc.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 quality ok"}])
    s.page.select_option("#qc-form select[name='result']", "pass")
    _follow(s, "#upload-qc")
    assert "qc.pdf" in s.page.locator(f"#notices tr[data-notice='{notice.number}'] [data-col='qc']").inner_text()
    assert QcReport.objects.get(notice=notice).size == 19
    _seen(s, shots, "purchasing-order-supplier")
    s.close()

    # the warehouse: receives 42 against the notice, 2 torn, and follows the lot
    w = Session(chromium, live_server.url)
    w.login("mgr.DC01")
    w.page.goto(f"{w.base}/purchasing/orders/{order.number}/")
    w.page.select_option("#receive-form select[name='notice']", notice.number)
    w.page.fill(f"input[name='rcv_{yog.pk}']", "42")
    w.page.fill(f"input[name='rej_{yog.pk}']", "2")
    w.page.fill(f"input[name='reason_{yog.pk}']", "torn")
    w.page.fill(f"input[name='lot_{yog.pk}']", "L-YOG-7")
    w.page.fill(f"input[name='exp_{yog.pk}']", expiry.isoformat())
    _follow(w, "#receive")
    assert w.page.locator("#status").get_attribute("data-status") == "partially_received"
    assert w.page.locator("#lines tr[data-sku='YOG'] [data-col='accepted']").inner_text() == "40"
    assert w.page.locator("#lines tr[data-sku='YOG'] [data-col='rejected']").inner_text() == "2"
    _seen(w, shots, "purchasing-order-received")
    assert StockLevel.objects.get(location=world["dc"], sku=yog, lot__code="L-YOG-7").on_hand == 40
    _follow(w, "#receipts a[href$='/L-YOG-7/']")
    assert "L-YOG-7" in w.page.locator("h1").inner_text()
    _seen(w, shots, "purchasing-lot")
    w.close()
