import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from mendian.catalog.domain import scale_barcode_make
from mendian.catalog.models import PriceChange, Sku, StorePrice
from mendian.catalog.services import price_change
from mendian.catalog.tests.factories import SkuFactory
from mendian.platform.models import AuditEntry, OutboxEvent

pytestmark = pytest.mark.django_db

ROLES = ["hq", "buyer", "region.KM", "region.DL", "manager.KM001", "cashier.KM001"]


def codes(resp):
    assert resp.status_code == 200, resp.content
    return [i["code"] for i in resp.json()["items"]]


@pytest.mark.parametrize("username", ROLES)
def test_every_role_reads_the_catalog(chain, catalog, api_client, username):
    client = api_client(chain.users[username])
    assert codes(client.get("/api/v1/skus")) == ["APPLE-FUJI", "COLA330", "SHIRT-M", "WATER550"]
    assert client.get("/api/v1/skus/COLA330").status_code == 200
    assert client.get("/api/v1/barcodes/6901234567892").status_code == 200
    assert client.get("/api/v1/categories").status_code == 200


def test_a_sku_has_the_documented_shape(chain, catalog, api_client):
    items = api_client(chain.users["cashier.KM001"]).get("/api/v1/skus", q="COLA").json()["items"]
    assert items == [{
        "code": "COLA330", "name": "可口可乐 330ml", "product": "P-COLA", "product_name": items[0]["product_name"],
        "category": "DRINK", "brand": "KO", "attributes": {"volume": "330ml"}, "barcodes": ["6901234567892"],
        "price": "3.50", "vat_rate": "13.00", "unit": "piece", "price_unit_qty": 1, "lot_tracked": False,
        "status": "active", "pack_size": 1, "plu": None,
    }]


def test_filters_q_by_code_name_or_barcode_category_with_children_and_status(chain, catalog, api_client):
    client = api_client(chain.users["hq"])
    assert codes(client.get("/api/v1/skus", q="water")) == ["WATER550"]
    assert codes(client.get("/api/v1/skus", q="苹果")) == ["APPLE-FUJI"]
    assert codes(client.get("/api/v1/skus", q="6920000000012")) == ["WATER550"]
    assert codes(client.get("/api/v1/skus", category="GROC")) == ["COLA330", "WATER550"]  # via DRINK below it
    assert codes(client.get("/api/v1/skus", category="FRESH")) == ["APPLE-FUJI"]
    assert codes(client.get("/api/v1/skus", status="inactive")) == ["SHIRT-M"]
    assert codes(client.get("/api/v1/skus", category="GROC", q="cola")) == ["COLA330"]
    resp = client.get("/api/v1/skus", category="NOPE")
    assert resp.status_code == 422 and resp.json()["error"]["details"]["field"] == "category"
    assert client.get("/api/v1/skus", status="sold").status_code == 422


def test_limit_and_offset(chain, catalog, api_client):
    client = api_client(chain.users["hq"])
    page = client.get("/api/v1/skus", limit=2, offset=1).json()
    assert page["count"] == 4 and [i["code"] for i in page["items"]] == ["COLA330", "SHIRT-M"]
    assert client.get("/api/v1/skus", limit=501).status_code == 422


def test_the_sku_list_costs_the_same_few_queries_for_any_page(chain, catalog, api_client,
                                                              django_assert_num_queries):
    for i in range(40):
        SkuFactory(code=f"X{i:03d}")
    client = api_client(chain.users["hq"])
    # user (from the token), count, the page with product/category/brand joined, the barcodes
    with django_assert_num_queries(4):
        resp = client.get("/api/v1/skus", limit=100)
    assert len(resp.json()["items"]) == 44
    with django_assert_num_queries(4):
        client.get("/api/v1/skus", limit=5)


def test_the_sku_detail_shows_history_and_overrides_in_scope(chain, catalog, api_client):
    hq = chain.users["hq"]
    price_change(sku=catalog.cola, new_price="3.80", user=hq)
    price_change(sku=catalog.cola, new_price="3.20", location=chain.km001, user=hq)
    price_change(sku=catalog.cola, new_price="3.00", location=chain.dl001, user=hq,
                 valid_to=timezone.now() + dt.timedelta(days=7))
    body = api_client(hq).get("/api/v1/skus/COLA330").json()
    assert body["price"] == "3.80"
    assert [(h["location"], h["old_price"], h["new_price"]) for h in body["price_history"]] == [
        ("DL001", "3.80", "3.00"), ("KM001", "3.80", "3.20"), (None, "3.50", "3.80")]
    assert [(p["location"], p["price"]) for p in body["store_prices"]] == [("DL001", "3.00"), ("KM001", "3.20")]
    mine = api_client(chain.users["manager.KM001"]).get("/api/v1/skus/COLA330", location="KM001").json()
    assert [(p["location"], p["price"]) for p in mine["store_prices"]] == [("KM001", "3.20")]
    assert {h["location"] for h in mine["price_history"]} == {None, "KM001"}
    assert mine["effective_price"] == "3.20"
    assert api_client(chain.users["manager.KM001"]).get("/api/v1/skus/COLA330", location="DL001").status_code == 404


def test_an_unknown_sku_is_404(chain, catalog, api_client):
    resp = api_client(chain.users["hq"]).get("/api/v1/skus/NOPE")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"


def test_a_barcode_resolves_to_its_sku(chain, catalog, api_client):
    body = api_client(chain.users["cashier.KM001"]).get("/api/v1/barcodes/6901234567892").json()
    assert (body["barcode"], body["kind"], body["sku"]["code"], body["weight_g"], body["price"]) == (
        "6901234567892", "ean13", "COLA330", None, None)


