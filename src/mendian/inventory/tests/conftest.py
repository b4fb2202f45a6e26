import pytest

from mendian.catalog.tests.factories import SkuFactory
from mendian.org.tests.factories import LocationFactory, RegionFactory


@pytest.fixture
def store(db):
    return LocationFactory(code="KM001", region=RegionFactory(code="KM"))


@pytest.fixture
def sku(db):
    return SkuFactory(code="MILK1L")


@pytest.fixture
def lot_sku(db):
    return SkuFactory(code="YOGURT", lot_tracked=True)
