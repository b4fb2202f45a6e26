import datetime as dt

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from mendian.core.timeutil import local_tz
from mendian.inventory.models import StockLevel
from mendian.inventory.services import stock_ledger_check
from mendian.platform.outbox import outbox_deliver
from mendian.purchasing import subscribers as _subscribers  # noqa: F401
from mendian.purchasing.models import DockSlot, PurchaseOrder, QcReport, Receipt

pytestmark = pytest.mark.django_db


def _upload(client, path, content=b"%PDF qc", name="qc.pdf", **fields):
    return client.client.post(path, {"file": SimpleUploadedFile(name, content, "application/pdf"), **fields},
                              HTTP_AUTHORIZATION=f"Bearer {client.token}")


def _cycle_to_sent(api_client, world):
    buyer = api_client(world["users"]["buyer"])
    r = buyer.post("/api/v1/purchase-orders/suggest", {"supplier": "DAIRY"}, idempotency_key="s1")
    assert r.status_code == 201, r.content
    number = r.json()["orders"][0]["number"]
    assert buyer.post(f"/api/v1/purchase-orders/{number}/approve").status_code == 200
    assert buyer.post(f"/api/v1/purchase-orders/{number}/send").status_code == 200
    return number


def test_suggest_is_idempotent_and_explains_lines(api_client, world):
    buyer = api_client(world["users"]["buyer"])
    r = buyer.post("/api/v1/purchase-orders/suggest", {"locations": ["DC01"]}, idempotency_key="k1")
    assert r.status_code == 201, r.content
    body = r.json()
    assert [o["location"] for o in body["orders"]] == ["DC01"]
    lines = {ln["sku"]: ln for ln in body["orders"][0]["lines"]}
    assert (lines["MILK"]["quantity"], lines["MILK"]["packs"], lines["MILK"]["unit_cost"],
            lines["MILK"]["amount"]) == (96, 8, "3.0000", "288.00")
    assert lines["MILK"]["suggestion"]["reorder_point"] == 30
    assert body["total"] == "456.00" and body["orders"][0]["total"] == "456.00"
    again = buyer.post("/api/v1/purchase-orders/suggest", {"locations": ["DC01"]}, idempotency_key="k1")
    assert again.json() == body
    assert PurchaseOrder.objects.count() == 1
    assert buyer.post("/api/v1/purchase-orders/suggest", {}).status_code == 400
    bad = buyer.post("/api/v1/purchase-orders/suggest", {"locations": ["NOPE"]}, idempotency_key="k2")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_code"


def test_role_matrix_for_orders(api_client, world):
    number = _cycle_to_sent(api_client, world)
    u = world["users"]
    # lists: buyer/hq all, DC manager and region their locations, store manager elsewhere none, suppliers own
    expect = {"hq": 1, "buyer": 1, "dc_manager": 1, "region": 1, "store_manager": 0, "supplier": 1,
              "other_supplier": 0}
    for role, n in expect.items():
        r = api_client(u[role]).get("/api/v1/purchase-orders")
        assert r.status_code == 200 and r.json()["count"] == n, role
    assert api_client(u["cashier"]).get("/api/v1/purchase-orders").status_code == 403
    for role in ("store_manager", "other_supplier", "cashier"):
        assert api_client(u[role]).get(f"/api/v1/purchase-orders/{number}").status_code == 404, role
    # only buyers/hq approve, send, cancel, suggest
    for role in ("dc_manager", "region"):
        c = api_client(u[role])
        assert c.post(f"/api/v1/purchase-orders/{number}/cancel").status_code == 403
        assert c.post("/api/v1/purchase-orders/suggest", {}, idempotency_key="x").status_code == 403
    assert api_client(u["supplier"]).post(f"/api/v1/purchase-orders/{number}/cancel").status_code == 403
    assert PurchaseOrder.objects.get(number=number).status == "sent"