def test_a_wrong_check_digit_is_422_invalid_barcode(chain, catalog, api_client):
    resp = api_client(chain.users["cashier.KM001"]).get("/api/v1/barcodes/6901234567891")
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_barcode"


def test_an_unknown_barcode_is_404(chain, catalog, api_client):
    client = api_client(chain.users["cashier.KM001"])
    assert client.get("/api/v1/barcodes/6901234567809").status_code == 404
    assert client.get("/api/v1/barcodes/abc").status_code == 404


def test_a_weight_scale_label_resolves_by_plu_with_its_weight(chain, catalog, api_client):
    code = scale_barcode_make(plu="00042", weight_g=455)
    body = api_client(chain.users["cashier.KM001"]).get(f"/api/v1/barcodes/{code}").json()
    assert (body["kind"], body["sku"]["code"], body["weight_g"], body["price"]) == (
        "scale_weight", "APPLE-FUJI", 455, None)
    assert body["sku"]["unit"] == "g" and body["sku"]["price_unit_qty"] == 1000


def test_a_price_scale_label_resolves_by_plu_with_its_price(chain, catalog, api_client):
    code = scale_barcode_make(plu="00042", price_fen=1174)
    body = api_client(chain.users["cashier.KM001"]).get(f"/api/v1/barcodes/{code}").json()
    assert (body["kind"], body["sku"]["code"], body["weight_g"], body["price"]) == (
        "scale_price", "APPLE-FUJI", None, "11.74")


def test_a_scale_label_of_an_unknown_plu_is_404_and_a_broken_one_422(chain, catalog, api_client):
    client = api_client(chain.users["cashier.KM001"])
    assert client.get(f"/api/v1/barcodes/{scale_barcode_make(plu='00099', weight_g=100)}").status_code == 404
    bad = scale_barcode_make(plu="00042", weight_g=100)
    bad = bad[:-1] + str((int(bad[-1]) + 1) % 10)
    assert client.get(f"/api/v1/barcodes/{bad}").status_code == 422


def test_categories_come_as_a_tree(chain, catalog, api_client):
    body = api_client(chain.users["cashier.KM001"]).get("/api/v1/categories").json()
    assert body == [
        {"code": "APP", "name": "服装", "children": []},
        {"code": "FRESH", "name": "生鲜", "children": []},
        {"code": "GROC", "name": "食品", "children": [{"code": "DRINK", "name": "饮料", "children": []}]},
    ]


def test_hq_changes_a_store_price_through_the_api_with_history_audit_and_event(chain, catalog, api_client):
    client = api_client(chain.users["hq"])
    resp = client.post("/api/v1/prices", {"sku": "COLA330", "location": "KM001", "price": "3.20"},
                       idempotency_key="p-1")
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["location"], body["old_price"], body["new_price"], body["changed_by"], body["applied"]) == (
        "KM001", "3.50", "3.20", "hq", True)
    assert StorePrice.objects.get(sku=catalog.cola, location=chain.km001).price == Decimal("3.20")
    assert Sku.objects.get(code="COLA330").list_price == Decimal("3.50")  # the list price did not move
    assert AuditEntry.objects.filter(action="price.change", object_ref="COLA330").count() == 1
    event = OutboxEvent.objects.get(topic="price.changed")
    assert event.partition == "KM001" and event.payload["new_price"] == "3.20"
    # the same key again replays, and makes nothing new
    again = client.post("/api/v1/prices", {"sku": "COLA330", "location": "KM001", "price": "3.20"},
                        idempotency_key="p-1")
    assert again.status_code == 201 and again.json() == body
    assert StorePrice.objects.count() == 1 and OutboxEvent.objects.count() == 1
    different = client.post("/api/v1/prices", {"sku": "COLA330", "location": "KM001", "price": "3.10"},
                            idempotency_key="p-1")
    assert different.status_code == 422 and StorePrice.objects.count() == 1


@pytest.mark.parametrize("username", ["buyer", "region.KM", "manager.KM001", "cashier.KM001"])
def test_only_hq_changes_prices(chain, catalog, api_client, username):
    resp = api_client(chain.users[username]).post("/api/v1/prices",
                                                  {"sku": "COLA330", "location": "KM001", "price": "1.00"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"
    assert not StorePrice.objects.exists() and PriceChange.objects.filter(location__isnull=False).count() == 0
    assert Sku.objects.get(code="COLA330").list_price == Decimal("3.50")
    assert not OutboxEvent.objects.exists() and not AuditEntry.objects.exists()


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"sku": "NOPE", "price": "1.00"}, 422, "sku"),
    ({"sku": "COLA330", "location": "XX1", "price": "1.00"}, 422, "location"),
    ({"sku": "COLA330", "location": "WH01", "price": "1.00"}, 422, "location"),
    ({"sku": "COLA330", "price": "-1.00"}, 422, "price"),
    ({"sku": "COLA330", "price": "1.001"}, 422, "price"),
    ({"sku": "COLA330", "price": "1.00", "valid_to": "2030-01-01T00:00:00+08:00"}, 422, "valid_to"),
    ({"sku": "COLA330"}, 422, "price"),
])
def test_bad_price_changes_are_422_naming_the_field_and_write_nothing(chain, catalog, api_client, body, status,
                                                                      field):
    resp = api_client(chain.users["hq"]).post("/api/v1/prices", body)
    assert resp.status_code == status, resp.content
    details = resp.json()["error"]["details"]
    named = details.get("field") if isinstance(details, dict) else [d["field"] for d in details]
    assert field == named or field in named
    assert not StorePrice.objects.exists() and not OutboxEvent.objects.exists()
    assert Sku.objects.get(code="COLA330").list_price == Decimal("3.50")
