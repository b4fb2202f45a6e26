from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from mendian.catalog.models import Brand, Category, Sku
from mendian.catalog.tests.factories import CategoryFactory, ProductFactory, SkuFactory
from mendian.org.tests.conftest import chain  # noqa: F401  (the fixture, shared with org's tests)


@dataclass
class Catalog:
    grocery: Category
    drinks: Category
    fresh: Category
    cola: Sku
    water: Sku
    apples: Sku
    shirt: Sku


@pytest.fixture
def catalog(db) -> Catalog:
    """Grocery (→ drinks) and fresh; cola and water in drinks, apples by weight (PLU 00042), a retired shirt."""
    grocery = CategoryFactory(code="GROC", name="食品")
    drinks = CategoryFactory(code="DRINK", name="饮料", parent=grocery)
    fresh = CategoryFactory(code="FRESH", name="生鲜")
    apparel = CategoryFactory(code="APP", name="服装")
    brand = Brand.objects.create(code="KO", name="可口可乐")
    cola = SkuFactory(code="COLA330", name="可口可乐 330ml", product=ProductFactory(code="P-COLA", category=drinks,
                                                                                 brand=brand),
                      list_price=Decimal("3.50"), barcode="6901234567892", attributes={"volume": "330ml"})
    water = SkuFactory(code="WATER550", name="矿泉水 550ml", product=ProductFactory(code="P-WATER", category=drinks),
                       list_price=Decimal("2.00"), barcode="6920000000012")
    apples = SkuFactory(code="APPLE-FUJI", name="富士苹果", product=ProductFactory(code="P-APPLE", category=fresh),
                        list_price=Decimal("12.80"), unit=Sku.Unit.GRAM, price_unit_qty=1000, plu="00042",
                        vat_rate=Decimal("9.00"), lot_tracked=True, barcode=False)
    shirt = SkuFactory(code="SHIRT-M", name="T恤 M", product=ProductFactory(code="P-SHIRT", category=apparel),
                       list_price=Decimal("59.00"), status=Sku.Status.INACTIVE, attributes={"size": "M"},
                       pack_size=12, barcode="6930000000011")
    return Catalog(grocery, drinks, fresh, cola, water, apples, shirt)
