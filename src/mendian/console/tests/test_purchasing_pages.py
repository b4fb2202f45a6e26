"""Console pages for purchasing: buyer, supplier portal user, receiving and lot recall."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from mendian.inventory.models import Lot, StockLevel
from mendian.purchasing.models import DeliveryAppointment, PurchaseOrder, QcReport, ShipNotice
from mendian.purchasing.tests import conftest as _world

world, _media = _world.world, _world._media  # the purchasing tests' small world (fixtures)


def _msgs(resp) -> list[str]:
    return [str(m) for m in resp.context["messages"]] if resp.context else []


def _dairy_order() -> PurchaseOrder:
    return PurchaseOrder.objects.get(supplier__code="DAIRY", location__code="DC01")


def test_full_flow_through_pages(world, signed_in):
    u, milk, yog = world["users"], world["milk"], world["yog"]
    buyer = signed_in(u["buyer"])
    assert buyer.get("/purchasing/orders/").status_code == 200
    r = buyer.post("/purchasing/orders/suggest/", {"supplier": "DAIRY"}, follow=True)
    assert r.status_code == 200
    order = _dairy_order()
    assert order.status == "draft"
    lines = {ln.sku.code: ln for ln in order.lines.select_related("sku")}
    assert {c: ln.quantity for c, ln in lines.items()} == {"MILK": 96, "YOG": 42}
    page = buyer.get(f"/purchasing/orders/{order.number}/")
    assert page.status_code == 200 and b'id="approve"' in page.content and b"MILK" in page.content
    assert buyer.get("/purchasing/orders/", {"status": "draft", "supplier": "DAIRY"}).context["count"] == 1
    assert buyer.get("/purchasing/orders/", {"status": "sent"}).context["count"] == 0

    buyer.post(f"/purchasing/orders/{order.number}/approve/")
    buyer.post(f"/purchasing/orders/{order.number}/send/")
    order.refresh_from_db()
    assert order.status == "sent" and order.sent_at is not None

    sup = signed_in(u["supplier"])
    r = sup.get("/purchasing/orders/")
    assert [o.number for o in r.context["rows"]] == [order.number]
    when = world["tomorrow"] + dt.timedelta(days=1)
    r = sup.post(f"/purchasing/orders/{order.number}/confirm/", {
        f"qty_{milk.pk}": "84", f"date_{milk.pk}": when.isoformat(), f"qty_{yog.pk}": "42"}, follow=True)
    assert f"Order {order.number} confirmed." in _msgs(r)
    order.refresh_from_db()
    lines = {ln.sku.code: ln for ln in order.lines.select_related("sku")}
    assert order.status == "confirmed"
    assert (lines["MILK"].confirmed_qty, lines["MILK"].confirmed_date, lines["YOG"].confirmed_qty) == (84, when, 42)

    expiry = dt.date(2027, 3, 1)
    r = sup.post(f"/purchasing/orders/{order.number}/notice/", {
        f"asn_qty_{yog.pk}": "42", f"asn_lot_{yog.pk}": "L-YOG-7", f"asn_expiry_{yog.pk}": expiry.isoformat(),
        f"asn_qty_{milk.pk}": "0", "carrier": "SF"}, follow=True)
    notice = ShipNotice.objects.get(order=order)
    assert [(ln.sku.code, ln.quantity, ln.lot_code) for ln in notice.lines.all()] == [("YOG", 42, "L-YOG-7")]
    slots = r.context["slots"]
    assert len(slots) == 2
    sup.post(f"/purchasing/orders/{order.number}/book/", {"notice": notice.number, "slot": slots[0].pk})
    appt = DeliveryAppointment.objects.get(notice=notice)
    assert appt.slot_id == slots[0].pk and appt.status == "booked"
    slots[0].refresh_from_db()
    assert slots[0].booked == 1
    pdf = SimpleUploadedFile("qc.pdf", b"%PDF-1.4 quality ok", content_type="application/pdf")
    sup.post(f"/purchasing/orders/{order.number}/qc/", {"notice": notice.number, "result": "pass", "file": pdf})
    qc = QcReport.objects.get(notice=notice)
    assert (qc.original_name, qc.size, qc.result) == ("qc.pdf", 19, "pass")
    assert b"qc.pdf" in sup.get(f"/purchasing/orders/{order.number}/").content

    mgr = signed_in(u["dc_manager"])
    r = mgr.post(f"/purchasing/orders/{order.number}/receive/", {
        "notice": notice.number, f"rcv_{yog.pk}": "42", f"rej_{yog.pk}": "2", f"reason_{yog.pk}": "torn",
        f"lot_{yog.pk}": "L-YOG-7", f"exp_{yog.pk}": expiry.isoformat()}, follow=True)
    assert any(m.startswith("Receipt ") for m in _msgs(r)), _msgs(r)
    order.refresh_from_db()
    lines = {ln.sku.code: ln for ln in order.lines.select_related("sku")}
    assert (order.status, lines["YOG"].accepted_qty, lines["YOG"].rejected_qty) == ("partially_received", 40, 2)
    lot = Lot.objects.get(code="L-YOG-7", sku=yog)
    assert lot.expiry == expiry
    assert StockLevel.objects.get(location=world["dc"], sku=yog, lot=lot).on_hand == 40

    r = mgr.get("/purchasing/lots/L-YOG-7/")
    assert r.status_code == 200
    [trace] = r.context["traces"]
    assert (trace.sku_code, trace.expiry) == ("YOG", expiry)
    assert [(x["order"], x["ship_notice"], x["accepted"], x["rejected"]) for x in trace.receipts] == [
        (order.number, notice.number, 40, 2)]
    assert trace.on_hand == [{"location": "DC01", "on_hand": 40, "reserved": 0}]


def test_supplier_sees_only_own_orders(world, signed_in):
    u = world["users"]
    buyer = signed_in(u["buyer"])
    buyer.post("/purchasing/orders/suggest/")
    order = _dairy_order()
    buyer.post(f"/purchasing/orders/{order.number}/approve/")
    buyer.post(f"/purchasing/orders/{order.number}/send/")
    other = signed_in(u["other_supplier"])
    home = other.get("/")
    assert home.status_code == 302 and home["Location"] == "/purchasing/orders/"
    assert [i.key for i in other.get("/purchasing/orders/").context["nav_items"]] == ["purchase_orders"]
    assert other.get(f"/purchasing/orders/{order.number}/").status_code == 404
    assert order.number not in [o.number for o in other.get("/purchasing/orders/").context["rows"]]
    assert other.post(f"/purchasing/orders/{order.number}/confirm/", {}).status_code == 404
    assert other.get("/purchasing/lots/L1/").status_code == 404
    order.refresh_from_db()
    assert order.status == "sent" and order.confirmed_at is None
    # a supplier cannot approve or suggest: the service refuses and nothing changes
    tea_order = PurchaseOrder.objects.get(supplier__code="TEAS")
    r = other.post(f"/purchasing/orders/{tea_order.number}/approve/")
    assert r.status_code == 404
    tea_order.refresh_from_db()
    assert tea_order.status == "draft"
    count = PurchaseOrder.objects.count()
    other.post("/purchasing/orders/suggest/")
    assert PurchaseOrder.objects.count() == count


def test_cashier_gets_404(world, signed_in):
    u = world["users"]
    signed_in(u["buyer"]).post("/purchasing/orders/suggest/")
    order = _dairy_order()
    cashier = signed_in(u["cashier"])
    assert cashier.get("/purchasing/orders/").status_code == 404
    assert cashier.get(f"/purchasing/orders/{order.number}/").status_code == 404
    assert cashier.post(f"/purchasing/orders/{order.number}/approve/").status_code == 404
    assert cashier.post("/purchasing/orders/suggest/").status_code == 404
    order.refresh_from_db()
    assert order.status == "draft"


def test_the_navigation_offers_purchase_orders_to_buyers_and_suppliers_only():
    from mendian.console.nav import nav_for

    def keys(kind, roles):
        return {i.key for i in nav_for(kind, frozenset(roles))}

    assert "purchase_orders" in keys("buyer", {"buyer"})
    assert "purchase_orders" in keys("store", {"store_manager"})
    assert "purchase_orders" not in keys("store", {"cashier"})
    assert keys("store", {"supplier"}) == {"purchase_orders"}
