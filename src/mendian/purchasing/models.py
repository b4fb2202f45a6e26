"""Purchasing (采购): suppliers and their portal users, purchase orders, ship notices (ASN), delivery
appointments against dock capacity, QC reports, and goods receipts (GRN).

Stock never changes here: a receipt calls ``mendian.inventory.services.stock_receive``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Supplier(models.Model):
    """A supplier (供应商). Lead time and its spread feed safety stock; the review period is how often
    we order from them."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True, default="", help_text="where purchase orders are sent")
    lead_time_days = models.DecimalField(max_digits=6, decimal_places=2, default=7)
    lead_time_std_days = models.DecimalField(max_digits=6, decimal_places=2, default=0)
    review_period_days = models.DecimalField(max_digits=6, decimal_places=2, default=7)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SupplierUser(models.Model):
    """A portal user of a supplier: sees and acts on that supplier's documents only."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="supplier_link")
    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="users")

    def __str__(self) -> str:
        return f"{self.user} @ {self.supplier.code}"


class SupplierSku(models.Model):
    """What a supplier sells us: their item code, case size, minimum order and cost (tax-exclusive per
    base unit). ``rank`` 1 is the preferred source of a SKU; suggestions use the lowest rank."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="skus")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    supplier_item_code = models.CharField(max_length=64, blank=True, default="")
    pack_size = models.PositiveIntegerField(default=1)
    moq = models.PositiveIntegerField(default=0, help_text="minimum order quantity in base units")
    cost_price = models.DecimalField(max_digits=14, decimal_places=4, help_text="tax-exclusive, per base unit")
    rank = models.PositiveSmallIntegerField(default=1)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["supplier", "sku"], name="supplier_sku_unique"),
            models.CheckConstraint(name="supplier_sku_pack_positive", condition=Q(pack_size__gte=1)),
        ]
        indexes = [models.Index(fields=["sku", "rank"])]


class LocationMinimum(models.Model):
    """A hand-set minimum / order-up-to for a (location, SKU) that planning has no policy for."""

    location = models.ForeignKey("org.Location", on_delete=models.CASCADE, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.CASCADE, related_name="+")
    minimum = models.PositiveIntegerField()
    order_up_to = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "sku"], name="location_minimum_unique"),
            models.CheckConstraint(name="location_minimum_order_up_to", condition=Q(order_up_to__gte=F("minimum"))),
        ]


class DockSlot(models.Model):
    """Receiving capacity of a location's dock in one time slot: at most ``capacity`` deliveries.

    ``booked`` only grows by a conditional UPDATE (``booked < capacity``), so concurrent bookings
    never overbook; the CheckConstraint is the backstop."""

    location = models.ForeignKey("org.Location", on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveIntegerField(default=1)
    booked = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["location", "starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["location", "starts_at"], name="dock_slot_unique"),
            models.CheckConstraint(name="dock_slot_not_overbooked", condition=Q(booked__lte=F("capacity"))),
            models.CheckConstraint(name="dock_slot_ends_after_start", condition=Q(ends_at__gt=F("starts_at"))),
        ]


class PurchaseOrder(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "草稿 Draft"
        APPROVED = "approved", "已审核 Approved"
        SENT = "sent", "已发送 Sent"
        CONFIRMED = "confirmed", "已确认 Confirmed"
        PARTIALLY_RECEIVED = "partially_received", "部分收货 Partially received"
        RECEIVED = "received", "已收货 Received"
        CANCELLED = "cancelled", "已取消 Cancelled"

    number = models.CharField(max_length=40, unique=True)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="orders")
    location = models.ForeignKey("org.Location", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    source = models.CharField(max_length=16, default="suggested", help_text="suggested | manual")
    expected_date = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["supplier", "status"]), models.Index(fields=["location", "status"])]

    def __str__(self) -> str:
        return self.number


OPEN_STATUSES = (PurchaseOrder.Status.DRAFT, PurchaseOrder.Status.APPROVED, PurchaseOrder.Status.SENT,
                 PurchaseOrder.Status.CONFIRMED, PurchaseOrder.Status.PARTIALLY_RECEIVED)


class PurchaseOrderLine(models.Model):
    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField()
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(help_text="ordered, base units")
    unit_cost = models.DecimalField(max_digits=14, decimal_places=4, help_text="tax-exclusive, per base unit")
    pack_size = models.PositiveIntegerField(default=1)
    confirmed_qty = models.PositiveIntegerField(null=True, blank=True)
    confirmed_date = models.DateField(null=True, blank=True)
    accepted_qty = models.PositiveIntegerField(default=0)
    rejected_qty = models.PositiveIntegerField(default=0)
    suggestion = models.JSONField(default=dict, blank=True, help_text="why this quantity (inputs and rounding)")

    class Meta:
        ordering = ["order", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="po_line_no_unique"),
            models.UniqueConstraint(fields=["order", "sku"], name="po_line_sku_unique"),
        ]

    @property
    def effective_qty(self) -> int:
        """What we expect: the supplier's confirmed quantity once confirmed, else what we ordered."""
        return self.quantity if self.confirmed_qty is None else self.confirmed_qty


