from __future__ import annotations

from decimal import Decimal

import factory

from mendian.catalog.domain import ean13_with_check_digit
from mendian.catalog.models import Barcode, Category, Product, Sku


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"C{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Category {o.code}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"P{n:05d}")
    name = factory.LazyAttribute(lambda o: f"Product {o.code}")
    category = factory.SubFactory(CategoryFactory)


class SkuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sku
        django_get_or_create = ("code",)
        skip_postgeneration_save = True

    product = factory.SubFactory(ProductFactory)
    code = factory.Sequence(lambda n: f"SKU{n:05d}")
    name = factory.LazyAttribute(lambda o: f"Item {o.code}")
    list_price = Decimal("10.00")
    vat_rate = Decimal("13.00")

    @factory.post_generation
    def barcode(obj, create, extracted, **kwargs):  # noqa: N805
        if create and extracted is not False:
            code = extracted or ean13_with_check_digit(f"690{obj.pk:09d}")
            Barcode.objects.get_or_create(code=code, defaults={"sku": obj})
