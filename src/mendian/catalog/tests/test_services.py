import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from mendian.catalog import services
from mendian.catalog.models import Barcode, PriceChange, Sku, StorePrice
from mendian.catalog.pricing import price_at
from mendian.catalog.services import (
    barcode_add,
    list_prices_apply_due,
    price_change,
    sku_create,
    sku_update,
)
from mendian.catalog.tests.factories import ProductFactory
from mendian.core.errors import Conflict, InvalidInput
from mendian.platform.jobs import job_run_if_due
from mendian.platform.models import AuditEntry, OutboxEvent
from mendian.platform.worker import discover

pytestmark = pytest.mark.django_db


def test_a_list_price_change_writes_price_history_audit_and_event(chain, catalog):
    hq = chain.users["hq"]
    change = price_change(sku=catalog.cola, new_price=Decimal("3.80"), user=hq)
    assert Sku.objects.get(pk=catalog.cola.pk).list_price == Decimal("3.80")
    assert (change.location, change.old_price, change.new_price, change.changed_by) == (None, Decimal("3.50"),
                                                                                         Decimal("3.80"), hq)
    assert change.applied_at is not None
    audit = AuditEntry.objects.get(action="price.change")
    assert (audit.actor, audit.object_type, audit.object_ref) == ("hq", "sku", "COLA330")
    assert audit.before == {"location": None, "price": "3.50"} and audit.after["price"] == "3.80"
    event = OutboxEvent.objects.get(topic="price.changed")
    assert event.partition == "" and event.payload["sku"] == "COLA330"
    assert (event.payload["old_price"], event.payload["new_price"], event.payload["change_id"]) == (
        "3.50", "3.80", change.pk)


def test_a_store_override_takes_its_old_price_from_what_applies_there(chain, catalog):
    hq = chain.users["hq"]
    first = price_change(sku=catalog.cola, new_price="3.20", location=chain.km001, user=hq)
    second = price_change(sku=catalog.cola, new_price="2.99", location=chain.km001, user=hq,
                          valid_to=timezone.now() + dt.timedelta(days=3))
    assert first.old_price == Decimal("3.50") and second.old_price == Decimal("3.20")
    assert price_at(location_id=chain.km001.pk, sku_code="COLA330").price == Decimal("2.99")
    assert price_at(location_id=chain.km001.pk, sku_code="COLA330",
                    at=timezone.now() + dt.timedelta(days=4)).price == Decimal("3.20")
    assert price_at(location_id=chain.dl001.pk, sku_code="COLA330").price == Decimal("3.50")
    assert StorePrice.objects.filter(sku=catalog.cola).count() == 2
    assert list(OutboxEvent.objects.values_list("partition", flat=True)) == ["KM001", "KM001"]


def test_a_future_list_price_waits_for_the_job(chain, catalog):
    hq = chain.users["hq"]
    when = timezone.now() + dt.timedelta(hours=1)
    change = price_change(sku=catalog.water, new_price="2.20", valid_from=when, user=hq)
    assert change.applied_at is None
    assert Sku.objects.get(pk=catalog.water.pk).list_price == Decimal("2.00")
    assert list_prices_apply_due() == 0
    assert list_prices_apply_due(now=when + dt.timedelta(seconds=1)) == 1
    assert Sku.objects.get(pk=catalog.water.pk).list_price == Decimal("2.20")
    assert PriceChange.objects.get(pk=change.pk).applied_at is not None
    assert AuditEntry.objects.filter(action="price.apply", object_ref="WATER550").count() == 1
    assert OutboxEvent.objects.filter(topic="price.applied").count() == 1
    assert list_prices_apply_due(now=when + dt.timedelta(minutes=5)) == 0


def test_the_catalog_job_is_registered_and_applies_due_prices(chain, catalog):
    discover()  # as the worker does
    change = price_change(sku=catalog.water, new_price="2.40", valid_from=timezone.now() + dt.timedelta(hours=1))
    PriceChange.objects.filter(pk=change.pk).update(valid_from=timezone.now() - dt.timedelta(seconds=1))
    assert job_run_if_due("catalog.apply_list_prices")
    assert Sku.objects.get(pk=catalog.water.pk).list_price == Decimal("2.40")


