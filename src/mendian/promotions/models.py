from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from .domain.model import Kind


class Promotion(models.Model):
    """A promotion rule as configuration (not code). ``condition`` and ``benefit`` hold the JSON shapes
    read by ``promotions.domain.config``; quota and budget counters are guarded columns."""

    class KindChoice(models.TextChoices):
        SPECIAL_PRICE = Kind.SPECIAL_PRICE.value, "限时折扣/特价/秒杀 Special price"
        TIER_PRICE = Kind.TIER_PRICE.value, "会员价 Tier price"
        AMOUNT_OFF = Kind.AMOUNT_OFF.value, "满减 Amount off"
        SPEND_PERCENT = Kind.SPEND_PERCENT.value, "满折 Spend X percent off"
        QTY_PERCENT = Kind.QTY_PERCENT.value, "满件折 Buy N percent off"
        NTH_ITEM = Kind.NTH_ITEM.value, "第N件N折 Nth item"
        BUY_X_GET_Y = Kind.BUY_X_GET_Y.value, "买X送Y Buy X get Y"
        GIFT = Kind.GIFT.value, "满赠/买赠 Gift"
        ADDON = Kind.ADDON.value, "加价购 Add-on deal"
        BUNDLE = Kind.BUNDLE.value, "套餐 Bundle"

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿 Draft"
        ACTIVE = "active", "进行中 Active"
        PAUSED = "paused", "已暂停 Paused"
        ENDED = "ended", "已结束 Ended"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=24, choices=KindChoice.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    priority = models.IntegerField(default=0)
    exclusive_group = models.CharField(max_length=32, blank=True, default="")
    combines_with_coupons = models.BooleanField(default=True)
    combines_with_member_price = models.BooleanField(default=True)
    combines_with_points = models.BooleanField(default=True)
    threshold_basis = models.CharField(max_length=8, default="net", help_text="net: after item prices; list: list prices")
    condition = models.JSONField(default=dict, blank=True)
    benefit = models.JSONField(default=dict, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    budget = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    budget_used = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    quota_total = models.PositiveIntegerField(null=True, blank=True, help_text="flash units or gift sets, chain-wide")
    quota_used = models.PositiveIntegerField(default=0)
    per_member_units = models.PositiveIntegerField(null=True, blank=True, help_text="flash units per member")
    refuse_over_quota = models.BooleanField(default=False, help_text="refuse the order instead of charging the regular price")
    # effect monitoring (promotions.effect): the merchant's auto-pause threshold
    max_cost_per_incremental = models.DecimalField(
        max_digits=8, decimal_places=4, null=True, blank=True,
        help_text="pause when the discount per incremental yuan of covered sales passes this (empty: never)")
    pause_min_days = models.PositiveSmallIntegerField(
        default=3, help_text="whole days since activation before the threshold is judged")
    pause_min_orders = models.PositiveIntegerField(
        default=20, help_text="orders since activation before the threshold is judged")
    paused_reason = models.CharField(max_length=300, blank=True, default="")
    activated_at = models.DateTimeField(null=True, blank=True, help_text="the last activation")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["status", "ends_at"])]
        constraints = [
            models.CheckConstraint(name="promotion_quota_not_oversold",
                                   condition=Q(quota_total__isnull=True) | Q(quota_used__lte=F("quota_total"))),
            models.CheckConstraint(name="promotion_budget_not_overspent",
                                   condition=Q(budget__isnull=True) | Q(budget_used__lte=F("budget"))),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PromotionUsage(models.Model):
    """What one order took from one promotion: units (flash units or gift sets) and discount.
    Unique per (promotion, order): recording an order twice changes nothing."""

    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="usages")
    order_ref = models.CharField(max_length=48)
    member_code = models.CharField(max_length=32, blank=True, default="")
    units = models.PositiveIntegerField(default=0)
    discount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["promotion", "order_ref"], name="promotion_usage_once_per_order")]
        indexes = [models.Index(fields=["member_code", "promotion"])]
