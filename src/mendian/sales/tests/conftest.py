"""A small chain for sales tests: two regions, three stores, a warehouse, SKUs with stock, users of
every role."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from mendian.catalog.tests.factories import SkuFactory
from mendian.inventory.tests.factories import receive
from mendian.org.models import Location
from mendian.org.tests.factories import LocationFactory, RegionFactory, user_with_role
from mendian.sales.services import shift_open


@dataclass
class Chain:
    km: object
    dl: object
    km1: object
    km2: object
    dl1: object
    wh: object
    skus: list
    users: dict


@pytest.fixture
def chain(db) -> Chain:
    km = RegionFactory(code="KM", name="Kunming")
    dl = RegionFactory(code="DL", name="Dali")
    km1 = LocationFactory(code="KM001", region=km)
    km2 = LocationFactory(code="KM002", region=km)
    dl1 = LocationFactory(code="DL001", region=dl)
    wh = LocationFactory(code="WH01", region=km, kind=Location.Kind.WAREHOUSE)
    prices = ["12.50", "3.00", "9.90", "1.00", "25.00", "7.77"]
    skus = [SkuFactory(code=f"S{i:03d}", list_price=Decimal(p), vat_rate=Decimal("13.00") if i % 2 else Decimal("9.00"))
            for i, p in enumerate(prices, start=1)]
    for store in (km1, km2, dl1):
        for sku in skus:
            receive(store, sku, 100, "4.0000")
    users = {
        "hq": user_with_role("hq", username="hq"),
        "buyer": user_with_role("buyer", username="buyer"),
        "region_km": user_with_role("region", username="region.KM", region=km),
        "region_dl": user_with_role("region", username="region.DL", region=dl),
        "manager_km1": user_with_role("store_manager", username="manager.KM001", location=km1),
        "manager_km2": user_with_role("store_manager", username="manager.KM002", location=km2),
        "cashier_km1": user_with_role("cashier", username="cashier.KM001", location=km1),
        "cashier_km2": user_with_role("cashier", username="cashier.KM002", location=km2),
    }
    return Chain(km=km, dl=dl, km1=km1, km2=km2, dl1=dl1, wh=wh, skus=skus, users=users)


@pytest.fixture
def open_shift():
    def _open(user, store, opening_float: str = "200.00"):
        return shift_open(actor=user, store_id=store.pk, opening_float=Decimal(opening_float))

    return _open
