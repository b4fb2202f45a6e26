"""The analytics API: sales at each level of the drill-down and the pivot, per role and scope; and a
POS sale made through the API that shows up on the store's figures once the outbox is delivered."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from mendian.analytics.selectors import store_figures
from mendian.core.timeutil import local_date
from mendian.platform.outbox import outbox_deliver

from .chain import deliver, online_order, pos_sale
from .test_rollups import local

PERIOD = {"from": "2026-03-01", "to": "2026-03-31"}


@pytest.fixture
def sold(chain):
    u = chain.users
    pos_sale(chain, u["cashier_km1"], chain.km1, [("S001", 2), ("S003", 1)], at=local(2026, 3, 10, 9, 30))  # 34.90
    pos_sale(chain, u["manager_km2"], chain.km2, [("S003", 4)], at=local(2026, 3, 10, 12, 0))  # 39.60
    online_order(u["hq"], chain.dl1, [("S002", 2), ("S004", 1)], at=local(2026, 3, 12, 15, 0))  # 13.77
    pos_sale(chain, u["cashier_km1"], chain.km1, [("S002", 1)], at=local(2025, 3, 10, 9, 30))  # last year: 3.00
    deliver()
    return chain


def amounts(body) -> dict[str, str]:
    return {r["code"]: r["measures"]["amount"] for r in body["items"]}


def test_hq_drills_from_the_chain_to_a_sku(sold, api_client):
    c = api_client(sold.users["hq"])
    r = c.get("/api/v1/analytics/sales", **PERIOD)
    assert r.status_code == 200, r.json()
    body = r.json()
    assert (body["level"], body["from"], body["to"]) == ("chain", "2026-03-01", "2026-03-31")
    assert body["total"]["measures"]["amount"] == "88.27" and body["total"]["last_year_amount"] == "3.00"
    assert body["total"]["measures"]["transactions"] == 3 and body["total"]["measures"]["atv"] == "29.42"
    assert amounts(body) == {"KM": "74.50", "DL": "13.77"} and body["count"] == 2
    km = next(x for x in body["items"] if x["code"] == "KM")
    assert km["last_year_amount"] == "3.00" and km["yoy"] == "23.8333"
    body = c.get("/api/v1/analytics/sales", level="region", code="KM", **PERIOD).json()
    assert amounts(body) == {"KM001": "34.90", "KM002": "39.60"}
    body = c.get("/api/v1/analytics/sales", level="store", code="KM001", **PERIOD).json()
    assert amounts(body) == {"FOOD": "25.00", "DRINK": "9.90"} and body["total"]["measures"]["amount"] == "34.90"
    body = c.get("/api/v1/analytics/sales", level="category", code="FOOD", store="KM001", **PERIOD).json()
    assert amounts(body) == {"SNACK": "25.00"}
    body = c.get("/api/v1/analytics/sales", level="category", code="SNACK", store="KM001", **PERIOD).json()
    assert amounts(body) == {"S001": "25.00", "S002": "0.00"}  # S002 sold there last year only
    assert {r["code"]: r["last_year_amount"] for r in body["items"]} == {"S001": "0.00", "S002": "3.00"}
    body = c.get("/api/v1/analytics/sales", level="sku", code="S003", **PERIOD).json()
    assert amounts(body) == {"KM001": "9.90", "KM002": "39.60"} and body["total"]["measures"]["quantity"] == 5


def test_a_store_manager_sees_their_store_only(sold, api_client):
    c = api_client(sold.users["manager_km1"])
    body = c.get("/api/v1/analytics/sales", **PERIOD).json()
    assert body["total"]["measures"]["amount"] == "34.90" and amounts(body) == {"KM": "34.90"}
    assert c.get("/api/v1/analytics/sales", level="store", code="KM001", **PERIOD).status_code == 200
    for params in ({"level": "store", "code": "KM002"}, {"level": "region", "code": "DL"},
                   {"level": "sku", "code": "S003", "store": "KM002"}, {"level": "store", "code": "NOPE"}):
        r = c.get("/api/v1/analytics/sales", **params, **PERIOD)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", params
    body = c.get("/api/v1/analytics/sales", level="sku", code="S003", **PERIOD).json()
    assert amounts(body) == {"KM001": "9.90"}  # never another store's row
    body = c.get("/api/v1/analytics/pivot", rows="store", **PERIOD).json()
    assert body["rows"] == ["KM001"] and body["total"]["amount"] == "34.90"
    assert c.get("/api/v1/analytics/pivot", rows="store", store="DL001", **PERIOD).status_code == 404


def test_a_regional_director_sees_their_region(sold, api_client):
    c = api_client(sold.users["region_km"])
    body = c.get("/api/v1/analytics/sales", **PERIOD).json()
    assert amounts(body) == {"KM": "74.50"}
    assert amounts(c.get("/api/v1/analytics/sales", level="region", code="KM", **PERIOD).json()) == {
        "KM001": "34.90", "KM002": "39.60"}
    assert c.get("/api/v1/analytics/sales", level="region", code="DL", **PERIOD).status_code == 404
    assert c.get("/api/v1/analytics/sales", level="store", code="DL001", **PERIOD).status_code == 404


def test_pivot_by_two_dimensions(sold, api_client):
    c = api_client(sold.users["buyer"])
    body = c.get("/api/v1/analytics/pivot", rows="store", cols="category", **PERIOD).json()
    cells = {(i["row"], i["col"]): i["measures"]["amount"] for i in body["items"]}
    assert cells == {("KM001", "SNACK"): "25.00", ("KM001", "DRINK"): "9.90", ("KM002", "DRINK"): "39.60",
                     ("DL001", "SNACK"): "6.00", ("DL001", "DRINK"): "7.77"}
    assert body["total"]["amount"] == "88.27" and body["count"] == 5
    body = c.get("/api/v1/analytics/pivot", rows="day", **PERIOD).json()
    assert body["rows"] == ["2026-03-10", "2026-03-12"]


@pytest.mark.parametrize("params,field", [
    ({"level": "planet"}, "level"), ({"level": "store"}, "code"),
    ({"from": "2026-03-31", "to": "2026-03-01"}, "from"),
])
def test_bad_queries_are_422(sold, api_client, params, field):
    r = api_client(sold.users["hq"]).get("/api/v1/analytics/sales", **params)
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == field


def test_pivot_refuses_hour_by_sku(sold, api_client):
    r = api_client(sold.users["hq"]).get("/api/v1/analytics/pivot", rows="hour", cols="sku", **PERIOD)
    assert r.status_code == 422
    assert api_client().get("/api/v1/analytics/sales").status_code == 401


def test_a_pos_sale_through_the_api_shows_up_on_the_store_dashboard(chain, api_client):
    """Make a sale as a cashier would, deliver the outbox as the worker does, and see the store's
    figures of today (the store dashboard's, and the API's) grow by exactly the sale's amount."""
    import mendian.analytics.subscribers  # noqa: F401  (registers the subscriber, as the worker does)

    today = local_date()
    cashier = chain.users["cashier_km1"]
    pos_sale(chain, cashier, chain.km1, [("S004", 1)])  # an earlier sale of today, already on the dashboard
    deliver()

    def figures():
        f = store_figures(store_id=chain.km1.pk, area_m2=chain.km1.area_m2, start=today, end=today, today=today)
        api = api_client(chain.users["manager_km1"]).get("/api/v1/analytics/sales", level="store", code="KM001",
                                                          **{"from": today.isoformat(), "to": today.isoformat()})
        return f.today.amount, f.today.transactions, f.today.quantity, api.json()["total"]["measures"]["amount"]

    before = figures()
    assert before == (D("7.77"), 1, 1, "7.77")
    r = api_client(cashier).post("/api/v1/orders", {
        "store": "KM001", "channel": "pos", "lines": [{"sku": "S001", "quantity": 3}, {"sku": "S002", "quantity": 2}],
        "tenders": [{"method": "cash", "amount": "100.00", "reference": ""}]}, idempotency_key="dash-1")
    assert r.status_code == 201, r.json()
    sale = D(r.json()["total"])
    assert sale == D("43.50")
    assert figures() == before  # not inside the checkout: the dashboard moves when the outbox is delivered
    res = outbox_deliver()
    assert res.delivered >= 1 and res.failed == 0
    after = figures()
    assert after[0] - before[0] == sale and after[1:3] == (2, 6)
    assert D(after[3]) - D(before[3]) == sale
    assert outbox_deliver().delivered == 0 and figures() == after  # nothing is counted twice
