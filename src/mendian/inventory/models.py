from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Lot(models.Model):
    """A batch of a lot-tracked SKU with its expiry; sales take the earliest expiry first (FEFO)."""

    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="lots")
    code = models.CharField(max_length=64)
    expiry = models.DateField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sku", "code"], name="lot_unique_per_sku")]

    def __str__(self) -> str:
        return f"{self.code} (exp {self.expiry})"


class StockLevel(models.Model):
    """Balance per (location, SKU, lot); lot empty for SKUs that are not lot-tracked.

    Changes only together with a StockMovement in the same transaction. available = on_hand − reserved.
    on_hand may go below zero only by a POS sale (goods at the till are physically there).
    """

    location = models.ForeignKey("org.Location", on_delete=models.PROTECT, related_name="stock_levels")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="stock_levels")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "sku"], condition=Q(lot__isnull=True), name="stock_level_unique_nolot"),
            models.UniqueConstraint(fields=["location", "sku", "lot"], condition=Q(lot__isnull=False), name="stock_level_unique_lot"),
            models.CheckConstraint(name="stock_reserved_nonnegative", condition=Q(reserved__gte=0)),
        ]
        indexes = [models.Index(fields=["sku", "location"])]

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockMovement(models.Model):
    """The append-only ledger. One row per change of a balance; balance == sum of its movements."""

    class Reason(models.TextChoices):
        RECEIPT = "receipt", "收货 Receipt"
        SALE = "sale", "销售 Sale"
        RETURN = "return", "退货 Return"
        TRANSFER_OUT = "transfer_out", "调出 Transfer out"
        TRANSFER_IN = "transfer_in", "调入 Transfer in"
        ADJUSTMENT = "adjustment", "调整 Adjustment"
        COUNT = "count", "盘点 Count"
        RESERVATION = "reservation", "占用 Reservation"
        RELEASE = "release", "释放 Release"
        OPENING = "opening", "期初 Opening balance"

    level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="movements")
    location = models.ForeignKey("org.Location", on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    on_hand_delta = models.IntegerField(default=0)
    reserved_delta = models.IntegerField(default=0)
    unit_cost = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    doc_type = models.CharField(max_length=32, blank=True, default="")
    doc_ref = models.CharField(max_length=64, blank=True, default="")
    note = models.CharField(max_length=200, blank=True, default="")
    cause = models.CharField(max_length=16, blank=True, default="", choices=[
        ("correction", "更正 Correction"), ("damage", "损坏 Damage"), ("theft", "失窃 Theft"), ("found", "盘盈 Found"),
        ("expired", "过期 Expired"), ("other", "其他 Other"), ("short", "短少 Short"),
    ], help_text="why an adjustment was made (adjustments, transfer discrepancies)")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["location", "sku", "created_at"]),
            models.Index(fields=["doc_type", "doc_ref"]),
        ]


class StockCost(models.Model):
    """Moving-average unit cost per (location, SKU), kept from receipts (tax-exclusive)."""

    location = models.ForeignKey("org.Location", on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    avg_cost = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "sku"], name="stock_cost_unique")]


class StockCount(models.Model):
    """A stock count (盘点): counted quantities become variance movements."""

    number = models.CharField(max_length=40, unique=True)
    location = models.ForeignKey("org.Location", on_delete=models.PROTECT, related_name="stock_counts")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True, default="")


class StockCountLine(models.Model):
    count = models.ForeignKey(StockCount, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    book_qty = models.IntegerField()
    counted_qty = models.IntegerField()
    variance = models.IntegerField()


class CountTask(models.Model):
    """A request to count a SKU at a location, e.g. after a POS sale drove on hand below zero."""

    class Status(models.TextChoices):
        OPEN = "open", "待盘 Open"
        DONE = "done", "已盘 Done"

    location = models.ForeignKey("org.Location", on_delete=models.PROTECT, related_name="count_tasks")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=32, default="negative_stock")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "sku"], condition=Q(status="open"), name="one_open_count_task"),
        ]


class LostDemand(models.Model):
    """Demand refused for stock (an online order short of available): input to forecasts and transfers."""

    location = models.ForeignKey("org.Location", on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    quantity = models.IntegerField()
    channel = models.CharField(max_length=16, default="")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["location", "sku", "created_at"])]
