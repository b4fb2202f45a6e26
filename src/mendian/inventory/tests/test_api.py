import datetime as dt

import pytest

from mendian.catalog.tests.factories import SkuFactory
from mendian.inventory.models import CountTask, StockCount, StockMovement
from mendian.inventory.services import StockLine, stock_reserve, stock_sell
from mendian.inventory.tests.factories import level, receive
from mendian.org.tests.factories import LocationFactory, RegionFactory, user_with_role
from mendian.platform.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(db):
    km, dl = RegionFactory(code="KM"), RegionFactory(code="DL")
    s1 = LocationFactory(code="KM001", region=km)
    s2 = LocationFactory(code="KM002", region=km)
    s3 = LocationFactory(code="DL001", region=dl)
    milk = SkuFactory(code="MILK")
    yog = SkuFactory(code="YOG", lot_tracked=True)
    for s in (s1, s2, s3):
        receive(s, milk, 10, "3.00")
    receive(s1, yog, 4, lot="B", expiry=dt.date(2099, 2, 1))
    receive(s1, yog, 3, lot="A", expiry=dt.date(2099, 1, 1))
    stock_reserve(location_id=s1.pk, lines=[StockLine(milk.pk, 2)], doc_type="order", doc_ref="O1", user_id=None)
    return {"km": km, "dl": dl, "s1": s1, "s2": s2, "s3": s3, "milk": milk, "yog": yog}


@pytest.fixture
def users(chain):
    return {
        "hq": user_with_role("hq", username="hq"),
        "region": user_with_role("region", username="region.KM", region=chain["km"]),
        "manager": user_with_role("store_manager", username="manager.KM001", location=chain["s1"]),
        "cashier": user_with_role("cashier", username="cashier.KM001", location=chain["s1"]),
        "buyer": user_with_role("buyer", username="buyer"),
    }


def _pairs(body):
    return [(i["location"], i["sku"]) for i in body["items"]]


# --- GET /stock ------------------------------------------------------------------------------------


def test_stock_list_sums_lots_and_lists_them(api_client, chain, users):
    r = api_client(users["hq"]).get("/api/v1/stock", location="KM001")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 2
    milk, yog = body["items"]
    assert (milk["sku"], milk["on_hand"], milk["reserved"], milk["available"], milk["lots"]) == ("MILK", 10, 2, 8, [])
    assert (yog["on_hand"], yog["available"]) == (7, 7)
    assert [(lt["lot"], lt["expiry"], lt["on_hand"]) for lt in yog["lots"]] == [("A", "2099-01-01", 3), ("B", "2099-02-01", 4)]


def test_stock_list_filters_by_sku_and_paginates(api_client, chain, users):
    c = api_client(users["hq"])
    body = c.get("/api/v1/stock", sku="MILK").json()
    assert body["count"] == 3 and _pairs(body) == [("DL001", "MILK"), ("KM001", "MILK"), ("KM002", "MILK")]
    body = c.get("/api/v1/stock", sku="MILK", limit=1, offset=1).json()
    assert body["count"] == 3 and _pairs(body) == [("KM001", "MILK")]


def test_stock_list_is_scoped(api_client, chain, users):
    body = api_client(users["region"]).get("/api/v1/stock", sku="MILK").json()
    assert _pairs(body) == [("KM001", "MILK"), ("KM002", "MILK")]
    body = api_client(users["manager"]).get("/api/v1/stock").json()
    assert {p[0] for p in _pairs(body)} == {"KM001"}
    body = api_client(users["cashier"]).get("/api/v1/stock").json()
    assert body["count"] == 2


def test_stock_list_unknown_or_out_of_scope_location_is_404(api_client, chain, users):
    assert api_client(users["manager"]).get("/api/v1/stock", location="KM002").status_code == 404
    assert api_client(users["region"]).get("/api/v1/stock", location="DL001").status_code == 404
    r = api_client(users["hq"]).get("/api/v1/stock", location="XX999")
    assert r.status_code == 404 and r.json()["error"]["details"]["field"] == "location"
    assert api_client(users["hq"]).get("/api/v1/stock", sku="NOPE").status_code == 404


def test_stock_list_needs_sign_in(api_client, chain):
    assert api_client().get("/api/v1/stock").status_code == 401


def test_stock_list_statement_count_does_not_grow_with_rows(api_client, chain, users, django_assert_max_num_queries):
    c = api_client(users["hq"])
    for _ in range(5):
        s = SkuFactory(lot_tracked=True)
        receive(chain["s2"], s, 1, lot="X")
    with django_assert_max_num_queries(8):
        body = c.get("/api/v1/stock").json()
    assert body["count"] == 9


# --- POST /stock/adjustments -----------------------------------------------------------------------


def adj(**kw):
    body = {"location": "KM001", "sku": "MILK", "delta": -2, "reason": "damage", "note": "broken"}
    body.update(kw)
    return body


