import datetime as dt
from decimal import Decimal

import pytest

from mendian.catalog.tests.factories import SkuFactory
from mendian.org.tests.factories import LocationFactory
from mendian.planning.models import ReplenishmentParameter
from mendian.planning.selectors import ParamLookup
from mendian.purchasing.models import Supplier, SupplierSku

pytestmark = pytest.mark.django_db


def test_lead_time_comes_from_the_preferred_supplier_when_no_parameter_is_set():
    store, sku, other = LocationFactory(), SkuFactory(), SkuFactory()
    slow = Supplier.objects.create(code="SLOW", name="slow", lead_time_days=Decimal("12"),
                                   lead_time_std_days=Decimal("2.5"), review_period_days=Decimal("14"))
    fast = Supplier.objects.create(code="FAST", name="fast", lead_time_days=Decimal("3"))
    SupplierSku.objects.create(supplier=slow, sku=sku, cost_price=Decimal("1"), rank=1)
    SupplierSku.objects.create(supplier=fast, sku=sku, cost_price=Decimal("1"), rank=2)

    params = ParamLookup().get(store.pk, sku.pk)
    assert (params.lead_time_days, params.lead_time_std_days, params.review_period_days) == (12.0, 2.5, 14.0)
    assert params.source == "supplier:SLOW"
    assert ParamLookup().get(store.pk, other.pk).source == "default"


def test_a_parameter_row_wins_over_the_supplier():
    store, sku = LocationFactory(), SkuFactory()
    supplier = Supplier.objects.create(code="S1", name="s1", lead_time_days=Decimal("12"))
    SupplierSku.objects.create(supplier=supplier, sku=sku, cost_price=Decimal("1"))
    ReplenishmentParameter.objects.create(location=store, sku=sku, lead_time_days=Decimal("2"))
    assert ParamLookup().get(store.pk, sku.pk).lead_time_days == 2.0


def _delivered_order(supplier, location, n: int, *, sent_days_ago: float, lead_days: float):
    from django.utils import timezone

    from mendian.purchasing.models import PurchaseOrder, Receipt

    sent = timezone.now() - dt.timedelta(days=sent_days_ago)
    order = PurchaseOrder.objects.create(number=f"PO-T-{n}", supplier=supplier, location=location,
                                         status=PurchaseOrder.Status.RECEIVED, created_at=sent, sent_at=sent)
    Receipt.objects.create(number=f"GRN-T-{n}", order=order, location=location,
                           received_at=sent + dt.timedelta(days=lead_days))


def test_measured_lead_time_replaces_the_configured_one_after_three_deliveries():
    store, sku = LocationFactory(), SkuFactory()
    supplier = Supplier.objects.create(code="MEAS", name="measured", lead_time_days=Decimal("12"),
                                       lead_time_std_days=Decimal("0"))
    SupplierSku.objects.create(supplier=supplier, sku=sku, cost_price=Decimal("1"))
    _delivered_order(supplier, store, 1, sent_days_ago=60, lead_days=4)
    _delivered_order(supplier, store, 2, sent_days_ago=40, lead_days=6)
    params = ParamLookup().get(store.pk, sku.pk)
    assert (params.lead_time_days, params.source) == (12.0, "supplier:MEAS")  # two deliveries: not yet

    _delivered_order(supplier, store, 3, sent_days_ago=20, lead_days=8)
    params = ParamLookup().get(store.pk, sku.pk)
    assert params.source == "supplier:MEAS:measured"
    assert (params.lead_time_days, params.lead_time_std_days) == (6.0, 2.0)  # mean 6, sample spread 2
