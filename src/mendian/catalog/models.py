from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Category(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Brand(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """A product (SPU); what is sold is one of its SKUs."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.PROTECT, related_name="products")
    description = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Sku(models.Model):
    """A sellable variant. Quantities are integers in ``unit`` (pieces, or grams for goods by weight).

    ``list_price`` is tax-inclusive, per ``price_unit_qty`` base units: 1 for pieces, 1000 for grams
    (a price per kilogram).
    """

    class Unit(models.TextChoices):
        PIECE = "piece", "件 piece"
        GRAM = "g", "克 gram"

    class Status(models.TextChoices):
        ACTIVE = "active", "在售 Active"
        INACTIVE = "inactive", "停售 Inactive"

    code = models.CharField(max_length=32, unique=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="skus")
    name = models.CharField(max_length=200)
    attributes = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2, default=13, help_text="percent: 13, 9, 6 or 0")
    unit = models.CharField(max_length=8, choices=Unit.choices, default=Unit.PIECE)
    price_unit_qty = models.PositiveIntegerField(default=1)
    lot_tracked = models.BooleanField(default=False)
    list_price = models.DecimalField(max_digits=12, decimal_places=2)
    pack_size = models.PositiveIntegerField(default=1, help_text="base units per purchasing case")
    plu = models.CharField(max_length=5, null=True, blank=True, unique=True, help_text="scale PLU (5 digits)")
    volume_ml = models.PositiveIntegerField(default=0, help_text="volume of one base unit, for routing")

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(name="sku_price_nonnegative", condition=Q(list_price__gte=0)),
            models.CheckConstraint(name="sku_price_unit_positive", condition=Q(price_unit_qty__gte=1)),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Barcode(models.Model):
    class Kind(models.TextChoices):
        EAN13 = "ean13", "EAN-13"
        INTERNAL = "internal", "店内码 Internal"

    code = models.CharField(max_length=32, unique=True)
    sku = models.ForeignKey(Sku, on_delete=models.CASCADE, related_name="barcodes")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.EAN13)

    def __str__(self) -> str:
        return self.code


class StorePrice(models.Model):
    """A per-location price override valid over [valid_from, valid_to); valid_to empty = open-ended."""

    sku = models.ForeignKey(Sku, on_delete=models.CASCADE, related_name="store_prices")
    location = models.ForeignKey("org.Location", on_delete=models.CASCADE, related_name="store_prices")
    price = models.DecimalField(max_digits=12, decimal_places=2)
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["location", "sku", "valid_from"])]
        constraints = [models.CheckConstraint(name="store_price_nonnegative", condition=Q(price__gte=0))]


class PriceChange(models.Model):
    """Price history: every change of a list price or store price."""

    sku = models.ForeignKey(Sku, on_delete=models.CASCADE, related_name="price_changes")
    location = models.ForeignKey("org.Location", null=True, blank=True, on_delete=models.CASCADE)
    old_price = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    new_price = models.DecimalField(max_digits=12, decimal_places=2)
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    changed_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(
        null=True, blank=True,
        help_text="when a list price change took effect (a future one waits for the catalog job); "
                  "store overrides carry their own validity and are applied when written")

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["sku", "changed_at"]), models.Index(fields=["applied_at", "valid_from"])]
