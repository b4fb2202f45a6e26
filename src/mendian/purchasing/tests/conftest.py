"""A small purchasing world: a warehouse and a store, two suppliers with portal users, a planning
policy for one SKU and a hand-set minimum for another."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from mendian.catalog.tests.factories import SkuFactory
from mendian.inventory.tests.factories import receive
from mendian.org.models import Location
from mendian.org.tests.factories import LocationFactory, RegionFactory, UserFactory, user_with_role
from mendian.planning.models import StockPolicy
from mendian.purchasing import services
from mendian.purchasing.selectors import purchasing_access


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def world(db):
    km = RegionFactory(code="KM")
    dc = LocationFactory(code="DC01", region=km, kind=Location.Kind.WAREHOUSE, name="Kunming DC")
    store = LocationFactory(code="KM001", region=km)
    milk = SkuFactory(code="MILK")
    yog = SkuFactory(code="YOG", lot_tracked=True)
    tea = SkuFactory(code="TEA")
    dairy = services.supplier_save(actor="setup", code="DAIRY", name="Dali Dairy", email="orders@dairy.example",
                                   lead_time_days=3, lead_time_std_days=1, review_period_days=7)
    other = services.supplier_save(actor="setup", code="TEAS", name="Pu'er Teas", email="po@teas.example")
    services.supplier_sku_save(actor="setup", supplier_code="DAIRY", sku_id=milk.pk, cost_price=Decimal("3.00"),
                               pack_size=12, moq=24, supplier_item_code="DD-MILK-1L")
    services.supplier_sku_save(actor="setup", supplier_code="DAIRY", sku_id=yog.pk, cost_price=Decimal("4.00"),
                               pack_size=6, supplier_item_code="DD-YOG")
    services.supplier_sku_save(actor="setup", supplier_code="TEAS", sku_id=tea.pk, cost_price=Decimal("20.00"),
                               pack_size=10)
    StockPolicy.objects.create(location=dc, sku=milk, abc="A", service_level=0.98, safety_stock=10,
                               reorder_point=30, order_up_to=100, computed_at=timezone.now())
    services.location_minimum_set(actor="setup", location_id=dc.pk, sku_id=yog.pk, minimum=10, order_up_to=40)
    services.location_minimum_set(actor="setup", location_id=store.pk, sku_id=tea.pk, minimum=5, order_up_to=20)
    receive(dc, milk, 10, "2.50")
    users = {
        "hq": user_with_role("hq", username="hq"),
        "buyer": user_with_role("buyer", username="buyer"),
        "dc_manager": user_with_role("store_manager", username="mgr.DC01", location=dc),
        "store_manager": user_with_role("store_manager", username="mgr.KM001", location=store),
        "region": user_with_role("region", username="region.KM", region=km),
        "cashier": user_with_role("cashier", username="cashier.DC01", location=dc),
        "supplier": UserFactory(username="dairy.portal"),
        "other_supplier": UserFactory(username="teas.portal"),
    }
    services.supplier_user_link(actor="setup", user=users["supplier"], supplier_code="DAIRY")
    services.supplier_user_link(actor="setup", user=users["other_supplier"], supplier_code="TEAS")
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    services.dock_slots_create(actor="setup", location_id=dc.pk, day=tomorrow, start=dt.time(8), end=dt.time(10),
                               slot_minutes=60, capacity=1)
    return {"km": km, "dc": dc, "store": store, "milk": milk, "yog": yog, "tea": tea, "dairy": dairy,
            "other": other, "users": users, "tomorrow": tomorrow}


def access(user):
    return purchasing_access(user)