@pytest.mark.parametrize("who", ["hq", "region", "manager"])
def test_adjust_allowed_roles(api_client, chain, users, who):
    r = api_client(users[who]).post("/api/v1/stock/adjustments", adj())
    assert r.status_code == 201, r.content
    assert r.json() | {} == {"location": "KM001", "sku": "MILK", "delta": -2, "reason": "damage", "note": "broken",
                             "on_hand": 8, "reserved": 2, "available": 6, "lots": [{"lot": None, "quantity": -2}]}
    assert level(chain["s1"], chain["milk"]).on_hand == 8
    assert AuditEntry.objects.filter(action="stock.adjust", actor=users[who].username).count() == 1


@pytest.mark.parametrize("who", ["cashier", "buyer"])
def test_adjust_refused_roles_change_nothing(api_client, chain, users, who):
    r = api_client(users[who]).post("/api/v1/stock/adjustments", adj())
    assert r.status_code == 403
    assert level(chain["s1"], chain["milk"]).on_hand == 10
    assert not StockMovement.objects.filter(reason="adjustment").exists()


def test_adjust_out_of_scope_is_404(api_client, chain, users):
    assert api_client(users["manager"]).post("/api/v1/stock/adjustments", adj(location="KM002")).status_code == 404
    assert api_client(users["region"]).post("/api/v1/stock/adjustments", adj(location="DL001")).status_code == 404
    assert level(chain["s2"], chain["milk"]).on_hand == 10


