from decimal import Decimal

import pytest
from django.test import Client

from mendian.catalog.models import Barcode, PriceChange, Sku, StorePrice
from mendian.org.services import user_grant_role
from mendian.org.tests.factories import UserFactory
from mendian.platform.models import AuditEntry, OutboxEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(chain):
    ops = UserFactory(username="ops")
    user_grant_role(actor="root", user=ops, role="hq")
    c = Client()
    c.force_login(ops)
    return c


def test_a_price_change_added_in_the_admin_is_a_real_price_change(admin_client, chain, catalog):
    resp = admin_client.post("/admin/catalog/pricechange/add/", {
        "sku": catalog.cola.pk, "location": chain.km001.pk, "new_price": "3.30",
        "valid_from_0": "2026-01-01", "valid_from_1": "00:00:00", "valid_to_0": "", "valid_to_1": ""})
    assert resp.status_code == 302, resp.content[:3000]
    assert StorePrice.objects.get(sku=catalog.cola, location=chain.km001).price == Decimal("3.30")
    assert PriceChange.objects.get(location=chain.km001).changed_by.username == "ops"
    assert OutboxEvent.objects.filter(topic="price.changed", partition="KM001").count() == 1
    assert AuditEntry.objects.filter(action="price.change", actor="ops").count() == 1


def test_the_admin_refuses_a_bad_price_change_with_a_form_error(admin_client, chain, catalog):
    resp = admin_client.post("/admin/catalog/pricechange/add/", {
        "sku": catalog.cola.pk, "location": chain.wh01.pk, "new_price": "3.30",
        "valid_from_0": "", "valid_from_1": "", "valid_to_0": "", "valid_to_1": ""})
    assert resp.status_code == 200 and "not a store" in resp.content.decode()
    assert not StorePrice.objects.exists()


def test_the_admin_refuses_a_barcode_with_a_wrong_check_digit(admin_client, catalog):
    sku = catalog.water
    page = admin_client.get(f"/admin/catalog/sku/{sku.pk}/change/")
    assert page.status_code == 200
    data = {"product": sku.product_id, "name": sku.name, "attributes": "{}", "status": "active", "vat_rate": "13.00",
            "unit": "piece", "price_unit_qty": "1", "pack_size": "1", "plu": "", "volume_ml": "0",
            "barcodes-TOTAL_FORMS": "2", "barcodes-INITIAL_FORMS": "1", "barcodes-MIN_NUM_FORMS": "0",
            "barcodes-MAX_NUM_FORMS": "1000",
            "barcodes-0-id": sku.barcodes.get().pk, "barcodes-0-sku": sku.pk, "barcodes-0-code": "6920000000012",
            "barcodes-0-kind": "ean13",
            "barcodes-1-sku": sku.pk, "barcodes-1-code": "6920000000013", "barcodes-1-kind": "ean13",
            "store_prices-TOTAL_FORMS": "0", "store_prices-INITIAL_FORMS": "0"}
    resp = admin_client.post(f"/admin/catalog/sku/{sku.pk}/change/", data)
    assert resp.status_code == 200 and "check digit" in resp.content.decode()
    assert list(Barcode.objects.filter(sku=sku).values_list("code", flat=True)) == ["6920000000012"]
    data["barcodes-1-code"] = "6920000000029"
    data["name"] = "矿泉水 550ml 新"
    resp = admin_client.post(f"/admin/catalog/sku/{sku.pk}/change/", data)
    assert resp.status_code == 302, resp.content.decode()[:3000]
    assert sorted(Barcode.objects.filter(sku=sku).values_list("code", flat=True)) == ["6920000000012", "6920000000029"]
    assert Sku.objects.get(pk=sku.pk).name == "矿泉水 550ml 新"
    assert set(AuditEntry.objects.filter(object_type="sku").values_list("action", flat=True)) == {
        "sku.update", "sku.barcode_add"}


def test_adding_a_sku_in_the_admin_goes_through_the_service(admin_client, catalog):
    data = {"code": "NEW-1", "product": catalog.cola.product_id, "name": "新品", "attributes": "{}",
            "status": "active", "vat_rate": "13.00", "unit": "piece", "price_unit_qty": "1", "list_price": "8.80",
            "pack_size": "6", "plu": "", "volume_ml": "0",
            "barcodes-TOTAL_FORMS": "1", "barcodes-INITIAL_FORMS": "0", "barcodes-MIN_NUM_FORMS": "0",
            "barcodes-MAX_NUM_FORMS": "1000", "barcodes-0-code": "6901234567809", "barcodes-0-kind": "ean13",
            "store_prices-TOTAL_FORMS": "0", "store_prices-INITIAL_FORMS": "0"}
    bad = admin_client.post("/admin/catalog/sku/add/", {**data, "vat_rate": "12.00"})
    assert bad.status_code == 200 and not Sku.objects.filter(code="NEW-1").exists()
    resp = admin_client.post("/admin/catalog/sku/add/", data)
    assert resp.status_code == 302, resp.content.decode()[:3000]
    sku = Sku.objects.get(code="NEW-1")
    assert sku.list_price == Decimal("8.80") and sku.pack_size == 6
    assert list(sku.barcodes.values_list("code", flat=True)) == ["6901234567809"]
    assert PriceChange.objects.get(sku=sku).new_price == Decimal("8.80")
    assert AuditEntry.objects.filter(object_ref="NEW-1", action="sku.create").count() == 1
