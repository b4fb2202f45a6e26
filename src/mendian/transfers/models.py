"""Transfer plans (the planner's proposal for the chain) and transfer orders (调拨单) that move stock
between locations through the ledger: proposed → approved → shipped → received, or cancelled."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class TransferPlan(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", "待确认 Proposed"
        ACCEPTED = "accepted", "已采纳 Accepted"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED)
    region = models.ForeignKey("org.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               help_text="the region planned (empty: the whole chain)")
    parameters = models.JSONField(default=dict)
    figures = models.JSONField(default=dict, help_text="objective breakdown, lane-blind plan, saving, need met")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"transfer plan {self.pk} ({self.status})"


class TransferPlanMove(models.Model):
    plan = models.ForeignKey(TransferPlan, on_delete=models.CASCADE, related_name="moves")
    from_location = models.ForeignKey("org.Location", on_delete=models.PROTECT, related_name="+")
    to_location = models.ForeignKey("org.Location", on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    packs = models.PositiveIntegerField()
    distance_km = models.DecimalField(max_digits=9, decimal_places=3)

    class Meta:
        indexes = [models.Index(fields=["plan", "from_location", "to_location"])]


class TransferOrder(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", "待审批 Proposed"
        APPROVED = "approved", "已审批 Approved"
        SHIPPED = "shipped", "已发货 Shipped"
        RECEIVED = "received", "已收货 Received"
        CANCELLED = "cancelled", "已取消 Cancelled"

    class Source(models.TextChoices):
        PLAN = "plan", "调拨计划 Plan"
        MANUAL = "manual", "门店申请 Store request"

    number = models.CharField(max_length=40, unique=True)
    from_location = models.ForeignKey("org.Location", on_delete=models.PROTECT, related_name="transfers_out")
    to_location = models.ForeignKey("org.Location", on_delete=models.PROTECT, related_name="transfers_in")
    transit_location = models.ForeignKey("org.Location", null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)
    plan = models.ForeignKey(TransferPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")
    note = models.CharField(max_length=200, blank=True, default="")
    distance_km = models.DecimalField(max_digits=9, decimal_places=3, null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True, db_index=True)
    received_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    shipment = models.JSONField(default=list, blank=True,
                                help_text="what left the sender per SKU and lot (the ledger's takes), for receiving")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["from_location", "status"]), models.Index(fields=["to_location", "status"])]
        constraints = [models.CheckConstraint(name="transfer_between_two_locations",
                                              condition=~Q(from_location=models.F("to_location")))]

    def __str__(self) -> str:
        return self.number


class TransferOrderLine(models.Model):
    order = models.ForeignKey(TransferOrder, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField()
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    shipped = models.PositiveIntegerField(default=0)
    received = models.PositiveIntegerField(default=0)
    damaged = models.PositiveIntegerField(default=0)
    short = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["line_no"]
        constraints = [models.UniqueConstraint(fields=["order", "line_no"], name="transfer_line_unique"),
                       models.UniqueConstraint(fields=["order", "sku"], name="transfer_line_one_per_sku")]