def test_draft_is_invisible_to_supplier_and_line_edit(api_client, world):
    buyer = api_client(world["users"]["buyer"])
    number = buyer.post("/api/v1/purchase-orders/suggest", {"supplier": "DAIRY"},
                        idempotency_key="d").json()["orders"][0]["number"]
    sup = api_client(world["users"]["supplier"])
    assert sup.get(f"/api/v1/purchase-orders/{number}").status_code == 404
    r = buyer.post(f"/api/v1/purchase-orders/{number}/lines", {"sku": "MILK", "quantity": 50})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_quantity"
    r = buyer.post(f"/api/v1/purchase-orders/{number}/lines", {"sku": "YOG", "quantity": 0})
    assert r.status_code == 200 and [ln["sku"] for ln in r.json()["lines"]] == ["MILK"]


def test_supplier_portal_flow_and_isolation(api_client, world):
    number = _cycle_to_sent(api_client, world)
    outbox_deliver()
    assert [m.to for m in mail.outbox] == [["orders@dairy.example"]]
    sup, other = api_client(world["users"]["supplier"]), api_client(world["users"]["other_supplier"])
    r = other.post(f"/api/v1/purchase-orders/{number}/confirm", {})
    assert r.status_code == 404
    r = sup.post(f"/api/v1/purchase-orders/{number}/confirm",
                 {"date": "2030-01-05", "lines": [{"sku": "MILK", "quantity": 72, "date": "2030-01-06"}]})
    assert r.status_code == 200, r.content
    lines = {ln["sku"]: ln for ln in r.json()["lines"]}
    assert (lines["MILK"]["confirmed_qty"], lines["MILK"]["confirmed_date"]) == (72, "2030-01-06")
    assert (lines["YOG"]["confirmed_qty"], lines["YOG"]["confirmed_date"]) == (42, "2030-01-05")
    assert r.json()["total"] == "384.00"  # 72×3 + 42×4
    body = {"order": number, "lines": [{"sku": "MILK", "quantity": 72},
                                       {"sku": "YOG", "quantity": 42, "lot": "L7", "expiry": "2030-06-01"}]}
    assert other.post("/api/v1/ship-notices", body, idempotency_key="a").status_code == 404
    r = sup.post("/api/v1/ship-notices", body, idempotency_key="a")
    assert r.status_code == 201, r.content
    asn = r.json()["number"]
    assert other.get(f"/api/v1/ship-notices/{asn}").status_code == 404
    assert other.get("/api/v1/ship-notices").json()["count"] == 0
    assert [n["number"] for n in sup.get("/api/v1/ship-notices", order=number).json()["items"]] == [asn]
    # slots
    slots = sup.get("/api/v1/dock-slots", location="DC01", date=world["tomorrow"].isoformat()).json()
    assert slots["count"] == 2 and slots["items"][0]["free"] == 1
    start = dt.datetime.combine(world["tomorrow"], dt.time(8), tzinfo=local_tz()).isoformat()
    assert other.post("/api/v1/appointments", {"ship_notice": asn, "slot_start": start},
                      idempotency_key="b").status_code == 404
    r = sup.post("/api/v1/appointments", {"ship_notice": asn, "slot_start": start}, idempotency_key="b")
    assert r.status_code == 201, r.content
    assert sup.post("/api/v1/appointments", {"ship_notice": asn, "slot_start": start},
                    idempotency_key="b").json() == r.json()
    r2 = sup.post("/api/v1/appointments", {"ship_notice": asn, "slot_start": start}, idempotency_key="c")
    assert r2.status_code == 409
    # QC upload
    assert _upload(other, f"/api/v1/ship-notices/{asn}/qc-report").status_code == 404
    r = _upload(sup, f"/api/v1/ship-notices/{asn}/qc-report", result="partial", note="2 cases dented")
    assert r.status_code == 201, r.content
    assert r.json()["result"] == "partial" and r.json()["size"] == 7
    assert QcReport.objects.get().file.read() == b"%PDF qc"
    assert _upload(sup, f"/api/v1/ship-notices/{asn}/qc-report", content=b"").status_code in (400, 422)
    # receipt by the supplier is refused; by the DC manager accepted
    rec = {"ship_notice": asn, "lines": [{"sku": "MILK", "received": 72, "rejected": 2, "reject_reason": "dented"},
                                         {"sku": "YOG", "received": 42}]}  # lot and expiry from the ASN
    assert sup.post("/api/v1/receipts", rec, idempotency_key="r").status_code == 403
    assert api_client(world["users"]["store_manager"]).post("/api/v1/receipts", rec,
                                                            idempotency_key="r").status_code == 404
    assert api_client(world["users"]["region"]).post("/api/v1/receipts", rec, idempotency_key="r").status_code == 403
    assert Receipt.objects.count() == 0
    mgr = api_client(world["users"]["dc_manager"])
    r = mgr.post("/api/v1/receipts", rec, idempotency_key="r")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["order_status"] == "partially_received"
    assert body["discrepancies"] == [{"sku": "MILK", "kind": "rejected", "expected": 72, "actual": 2, "note": ""}]
    yog = StockLevel.objects.select_related("lot").get(location=world["dc"], sku=world["yog"])
    assert (yog.on_hand, yog.lot.code, yog.lot.expiry) == (42, "L7", dt.date(2030, 6, 1))
    assert body["lines"][1]["lot"] == "L7"
    assert stock_ledger_check() == []
    # recall
    t = api_client(world["users"]["hq"]).get("/api/v1/lots/L7/trace")
    assert t.status_code == 200
    item = t.json()["items"][0]
    assert item["receipts"][0]["receipt"] == body["number"] and item["on_hand"][0]["on_hand"] == 42
    assert sup.get("/api/v1/lots/L7/trace").status_code == 403
    assert api_client(world["users"]["store_manager"]).get("/api/v1/lots/L7/trace").status_code == 404
    # scorecard: supplier sees own, not another's
    assert sup.get("/api/v1/suppliers/DAIRY/scorecard").status_code == 200
    assert sup.get("/api/v1/suppliers/TEAS/scorecard").status_code == 404
    assert api_client(world["users"]["buyer"]).get("/api/v1/suppliers/DAIRY/scorecard").json()["reject_rate"] == 0.0175


