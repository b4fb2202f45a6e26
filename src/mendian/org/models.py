from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Region(models.Model):
    """A node of the chain's tree: HQ → region → optional district. Codes are short capitals (KM)."""

    class Level(models.TextChoices):
        HQ = "hq", "总部 HQ"
        REGION = "region", "区域 Region"
        DISTRICT = "district", "片区 District"

    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=100)
    level = models.CharField(max_length=16, choices=Level.choices, default=Level.REGION)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Location(models.Model):
    """Anything that holds stock: a store, a warehouse (DC) or a virtual in-transit location."""

    class Kind(models.TextChoices):
        STORE = "store", "门店 Store"
        WAREHOUSE = "warehouse", "仓库 Warehouse"
        TRANSIT = "transit", "在途 In transit"

    class Status(models.TextChoices):
        ACTIVE = "active", "营业 Active"
        CLOSED = "closed", "关闭 Closed"

    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STORE)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="locations")
    city = models.CharField(max_length=50, blank=True, default="")
    address = models.CharField(max_length=200, blank=True, default="")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    area_m2 = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    opens_at = models.TimeField(null=True, blank=True)
    closes_at = models.TimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["kind", "region"])]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Role(models.TextChoices):
    HQ = "hq", "总部 HQ"
    REGION = "region", "区域总监 Regional director"
    STORE_MANAGER = "store_manager", "店长 Store manager"
    CASHIER = "cashier", "收银员 Cashier"
    BUYER = "buyer", "采购 Buyer"


class RoleAssignment(models.Model):
    """One role at one scope. A user may hold several (one person managing two stores)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(max_length=32, choices=Role.choices)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.CASCADE)
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="role_scope_at_most_one",
                condition=Q(region__isnull=True) | Q(location__isnull=True),
            ),
            models.UniqueConstraint(fields=["user", "role", "region", "location"], name="role_assignment_unique"),
        ]
        permissions = [("view_pii", "May see personal data (mobile numbers) whole")]

    def __str__(self) -> str:
        scope = self.location or self.region or "chain"
        return f"{self.user} {self.role} @ {scope}"


class ChainSettings(models.Model):
    """Chain-wide settings; one row (pk=1)."""

    pos_refuses_negative_stock = models.BooleanField(
        default=False, help_text="Refuse a POS sale that would drive on hand below zero (default: sell and raise a count task)."
    )
    unpaid_order_minutes = models.PositiveIntegerField(default=30)

    class Meta:
        verbose_name_plural = "chain settings"

    @classmethod
    def current(cls) -> ChainSettings:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj
