"""One test per endpoint for wiring and error mapping; refused requests write nothing."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from mendian.inventory.models import LostDemand, StockMovement
from mendian.inventory.tests.factories import totals
from mendian.platform.models import IdempotencyRecord, OutboxEvent
from mendian.sales.models import Order, Shift, Tender

pytestmark = pytest.mark.django_db

POS = {"store": "KM001", "channel": "pos",
       "lines": [{"sku": "S001", "quantity": 2}, {"sku": "S002", "quantity": 1}],
       "tenders": [{"method": "cash", "amount": "50.00", "reference": ""}]}


@pytest.fixture
def cashier(chain, open_shift, api_client):
    user = chain.users["cashier_km1"]
    open_shift(user, chain.km1)
    return api_client(user)


def nothing_written(chain):
    assert Order.objects.count() == 0
    assert not StockMovement.objects.filter(doc_type="order").exists()
    assert not OutboxEvent.objects.filter(topic__startswith="order.").exists()
    assert not IdempotencyRecord.objects.exists()
    assert totals(chain.km1, chain.skus[0]) == (100, 0)


def test_pos_checkout_returns_the_priced_order(chain, cashier):
    r = cashier.post("/api/v1/orders", POS, idempotency_key="k-1")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["number"].startswith("KM001-") and body["status"] == "completed"
    assert body["lines"] == [
        {"line": 1, "sku": "S001", "quantity": 2, "unit_price": "12.50", "price_unit_qty": 1, "discount": "0.00",
         "amount": "25.00", "tax": "2.88", "vat_rate": "13.00", "refunded_qty": 0},
        {"line": 2, "sku": "S002", "quantity": 1, "unit_price": "3.00", "price_unit_qty": 1, "discount": "0.00",
         "amount": "3.00", "tax": "0.25", "vat_rate": "9.00", "refunded_qty": 0},
    ]
    assert (body["total"], body["change"], body["paid_total"], body["pickup_code"]) == ("28.00", "22.00", "50.00", None)
    assert body["tenders"][0]["method"] == "cash" and body["tenders"][0]["amount"] == "50.00"
    assert body["created_at"].endswith("+08:00")
    assert totals(chain.km1, chain.skus[0]) == (98, 0)


def test_create_needs_an_idempotency_key(chain, cashier):
    r = cashier.post("/api/v1/orders", POS)
    assert r.status_code == 400 and r.json()["error"]["code"] == "idempotency_key_required"
    nothing_written(chain)


@pytest.mark.parametrize("change,status,code,field", [
    ({"store": "NOPE1"}, 422, "unknown_code", "store"),
    ({"lines": [{"sku": "S001", "quantity": 1}, {"sku": "S002", "quantity": 1}, {"sku": "ZZZ", "quantity": 1}]},
     422, "unknown_code", "lines[2].sku"),
    ({"lines": [{"sku": "S001", "quantity": 0}]}, 422, "invalid_quantity", "lines[0].quantity"),
    ({"lines": [{"sku": "S001", "quantity": -3}]}, 422, "invalid_quantity", "lines[0].quantity"),
    ({"lines": []}, 422, "no_lines", "lines"),
    ({"tenders": [{"method": "cash", "amount": "27.99"}]}, 422, "tenders_short", "tenders"),
    ({"tenders": []}, 422, "tenders_required", "tenders"),
    ({"tenders": [{"method": "iou", "amount": "50"}]}, 422, "invalid_tender", "tenders[0].method"),
    ({"channel": "fax"}, 422, "invalid_channel", "channel"),
    ({"fulfilment": "delivery"}, 422, "invalid_fulfilment", "fulfilment"),
])
def test_bad_orders_are_refused_naming_the_field_and_write_nothing(chain, cashier, change, status, code, field):
    r = cashier.post("/api/v1/orders", {**POS, **change}, idempotency_key="k-bad")
    assert r.status_code == status, r.json()
    err = r.json()["error"]
    assert (err["code"], err["details"]["field"]) == (code, field)
    nothing_written(chain)


@pytest.mark.parametrize("raw,status", [
    ("{not json", 400),
    (json.dumps({**POS, "lines": [{"sku": "S001", "quantity": "many"}]}), 422),
    (json.dumps({**POS, "tenders": [{"method": "cash", "amount": "lots"}]}), 422),
    (json.dumps({**POS, "lines": [{"sku": "S001", "quantity": 1.5}]}), 422),
    (json.dumps({**POS, "lines": [{"sku": "S001", "quantity": 10**30}]}), 422),
    (json.dumps({"store": "KM001"}), 422),
])
def test_malformed_bodies(chain, cashier, raw, status):
    r = cashier.post("/api/v1/orders", raw=raw, idempotency_key="k-raw")
    assert r.status_code == status, r.content
    assert "error" in r.json()
    nothing_written(chain)


def test_too_many_lines_and_huge_bodies_are_refused(chain, cashier, settings):
    many = {**POS, "lines": [{"sku": "S001", "quantity": 1}] * 10_000}
    r = cashier.post("/api/v1/orders", many, idempotency_key="k-many")
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_many_lines"
    settings.MENDIAN_MAX_ORDER_LINES = 2
    r = cashier.post("/api/v1/orders", {**POS, "lines": [{"sku": "S001", "quantity": 1}] * 3}, idempotency_key="k-3")
    assert r.status_code == 422 and r.json()["error"]["details"] == {"field": "lines", "max": 2, "given": 3}
    r = cashier.post("/api/v1/orders", raw=json.dumps({**POS, "pad": "x" * (11 * 1024 * 1024)}), idempotency_key="k-b")
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    nothing_written(chain)


def test_pos_without_an_open_shift_is_409(chain, api_client):
    r = api_client(chain.users["cashier_km2"]).post("/api/v1/orders", {**POS, "store": "KM002"}, idempotency_key="k")
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_open_shift"
    assert Order.objects.count() == 0


def test_short_online_order_is_409_and_lost_demand_survives_the_refusal(chain, api_client):
    c = api_client(chain.users["manager_km1"])
    body = {"store": "KM001", "channel": "miniprogram", "fulfilment": "pickup",
            "lines": [{"sku": "S001", "quantity": 1}, {"sku": "S002", "quantity": 101}]}
    r = c.post("/api/v1/orders", body, idempotency_key="k-short")
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "insufficient_stock"
    assert err["details"] == {"lines": [{"sku": "S002", "requested": 101, "available": 100}]}
    nothing_written(chain)
    assert list(LostDemand.objects.values_list("location__code", "sku__code", "quantity", "channel")) == [
        ("KM001", "S002", 101, "miniprogram")]
    # the refusal rolled back the idempotency claim: the same key can go again once stock is there
    r = c.post("/api/v1/orders", {**body, "lines": [{"sku": "S002", "quantity": 100}]}, idempotency_key="k-short")
    assert r.status_code == 201


def test_get_and_list_orders(chain, cashier):
    a = cashier.post("/api/v1/orders", POS, idempotency_key="a").json()
    b = cashier.post("/api/v1/orders", {**POS, "channel": "online", "fulfilment": "pickup", "tenders": []},
                     idempotency_key="b").json()
    r = cashier.get(f"/api/v1/orders/{a['number']}")
    assert r.status_code == 200 and r.json() == a
    assert cashier.get("/api/v1/orders/KM001-20000101-9999").status_code == 404
    r = cashier.get("/api/v1/orders")
    assert r.json()["count"] == 2 and [o["number"] for o in r.json()["items"]] == [b["number"], a["number"]]
    r = cashier.get("/api/v1/orders", status="pending", store="KM001", channel="online")
    assert [o["number"] for o in r.json()["items"]] == [b["number"]]
    r = cashier.get("/api/v1/orders", limit=1, offset=1)
    assert r.json()["count"] == 2 and [o["number"] for o in r.json()["items"]] == [a["number"]]
    assert cashier.get("/api/v1/orders", store="NOPE9").status_code == 422
    assert cashier.get("/api/v1/orders", limit=0).status_code == 422


def test_pay_fulfil_complete(chain, api_client):
    c = api_client(chain.users["hq"])
    o = c.post("/api/v1/orders", {"store": "KM002", "channel": "app", "fulfilment": "delivery",
                                  "lines": [{"sku": "S003", "quantity": 2}]}, idempotency_key="x").json()
    assert o["status"] == "pending" and o["expires_at"]
    n = o["number"]
    r = c.post(f"/api/v1/orders/{n}/pay", {"tenders": [{"method": "wechat_pay", "amount": "19.79", "reference": "w"}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "tenders_short"
    r = c.post(f"/api/v1/orders/{n}/pay", {"tenders": [{"method": "wechat_pay", "amount": "19.80", "reference": "w"}]})
    assert r.status_code == 200 and r.json()["status"] == "paid" and r.json()["pickup_code"] is None
    assert c.post(f"/api/v1/orders/{n}/pay", {"tenders": [{"method": "card", "amount": "19.80"}]}).status_code == 409
    assert c.post(f"/api/v1/orders/{n}/complete").json()["error"]["code"] == "invalid_state"
    r = c.post(f"/api/v1/orders/{n}/fulfil")
    assert r.status_code == 200 and r.json()["status"] == "fulfilled"
    assert totals(chain.km2, chain.skus[2]) == (98, 0)
    r = c.post(f"/api/v1/orders/{n}/complete")
    assert r.status_code == 200 and r.json()["status"] == "completed"
    assert c.post("/api/v1/orders/NOPE/pay", {"tenders": []}).status_code == 404


def test_cancel(chain, api_client):
    c = api_client(chain.users["hq"])
    o = c.post("/api/v1/orders", {"store": "KM001", "channel": "online", "lines": [{"sku": "S001", "quantity": 5}]},
               idempotency_key="x").json()
    assert totals(chain.km1, chain.skus[0]) == (100, 5)
    r = c.post(f"/api/v1/orders/{o['number']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert totals(chain.km1, chain.skus[0]) == (100, 0)
    r = c.post(f"/api/v1/orders/{o['number']}/cancel")
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_state"


def test_refund(chain, cashier):
    o = cashier.post("/api/v1/orders", POS, idempotency_key="r").json()
    r = cashier.post(f"/api/v1/orders/{o['number']}/refund", {"lines": [{"line": 1, "quantity": 1}]})
    assert r.status_code == 201, r.json()
    body = r.json()
    assert (body["number"], body["amount"], body["order"]) == (f"{o['number']}-R01", "12.50", o["number"])
    assert body["tenders"] == [{"method": "cash", "amount": "-12.50", "reference": "", "created_at": body["created_at"],
                                "refund": body["number"]}]
    assert body["order_detail"]["status"] == "partially_refunded"
    assert body["order_detail"]["refunded_total"] == "12.50"
    assert totals(chain.km1, chain.skus[0]) == (99, 0)
    r = cashier.post(f"/api/v1/orders/{o['number']}/refund", {"lines": [{"line": 1, "quantity": 2}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "refund_exceeds_line"
    r = cashier.post(f"/api/v1/orders/{o['number']}/refund", {"lines": [{"line": 9, "quantity": 1}]})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "lines[0].line"
    assert Tender.objects.filter(amount__lt=0).count() == 1


def test_pickup_verify(chain, api_client):
    hq = api_client(chain.users["hq"])
    o = hq.post("/api/v1/orders", {"store": "KM001", "channel": "online", "fulfilment": "pickup",
                                   "lines": [{"sku": "S001", "quantity": 1}],
                                   "tenders": [{"method": "alipay", "amount": "12.50", "reference": "a"}]},
                idempotency_key="p").json()
    code = o["pickup_code"]
    assert o["status"] == "paid" and len(code) == 6
    c = api_client(chain.users["cashier_km1"])
    wrong = "000000" if code != "000000" else "111111"
    r = c.post("/api/v1/pickups/verify", {"store": "KM001", "code": wrong})
    assert r.status_code == 404 and r.json()["error"]["code"] == "pickup_code_not_found"
    r = c.post("/api/v1/pickups/verify", {"store": "KM001", "code": code})
    assert r.status_code == 200 and r.json()["status"] == "completed" and r.json()["number"] == o["number"]
    assert totals(chain.km1, chain.skus[0]) == (99, 0)
    r = c.post("/api/v1/pickups/verify", {"store": "KM001", "code": code})
    assert r.status_code == 409 and r.json()["error"]["code"] == "pickup_code_used"
    assert c.post("/api/v1/pickups/verify", {"store": "NOPE7", "code": code}).status_code == 422


def test_shifts(chain, api_client):
    c = api_client(chain.users["cashier_km1"])
    r = c.post("/api/v1/shifts", {"store": "KM001", "opening_float": "300.00"})
    assert r.status_code == 201, r.json()
    shift = r.json()
    assert (shift["store"], shift["user"], shift["status"], shift["opening_float"]) == (
        "KM001", "cashier.KM001", "open", "300.00")
    r = c.post("/api/v1/shifts", {"store": "KM001", "opening_float": "300.00"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "shift_already_open"
    assert c.post("/api/v1/shifts", {"store": "KM001", "opening_float": "-1"}).status_code == 422
    c.post("/api/v1/orders", {**POS, "tenders": [{"method": "cash", "amount": "30.00"}]}, idempotency_key="s")
    r = c.get("/api/v1/shifts", store="KM001")
    assert r.json()["count"] == 1 and r.json()["items"][0]["id"] == shift["id"]
    assert c.get(f"/api/v1/shifts/{shift['id']}").json()["status"] == "open"
    r = c.post(f"/api/v1/shifts/{shift['id']}/close", {"counted_cash": "327.00"})
    assert r.status_code == 200, r.json()
    assert (r.json()["expected_cash"], r.json()["variance"], r.json()["status"]) == ("328.00", "-1.00", "closed")
    r = c.post(f"/api/v1/shifts/{shift['id']}/close", {"counted_cash": "327.00"})
    assert r.status_code == 409
    assert c.post("/api/v1/shifts/999999/close", {"counted_cash": "1"}).status_code == 404
    assert Shift.objects.get(pk=shift["id"]).counted_cash == D("327.00")


def test_anonymous_is_401(chain, api_client):
    anon = api_client()
    assert anon.post("/api/v1/orders", POS, idempotency_key="z").status_code == 401
    assert anon.get("/api/v1/orders").status_code == 401
    assert anon.get("/api/v1/shifts").status_code == 401


def test_order_and_shift_lists_do_not_grow_queries_with_size(chain, cashier):
    def list_queries(path):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert cashier.get(path).status_code == 200
        return len(ctx.captured_queries)

    cashier.post("/api/v1/orders", POS, idempotency_key="l-0")
    few = list_queries("/api/v1/orders"), list_queries("/api/v1/shifts")
    for i in range(1, 6):
        cashier.post("/api/v1/orders", POS, idempotency_key=f"l-{i}")
    cashier.post(f"/api/v1/orders/{Order.objects.first().number}/refund", {"lines": [{"line": 1, "quantity": 1}]})
    many = list_queries("/api/v1/orders"), list_queries("/api/v1/shifts")
    assert few == many
    assert cashier.get("/api/v1/orders").json()["count"] == 6