def test_full_slot_is_409_and_changes_nothing(api_client, world):
    from mendian.purchasing import services
    from mendian.purchasing.selectors import purchasing_access

    number = _cycle_to_sent(api_client, world)
    supplier = world["users"]["supplier"]
    acc = purchasing_access(supplier)
    services.purchase_order_confirm(actor=supplier, access=acc, number=number)
    a = services.ship_notice_create(actor=supplier, access=acc, order_number=number,
                                    lines=[services.NoticeLine(world["milk"].pk, 12)])
    b = services.ship_notice_create(actor=supplier, access=acc, order_number=number,
                                    lines=[services.NoticeLine(world["milk"].pk, 12)])
    sup = api_client(supplier)
    start = dt.datetime.combine(world["tomorrow"], dt.time(9), tzinfo=local_tz()).isoformat()
    assert sup.post("/api/v1/appointments", {"ship_notice": a.number, "slot_start": start},
                    idempotency_key="1").status_code == 201
    r = sup.post("/api/v1/appointments", {"ship_notice": b.number, "slot_start": start}, idempotency_key="2")
    assert r.status_code == 409 and r.json()["error"]["code"] == "slot_full"
    assert DockSlot.objects.get(starts_at=start).booked == 1
    r = sup.post("/api/v1/appointments", {"ship_notice": b.number, "slot_start": "2030-01-01T03:00:00+08:00"},
                 idempotency_key="3")
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_slot"


def test_order_list_keeps_a_constant_number_of_queries(api_client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    buyer = api_client(world["users"]["buyer"])
    buyer.post("/api/v1/purchase-orders/suggest", {"supplier": "DAIRY"}, idempotency_key="q1")
    with CaptureQueriesContext(connection) as one:
        assert buyer.get("/api/v1/purchase-orders").json()["count"] == 1
    buyer.post("/api/v1/purchase-orders/suggest", {"supplier": "TEAS"}, idempotency_key="q2")
    with CaptureQueriesContext(connection) as two:
        assert buyer.get("/api/v1/purchase-orders").json()["count"] == 2
    assert len(two.captured_queries) == len(one.captured_queries)
