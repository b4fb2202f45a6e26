from __future__ import annotations

from dataclasses import dataclass

import pytest

from mendian.org.models import Location, Region
from mendian.org.tests.factories import LocationFactory, RegionFactory, UserFactory, user_with_role


@dataclass
class Chain:
    hq_region: Region
    km: Region
    kmn: Region
    dl: Region
    km001: Location
    kmn001: Location
    dl001: Location
    wh01: Location
    users: dict


@pytest.fixture
def chain(db) -> Chain:
    """HQ → KM (→ district KMN) and DL; stores KM001, KMN001 (in the district), DL001; warehouse WH01 in KM."""
    hq = RegionFactory(code="HQ", name="总部", level=Region.Level.HQ)
    km = RegionFactory(code="KM", name="昆明", parent=hq)
    kmn = RegionFactory(code="KMN", name="昆明北", level=Region.Level.DISTRICT, parent=km)
    dl = RegionFactory(code="DL", name="大理", parent=hq)
    km001 = LocationFactory(code="KM001", name="昆明一店", region=km, city="昆明")
    kmn001 = LocationFactory(code="KMN001", name="昆明北一店", region=kmn, city="昆明")
    dl001 = LocationFactory(code="DL001", name="大理一店", region=dl, city="大理",
                            latitude="25.606500", longitude="100.267600")
    wh01 = LocationFactory(code="WH01", name="昆明配送中心", region=km, kind=Location.Kind.WAREHOUSE)
    users = {
        "hq": user_with_role("hq", username="hq"),
        "buyer": user_with_role("buyer", username="buyer"),
        "region.KM": user_with_role("region", username="region.KM", region=km),
        "region.DL": user_with_role("region", username="region.DL", region=dl),
        "manager.KM001": user_with_role("store_manager", username="manager.KM001", location=km001),
        "cashier.KM001": user_with_role("cashier", username="cashier.KM001", location=km001),
        "manager.DL001": user_with_role("store_manager", username="manager.DL001", location=dl001),
        "nobody": UserFactory(username="nobody"),
    }
    return Chain(hq, km, kmn, dl, km001, kmn001, dl001, wh01, users)