class ShipNotice(models.Model):
    """An advance ship notice (ASN, 到货通知) from the supplier for one purchase order."""

    class Status(models.TextChoices):
        SHIPPED = "shipped", "已发货 Shipped"
        RECEIVED = "received", "已收货 Received"
        CANCELLED = "cancelled", "已取消 Cancelled"

    number = models.CharField(max_length=40, unique=True)
    order = models.ForeignKey(PurchaseOrder, on_delete=models.PROTECT, related_name="ship_notices")
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="ship_notices")
    location = models.ForeignKey("org.Location", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SHIPPED)
    supplier_ref = models.CharField(max_length=64, blank=True, default="")
    expected_at = models.DateTimeField(null=True, blank=True)
    carrier = models.CharField(max_length=100, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]


class ShipNoticeLine(models.Model):
    notice = models.ForeignKey(ShipNotice, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(PurchaseOrderLine, on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    lot_code = models.CharField(max_length=64, blank=True, default="")
    expiry = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["notice", "id"]


class DeliveryAppointment(models.Model):
    """A booked dock slot (预约到货) for a ship notice."""

    class Status(models.TextChoices):
        BOOKED = "booked", "已预约 Booked"
        CANCELLED = "cancelled", "已取消 Cancelled"

    number = models.CharField(max_length=40, unique=True)
    notice = models.ForeignKey(ShipNotice, on_delete=models.PROTECT, related_name="appointments")
    slot = models.ForeignKey(DockSlot, on_delete=models.PROTECT, related_name="appointments")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BOOKED)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    booked_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["notice"], condition=Q(status="booked"),
                                               name="one_booked_appointment_per_notice")]


def qc_upload_to(instance: QcReport, filename: str) -> str:
    import os

    ext = os.path.splitext(filename)[1].lower()[:10]
    return f"purchasing/qc/{instance.notice.number}/{instance.sha256[:16]}{ext}"


class QcReport(models.Model):
    """A supplier's quality-control report (质检报告) file for a shipment, kept under MEDIA_ROOT."""

    class Result(models.TextChoices):
        PASS = "pass", "合格 Pass"
        FAIL = "fail", "不合格 Fail"
        PARTIAL = "partial", "部分合格 Partial"

    notice = models.ForeignKey(ShipNotice, on_delete=models.PROTECT, related_name="qc_reports")
    file = models.FileField(upload_to=qc_upload_to, max_length=300)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100, blank=True, default="")
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    result = models.CharField(max_length=8, choices=Result.choices, default=Result.PASS)
    note = models.CharField(max_length=500, blank=True, default="")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    uploaded_at = models.DateTimeField()


class Receipt(models.Model):
    """A goods receipt note (GRN, 收货单) against a purchase order, optionally for one ship notice."""

    number = models.CharField(max_length=40, unique=True)
    order = models.ForeignKey(PurchaseOrder, on_delete=models.PROTECT, related_name="receipts")
    notice = models.ForeignKey(ShipNotice, null=True, blank=True, on_delete=models.PROTECT, related_name="receipts")
    location = models.ForeignKey("org.Location", on_delete=models.PROTECT, related_name="+")
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    received_at = models.DateTimeField()
    note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-received_at", "-id"]


class ReceiptLine(models.Model):
    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(PurchaseOrderLine, on_delete=models.PROTECT, related_name="receipt_lines")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    received_qty = models.PositiveIntegerField(help_text="counted at the dock")
    accepted_qty = models.PositiveIntegerField()
    rejected_qty = models.PositiveIntegerField(default=0)
    reject_reason = models.CharField(max_length=200, blank=True, default="")
    lot_code = models.CharField(max_length=64, blank=True, default="")
    expiry = models.DateField(null=True, blank=True)
    unit_cost = models.DecimalField(max_digits=14, decimal_places=4)

    class Meta:
        ordering = ["receipt", "id"]
        indexes = [models.Index(fields=["sku", "lot_code"])]
        constraints = [models.CheckConstraint(name="receipt_line_accepted_plus_rejected",
                                              condition=Q(received_qty=F("accepted_qty") + F("rejected_qty")))]


class ReceiptDiscrepancy(models.Model):
    """A difference found at receipt: short, over, rejected, lot differing from the ASN."""

    class Kind(models.TextChoices):
        SHORT = "short", "短少 Short"
        OVER = "over", "多到 Over"
        REJECTED = "rejected", "拒收 Rejected"
        LOT_MISMATCH = "lot_mismatch", "批次不符 Lot differs from ASN"

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="discrepancies")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    expected_qty = models.IntegerField(default=0)
    actual_qty = models.IntegerField(default=0)
    note = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["receipt", "id"]