def test_adjust_validation(api_client, chain, users):
    c = api_client(users["hq"])
    r = c.post("/api/v1/stock/adjustments", adj(reason="eaten"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_reason"
    r = c.post("/api/v1/stock/adjustments", adj(sku="NOPE"))
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "sku"
    r = c.post("/api/v1/stock/adjustments", adj(location="XX9"))
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "location"
    assert c.post("/api/v1/stock/adjustments", adj(delta=0)).status_code == 422
    r = c.post("/api/v1/stock/adjustments", adj(delta=-11))
    assert r.status_code == 409 and r.json()["error"]["code"] == "insufficient_stock"
    assert c.post("/api/v1/stock/adjustments", raw="{not json").status_code == 400
    assert level(chain["s1"], chain["milk"]).on_hand == 10
    assert not AuditEntry.objects.filter(action="stock.adjust").exists()


def test_adjust_idempotency_key_replays(api_client, chain, users):
    c = api_client(users["manager"])
    r1 = c.post("/api/v1/stock/adjustments", adj(), idempotency_key="k1")
    r2 = c.post("/api/v1/stock/adjustments", adj(), idempotency_key="k1")
    assert r1.status_code == r2.status_code == 201 and r1.json() == r2.json()
    assert level(chain["s1"], chain["milk"]).on_hand == 8
    assert c.post("/api/v1/stock/adjustments", adj(delta=-1), idempotency_key="k1").status_code == 422


def test_adjust_lot(api_client, chain, users):
    r = api_client(users["hq"]).post("/api/v1/stock/adjustments",
                                     adj(sku="YOG", delta=-1, reason="expired", lot="B"))
    assert r.status_code == 201 and r.json()["lots"] == [{"lot": "B", "quantity": -1}]
    assert level(chain["s1"], chain["yog"], "B").on_hand == 3


# --- POST /stock/counts ----------------------------------------------------------------------------


def test_count_records_variance(api_client, chain, users):
    stock_sell(location_id=chain["s1"].pk, lines=[StockLine(SkuFactory(code="GUM").pk, 1)], doc_type="order",
               doc_ref="P1", user_id=None)
    r = api_client(users["manager"]).post("/api/v1/stock/counts", {
        "location": "KM001", "lines": [{"sku": "MILK", "counted": 7}, {"sku": "GUM", "counted": 0}], "note": "n"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["number"].startswith("CNT-KM001-")
    assert body["lines"] == [{"sku": "MILK", "lot": None, "book": 10, "counted": 7, "variance": -3},
                             {"sku": "GUM", "lot": None, "book": -1, "counted": 0, "variance": 1}]
    assert level(chain["s1"], chain["milk"]).on_hand == 7
    assert not CountTask.objects.filter(status="open").exists()


def test_count_validation_and_roles(api_client, chain, users):
    body = {"location": "KM001", "lines": [{"sku": "MILK", "counted": -1}]}
    assert api_client(users["hq"]).post("/api/v1/stock/counts", body).status_code == 422
    body = {"location": "KM001", "lines": [{"sku": "MILK", "counted": 1}, {"sku": "NOPE", "counted": 1}]}
    r = api_client(users["hq"]).post("/api/v1/stock/counts", body)
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "lines[1].sku"
    body = {"location": "KM001", "lines": [{"sku": "MILK", "counted": 1}]}
    assert api_client(users["cashier"]).post("/api/v1/stock/counts", body).status_code == 403
    assert api_client(users["region"]).post("/api/v1/stock/counts", {**body, "location": "DL001"}).status_code == 404
    assert api_client(users["hq"]).post("/api/v1/stock/counts", {"location": "KM001", "lines": []}).status_code == 422
    assert not StockCount.objects.exists()
    assert level(chain["s1"], chain["milk"]).on_hand == 10


# --- GET /stock/movements, /count-tasks -------------------------------------------------------------


def test_movements_newest_first_and_scoped(api_client, chain, users):
    c = api_client(users["cashier"])
    body = c.get("/api/v1/stock/movements", location="KM001", sku="MILK").json()
    assert body["count"] == 2
    assert [(m["reason"], m["on_hand_delta"], m["reserved_delta"]) for m in body["items"]] == [
        ("reservation", 0, 2), ("receipt", 10, 0)]
    assert body["items"][1]["unit_cost"] == "3.0000"
    assert c.get("/api/v1/stock/movements", location="KM002", sku="MILK").status_code == 404
    assert c.get("/api/v1/stock/movements", location="KM001").status_code == 422
    body = c.get("/api/v1/stock/movements", location="KM001", sku="MILK", limit=1, offset=1).json()
    assert [m["reason"] for m in body["items"]] == ["receipt"]


def test_count_tasks_scoped(api_client, chain, users):
    gum = SkuFactory(code="GUM")
    for s in (chain["s1"], chain["s3"]):
        stock_sell(location_id=s.pk, lines=[StockLine(gum.pk, 1)], doc_type="order", doc_ref="P", user_id=None)
    body = api_client(users["hq"]).get("/api/v1/count-tasks").json()
    assert body["count"] == 2
    body = api_client(users["manager"]).get("/api/v1/count-tasks").json()
    assert [(t["location"], t["sku"], t["status"]) for t in body["items"]] == [("KM001", "GUM", "open")]
    assert api_client(users["manager"]).get("/api/v1/count-tasks", location="DL001").status_code == 404
    body = api_client(users["hq"]).get("/api/v1/count-tasks", location="DL001", status="done").json()
    assert body["count"] == 0


def test_count_idempotency_key_replays_one_count(api_client, chain, users):
    c = api_client(users["manager"])
    body = {"location": "KM001", "lines": [{"sku": "MILK", "counted": 9}]}
    r1 = c.post("/api/v1/stock/counts", body, idempotency_key="c1")
    r2 = c.post("/api/v1/stock/counts", body, idempotency_key="c1")
    assert r1.status_code == r2.status_code == 201
    assert r1.json()["number"] == r2.json()["number"]
    assert StockCount.objects.count() == 1
    assert level(chain["s1"], chain["milk"]).on_hand == 9


def test_count_of_a_lot(api_client, chain, users):
    body = {"location": "KM001", "lines": [{"sku": "YOG", "counted": 1, "lot": "A"}]}
    r = api_client(users["hq"]).post("/api/v1/stock/counts", body)
    assert r.status_code == 201
    assert r.json()["lines"] == [{"sku": "YOG", "lot": "A", "book": 3, "counted": 1, "variance": -2}]
    assert level(chain["s1"], chain["yog"], "A").on_hand == 1
    r = api_client(users["hq"]).post("/api/v1/stock/counts", {"location": "KM001",
                                                             "lines": [{"sku": "YOG", "counted": 1, "lot": "ZZ"}]})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "lot"


# --- the role matrix: who sees and changes which location ----------------------------------------

SEES = {  # user -> (location, visible?)
    "hq": [("KM001", True), ("KM002", True), ("DL001", True)],
    "region": [("KM001", True), ("KM002", True), ("DL001", False)],
    "manager": [("KM001", True), ("KM002", False), ("DL001", False)],
    "cashier": [("KM001", True), ("KM002", False), ("DL001", False)],
    "buyer": [("KM001", True), ("KM002", True), ("DL001", True)],
}
CHANGES = {"hq": True, "region": True, "manager": True, "cashier": False, "buyer": False}


@pytest.mark.parametrize("who", sorted(SEES))
def test_role_matrix_reads(api_client, chain, users, who):
    c = api_client(users[who])
    for code, visible in SEES[who]:
        expected = 200 if visible else 404
        assert c.get("/api/v1/stock", location=code).status_code == expected, (who, code)
        assert c.get("/api/v1/stock/movements", location=code, sku="MILK").status_code == expected, (who, code)
        assert c.get("/api/v1/count-tasks", location=code).status_code == expected, (who, code)
    listed = {i["location"] for i in c.get("/api/v1/stock", sku="MILK").json()["items"]}
    assert listed == {code for code, visible in SEES[who] if visible}


@pytest.mark.parametrize("who", sorted(SEES))
def test_role_matrix_counts(api_client, chain, users, who):
    c = api_client(users[who])
    for code, visible in SEES[who]:
        r = c.post("/api/v1/stock/counts", {"location": code, "lines": [{"sku": "MILK", "counted": 10}]})
        expected = (201 if CHANGES[who] else 403) if visible else 404
        assert r.status_code == expected, (who, code, r.content)
    assert StockCount.objects.count() == sum(1 for _c, v in SEES[who] if v and CHANGES[who])
