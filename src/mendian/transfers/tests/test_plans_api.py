"""Plans, routes and sourcing through the API, per role."""

from __future__ import annotations

import pytest

from mendian.core.timeutil import local_date
from mendian.inventory.selectors import stock_totals
from mendian.inventory.services import stock_ledger_check
from mendian.transfers.models import TransferOrder, TransferPlan

pytestmark = pytest.mark.django_db


def _stock(chain):
    # KM001 holds plenty of A and B; KM002 has none and lost online orders; KM003 a little of A
    chain.receive(chain.km001, chain.sku_a, 40)
    chain.receive(chain.km001, chain.sku_b, 40)
    chain.receive(chain.km003, chain.sku_a, 12)
    chain.lost(chain.km002, chain.sku_a, 5)
    chain.lost(chain.km002, chain.sku_b, 3)


def test_hq_runs_a_plan_accepts_it_and_the_orders_flow_through_the_ledger(chain, api_client):
    _stock(chain)
    hq = api_client(chain.hq)
    r = hq.post("/api/v1/transfer-plans", {"region": "KM", "min_stock": 2}, idempotency_key="p1")
    assert r.status_code == 201, r.content
    plan = r.json()
    # KM002 needs min stock 2 + lost demand: 7 of A and 5 of B; one lane from the donor holding both
    moves = {(m["from_location"], m["to_location"], m["sku"], m["quantity"]) for m in plan["moves"]}
    assert moves == {("KM001", "KM002", "A001", 7), ("KM001", "KM002", "B001", 5)}
    f = plan["figures"]
    assert f["need_units"] == 12 and f["met_units"] == 12 and f["objective"]["lane_count"] == 1
    assert plan["status"] == "proposed" and plan["orders"] == []
    again = hq.post("/api/v1/transfer-plans", {"region": "KM", "min_stock": 2}, idempotency_key="p1")
    assert again.json()["id"] == plan["id"] and TransferPlan.objects.count() == 1
    assert hq.get(f"/api/v1/transfer-plans/{plan['id']}").json()["figures"] == f
    r = hq.post(f"/api/v1/transfer-plans/{plan['id']}/accept")
    assert r.status_code == 200, r.content
    (number,) = r.json()["orders"]
    assert hq.post(f"/api/v1/transfer-plans/{plan['id']}/accept").status_code == 409
    order = TransferOrder.objects.get(number=number)
    assert (order.status, order.source, order.plan_id) == ("approved", "plan", plan["id"])
    assert sorted((ln.sku.code, ln.quantity) for ln in order.lines.all()) == [("A001", 7), ("B001", 5)]
    # the sending store ships, the receiving store books in with one damaged unit
    assert api_client(chain.m1).post(f"/api/v1/transfers/{number}/ship").status_code == 200
    r = api_client(chain.m2).post(f"/api/v1/transfers/{number}/receive",
                                  {"lines": [{"sku": "A001", "received": 6, "damaged": 1}]})
    assert r.status_code == 200
    assert stock_totals(location_id=chain.km002.pk, sku_id=chain.sku_a.pk) == (6, 0)
    assert stock_totals(location_id=chain.km002.pk, sku_id=chain.sku_b.pk) == (5, 0)
    assert stock_ledger_check() == []
    # the day's routes list the shipped transfer with coordinates
    r = hq.get("/api/v1/routes", date=local_date().isoformat(), time_limit=1)
    assert r.status_code == 200, r.content
    routes = r.json()
    assert routes["transfers"] == 1 and routes["vehicles"] == 1 and routes["depot"]["code"] == "WH01"
    stops = routes["routes"][0]["stops"]
    assert [(s["location"], s["action"]) for s in stops] == [
        ("WH01", "start"), ("KM001", "pickup"), ("KM002", "delivery"), ("WH01", "end")]
    assert all(isinstance(s["latitude"], float) for s in stops)
    assert routes["distance_km"] == pytest.approx(routes["naive_km"], rel=1e-6)


def test_plans_are_for_hq_and_regional_directors_within_their_scope(chain, api_client):
    _stock(chain)
    r = api_client(chain.m2).post("/api/v1/transfer-plans", {}, idempotency_key="p")
    assert r.status_code == 403
    r = api_client(chain.region_dl).post("/api/v1/transfer-plans", {"region": "KM"}, idempotency_key="p")
    assert r.status_code == 404
    assert TransferPlan.objects.count() == 0
    r = api_client(chain.region_km).post("/api/v1/transfer-plans", {}, idempotency_key="p")
    assert r.status_code == 201
    plan_id = r.json()["id"]
    assert api_client(chain.region_dl).get(f"/api/v1/transfer-plans/{plan_id}").status_code == 404
    assert api_client(chain.m1).get(f"/api/v1/transfer-plans/{plan_id}").status_code == 404
    assert api_client(chain.region_dl).post(f"/api/v1/transfer-plans/{plan_id}/accept").status_code == 404
    assert TransferPlan.objects.get().status == "proposed"
    assert api_client(chain.hq).post("/api/v1/transfer-plans", {}).status_code == 400  # Idempotency-Key


def test_excluded_locations_and_unknown_codes(chain, api_client):
    _stock(chain)
    hq = api_client(chain.hq)
    r = hq.post("/api/v1/transfer-plans", {"region": "KM", "excluded_locations": ["KM001"]}, idempotency_key="e1")
    assert r.status_code == 201
    assert {m["from_location"] for m in r.json()["moves"]} == {"KM003"}
    r = hq.post("/api/v1/transfer-plans", {"excluded_skus": ["NOPE"]}, idempotency_key="e2")
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "excluded_skus"


def test_sourcing_proposes_the_location_that_holds_every_line(chain, api_client):
    _stock(chain)
    r = api_client(chain.m2).post("/api/v1/sourcing", {"location": "KM002", "lines": [
        {"sku": "A001", "quantity": 4}, {"sku": "B001", "quantity": 2}]})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["shortfall"] == {"A001": 4, "B001": 2}
    assert body["sources"] == ["KM001"] and body["short_units"] == 0
    assert {(o["from_location"]["code"], o["sku"], o["quantity"]) for o in body["options"]} == {
        ("KM001", "A001", 4), ("KM001", "B001", 2)}
    assert api_client(chain.m3).post("/api/v1/sourcing", {"location": "KM002", "lines": [
        {"sku": "A001", "quantity": 4}]}).status_code == 404


def test_routes_are_empty_on_a_day_without_shipments(chain, api_client):
    r = api_client(chain.m1).get("/api/v1/routes", date="2020-01-01")
    assert r.status_code == 200
    assert r.json()["transfers"] == 0 and r.json()["routes"] == []
