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
