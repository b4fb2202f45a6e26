from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from mendian.catalog.tests.factories import SkuFactory
from mendian.inventory.models import LostDemand
from mendian.inventory.services import ReceiptLine, stock_receive
from mendian.org.models import Location, Region
from mendian.org.tests.factories import LocationFactory, RegionFactory, user_with_role


class Chain:
    """Two regions: KM (KM001, KM002, KM003, warehouse WH01) and DL (DL001); one transit location."""

    def __init__(self) -> None:
        hq = RegionFactory(code="HQ", level=Region.Level.HQ)
        self.km = RegionFactory(code="KM", parent=hq)
        self.dl = RegionFactory(code="DL", parent=hq)

        def loc(code, region, lat, lon, kind=Location.Kind.STORE, **kw):
            return LocationFactory(code=code, region=region, kind=kind, latitude=Decimal(str(lat)),
                                   longitude=Decimal(str(lon)), opens_at=dt.time(8), closes_at=dt.time(22), **kw)

        self.km001 = loc("KM001", self.km, 25.0406, 102.7123)
        self.km002 = loc("KM002", self.km, 25.0606, 102.7323)
        self.km003 = loc("KM003", self.km, 25.0206, 102.6923)
        self.wh01 = loc("WH01", self.km, 25.1200, 102.6300, kind=Location.Kind.WAREHOUSE)
        self.dl001 = loc("DL001", self.dl, 25.6065, 100.2676)
        self.transit = LocationFactory(code="TRANSIT", region=hq, kind=Location.Kind.TRANSIT, latitude=None,
                                       longitude=None)
        self.sku_a = SkuFactory(code="A001", pack_size=1)
        self.sku_b = SkuFactory(code="B001", pack_size=1)
        self.hq = user_with_role("hq", username="hq")
        self.region_km = user_with_role("region", username="region.KM", region=self.km)
        self.region_dl = user_with_role("region", username="region.DL", region=self.dl)
        self.m1 = user_with_role("store_manager", username="manager.KM001", location=self.km001)
        self.m2 = user_with_role("store_manager", username="manager.KM002", location=self.km002)
        self.m3 = user_with_role("store_manager", username="manager.KM003", location=self.km003)
        self.cashier1 = user_with_role("cashier", username="cashier.KM001", location=self.km001)

    def receive(self, loc: Location, sku, qty: int, cost: str = "4.00") -> None:
        stock_receive(location_id=loc.pk, lines=[ReceiptLine(sku.pk, qty, Decimal(cost))], doc_type="test",
                      doc_ref="OPEN", user_id=None)

    def lost(self, loc: Location, sku, qty: int) -> None:
        LostDemand.objects.create(location=loc, sku=sku, quantity=qty, channel="online", created_at=timezone.now())


@pytest.fixture
def chain(db) -> Chain:
    return Chain()
