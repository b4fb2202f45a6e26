"""Transfer orders end to end through the API: request, approve, ship, receive with discrepancies,
cancel; scope per role; the ledger stays consistent."""

from __future__ import annotations

import pytest

from mendian.inventory.selectors import stock_totals
from mendian.inventory.services import stock_ledger_check
from mendian.platform.models import AuditEntry, OutboxEvent
from mendian.transfers.models import TransferOrder

pytestmark = pytest.mark.django_db


def _request(api_client, user, body, key="k1"):
    return api_client(user).post("/api/v1/transfers", body, idempotency_key=key)


def _body(chain, qty=10, sku="A001", src="KM001", dst="KM002"):
    return {"from_location": src, "to_location": dst, "lines": [{"sku": sku, "quantity": qty}], "note": "short on A"}


def test_a_store_requests_the_sender_ships_and_the_receiver_books_in_with_damage_and_short(chain, api_client):
    chain.receive(chain.km001, chain.sku_a, 50)
    resp = _request(api_client, chain.m2, _body(chain))
    assert resp.status_code == 201, resp.content
    t = resp.json()
    number = t["number"]
    assert t["status"] == "proposed" and t["from_location"]["code"] == "KM001" and t["to_location"]["code"] == "KM002"
    assert number.startswith("TRKM001")
    # the receiver cannot approve for the sender
    assert api_client(chain.m2).post(f"/api/v1/transfers/{number}/approve").status_code == 403
    r = api_client(chain.m1).post(f"/api/v1/transfers/{number}/approve")
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert api_client(chain.m2).post(f"/api/v1/transfers/{number}/ship").status_code == 403
    r = api_client(chain.m1).post(f"/api/v1/transfers/{number}/ship")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "shipped" and r.json()["lines"][0]["shipped"] == 10
    assert stock_totals(location_id=chain.km001.pk, sku_id=chain.sku_a.pk) == (40, 0)
    assert stock_totals(location_id=chain.transit.pk, sku_id=chain.sku_a.pk) == (10, 0)
    # the sender cannot book the goods in for the receiver
    assert api_client(chain.m1).post(f"/api/v1/transfers/{number}/receive", {}).status_code == 403
    r = api_client(chain.m2).post(f"/api/v1/transfers/{number}/receive",
                                  {"lines": [{"sku": "A001", "received": 8, "damaged": 1}]})
    assert r.status_code == 200, r.content
    line = r.json()["lines"][0]
    assert (line["shipped"], line["received"], line["damaged"], line["short"]) == (10, 8, 1, 1)
    assert r.json()["status"] == "received"
    assert stock_totals(location_id=chain.km002.pk, sku_id=chain.sku_a.pk) == (8, 0)
    assert stock_totals(location_id=chain.transit.pk, sku_id=chain.sku_a.pk) == (0, 0)
    assert stock_totals(location_id=chain.km001.pk, sku_id=chain.sku_a.pk) == (40, 0)
    assert stock_ledger_check() == []
    actions = list(AuditEntry.objects.filter(object_ref=number).order_by("id").values_list("action", flat=True))
    assert actions == ["transfer.requested", "transfer.approved", "transfer.shipped", "transfer.received"]
    topics = set(OutboxEvent.objects.filter(topic__startswith="transfer.").values_list("topic", flat=True))
    assert {"transfer.requested", "transfer.approved", "transfer.shipped", "transfer.received"} <= topics


def test_receiving_without_lines_books_everything_shipped(chain, api_client):
    chain.receive(chain.km001, chain.sku_a, 20)
    number = _request(api_client, chain.hq, _body(chain, qty=6)).json()["number"]
    hq = api_client(chain.hq)
    assert hq.post(f"/api/v1/transfers/{number}/approve").status_code == 200
    assert hq.post(f"/api/v1/transfers/{number}/ship").status_code == 200
    r = hq.post(f"/api/v1/transfers/{number}/receive")
    assert r.status_code == 200 and r.json()["lines"][0]["received"] == 6
    assert stock_totals(location_id=chain.km002.pk, sku_id=chain.sku_a.pk) == (6, 0)
    assert stock_ledger_check() == []


def test_a_store_manager_sees_only_transfers_touching_their_store(chain, api_client):
    chain.receive(chain.km001, chain.sku_a, 50)
    number = _request(api_client, chain.m2, _body(chain)).json()["number"]
    other = api_client(chain.m3)
    assert other.get(f"/api/v1/transfers/{number}").status_code == 404
    for action in ("approve", "ship", "receive", "cancel"):
        assert other.post(f"/api/v1/transfers/{number}/{action}").status_code == 404
    assert other.get("/api/v1/transfers").json() == {"items": [], "count": 0}
    assert api_client(chain.region_dl).get(f"/api/v1/transfers/{number}").status_code == 404
    assert api_client(chain.m1).get("/api/v1/transfers").json()["count"] == 1
    assert api_client(chain.region_km).get(f"/api/v1/transfers/{number}").status_code == 200
    assert TransferOrder.objects.get(number=number).status == "proposed"


def test_a_cashier_cannot_request_transfers(chain, api_client):
    r = _request(api_client, chain.cashier1, _body(chain))
    assert r.status_code == 403
    assert TransferOrder.objects.count() == 0


def test_shipping_more_than_the_sender_holds_is_refused_and_changes_nothing(chain, api_client):
    chain.receive(chain.km001, chain.sku_a, 3)
    number = _request(api_client, chain.m2, _body(chain, qty=10)).json()["number"]
    m1 = api_client(chain.m1)
    assert m1.post(f"/api/v1/transfers/{number}/approve").status_code == 200
    r = m1.post(f"/api/v1/transfers/{number}/ship")
    assert r.status_code == 409 and r.json()["error"]["code"] == "insufficient_stock"
    o = TransferOrder.objects.get(number=number)
    assert o.status == "approved" and o.shipped_at is None and o.lines.get().shipped == 0
    assert stock_totals(location_id=chain.km001.pk, sku_id=chain.sku_a.pk) == (3, 0)
    assert stock_totals(location_id=chain.transit.pk, sku_id=chain.sku_a.pk) == (0, 0)


def test_goods_on_the_road_cannot_be_cancelled_and_receipts_cannot_exceed_shipments(chain, api_client):
    chain.receive(chain.km001, chain.sku_a, 30)
    number = _request(api_client, chain.hq, _body(chain, qty=5)).json()["number"]
    hq = api_client(chain.hq)
    hq.post(f"/api/v1/transfers/{number}/approve")
    hq.post(f"/api/v1/transfers/{number}/ship")
    r = hq.post(f"/api/v1/transfers/{number}/cancel")
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_state"
    r = hq.post(f"/api/v1/transfers/{number}/receive", {"lines": [{"sku": "A001", "received": 5, "damaged": 1}]})
    assert r.status_code == 422
    assert TransferOrder.objects.get(number=number).status == "shipped"
    assert stock_totals(location_id=chain.transit.pk, sku_id=chain.sku_a.pk) == (5, 0)


def test_cancel_before_shipping_and_a_second_cancel_is_a_conflict(chain, api_client):
    number = _request(api_client, chain.m2, _body(chain)).json()["number"]
    r = api_client(chain.m2).post(f"/api/v1/transfers/{number}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert api_client(chain.m2).post(f"/api/v1/transfers/{number}/cancel").status_code == 409


def test_request_validation_and_idempotency(chain, api_client):
    m2 = api_client(chain.m2)
    assert m2.post("/api/v1/transfers", _body(chain)).status_code == 400  # no Idempotency-Key
    r = m2.post("/api/v1/transfers", _body(chain, sku="NOPE"), idempotency_key="x1")
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "sku"
    r = m2.post("/api/v1/transfers", _body(chain, src="KM002"), idempotency_key="x2")
    assert r.status_code == 422 and r.json()["error"]["code"] == "same_location"
    r = m2.post("/api/v1/transfers", _body(chain, qty=0), idempotency_key="x3")
    assert r.status_code == 422
    first = m2.post("/api/v1/transfers", _body(chain), idempotency_key="same")
    again = m2.post("/api/v1/transfers", _body(chain), idempotency_key="same")
    assert first.status_code == again.status_code == 201
    assert first.json()["number"] == again.json()["number"]
    assert TransferOrder.objects.count() == 1