def test_a_failure_inside_the_change_leaves_nothing_behind(chain, catalog, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("outbox down")

    monkeypatch.setattr(services, "outbox_publish", broken)
    with pytest.raises(RuntimeError):
        price_change(sku=catalog.cola, new_price="9.99", location=chain.km001, user=chain.users["hq"])
    with pytest.raises(RuntimeError):
        price_change(sku=catalog.cola, new_price="9.99", user=chain.users["hq"])
    assert not StorePrice.objects.exists() and not AuditEntry.objects.exists()
    assert PriceChange.objects.filter(new_price=Decimal("9.99")).count() == 0
    assert Sku.objects.get(pk=catalog.cola.pk).list_price == Decimal("3.50")


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"new_price": "-0.01"}, "price"),
    ({"new_price": "abc"}, "price"),
    ({"new_price": "1.00", "valid_to": timezone.now() - dt.timedelta(days=1), "location": "km001"}, "valid_to"),
    ({"new_price": "1.00", "location": "wh01"}, "location"),
])
def test_invalid_price_changes_are_refused(chain, catalog, kwargs, field):
    if "location" in kwargs:
        kwargs["location"] = getattr(chain, kwargs["location"])
    with pytest.raises(InvalidInput) as exc:
        price_change(sku=catalog.cola, user="hq", **kwargs)
    assert exc.value.details["field"] == field
    assert not OutboxEvent.objects.exists() and not StorePrice.objects.exists()


def test_creating_a_sku_validates_barcodes_and_opens_its_history(chain, catalog):
    product = ProductFactory(code="P-NEW", category=catalog.drinks)
    with pytest.raises(InvalidInput) as exc:
        sku_create(actor="hq", code="NEW1", product=product, name="new", list_price="5.00",
                   barcodes=["6901234567891"])
    assert exc.value.code == "invalid_barcode" and not Sku.objects.filter(code="NEW1").exists()
    with pytest.raises(InvalidInput):
        sku_create(actor="hq", code="NEW1", product=product, name="new", list_price="5.00", vat_rate="12")
    sku = sku_create(actor=chain.users["hq"], code="NEW1", product=product, name="new", list_price="5.00",
                     barcodes=["6901234567809"], unit="g", plu="00077")
    assert sku.price_unit_qty == 1000 and list(sku.barcodes.values_list("code", flat=True)) == ["6901234567809"]
    assert PriceChange.objects.get(sku=sku).new_price == Decimal("5.00")
    entry = AuditEntry.objects.get(action="sku.create")
    assert entry.object_ref == "NEW1" and entry.after["barcodes"] == ["6901234567809"]
    with pytest.raises(Conflict):
        sku_create(actor="hq", code="NEW2", product=product, name="dup", list_price="1.00",
                   barcodes=["6901234567809"])
    assert not Sku.objects.filter(code="NEW2").exists()


def test_updating_a_sku_is_audited_and_prices_are_refused(chain, catalog):
    sku_update(actor="hq", sku=catalog.cola, name="可口可乐 330ml 罐装", status="inactive")
    entry = AuditEntry.objects.get(action="sku.update")
    assert entry.before == {"name": "可口可乐 330ml", "status": "active"}
    assert entry.after == {"name": "可口可乐 330ml 罐装", "status": "inactive"}
    with pytest.raises(InvalidInput):
        sku_update(actor="hq", sku=catalog.cola, list_price=Decimal("1.00"))
    with pytest.raises(InvalidInput):
        sku_update(actor="hq", sku=catalog.cola, plu="12")
    assert Sku.objects.get(pk=catalog.cola.pk).list_price == Decimal("3.50")


def test_barcodes_are_checked_on_save(chain, catalog):
    with pytest.raises(InvalidInput) as exc:
        barcode_add(actor="hq", sku=catalog.cola, code="6901234567891")
    assert exc.value.code == "invalid_barcode"
    with pytest.raises(InvalidInput):
        barcode_add(actor="hq", sku=catalog.cola, code="12345")  # not 13 digits for an EAN-13
    barcode_add(actor="hq", sku=catalog.cola, code="A123", kind=Barcode.Kind.INTERNAL)
    with pytest.raises(Conflict):
        barcode_add(actor="hq", sku=catalog.water, code="6901234567892")
    assert sorted(catalog.cola.barcodes.values_list("code", flat=True)) == ["6901234567892", "A123"]
    assert AuditEntry.objects.filter(action="sku.barcode_add").count() == 1
