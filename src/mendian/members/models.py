"""Members (会员), tiers (等级) and growth value (成长值), the points ledger (积分) and coupons (优惠券)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

CHANNELS = [("pos", "门店 POS"), ("online", "线上 Online"), ("miniprogram", "小程序 Mini-program"),
            ("app", "App")]


class Tier(models.Model):
    """A membership tier reached by growth value over the trailing 12 months."""

    code = models.CharField(max_length=16, unique=True)
    name_zh = models.CharField(max_length=50)
    name_en = models.CharField(max_length=50)
    threshold = models.PositiveIntegerField(help_text="growth value (trailing 12 months) to reach this tier")
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0,
                                           help_text="tier discount in percent (5 = 5% off), 0 for none")
    member_prices = models.BooleanField(default=False, help_text="members of this tier pay member prices")
    points_multiplier = models.DecimalField(max_digits=5, decimal_places=2, default=1)
    free_shipping = models.BooleanField(default=False)
    birthday_coupon_template = models.ForeignKey("CouponTemplate", null=True, blank=True, on_delete=models.SET_NULL,
                                                 related_name="+")
    upgrade_coupon_template = models.ForeignKey("CouponTemplate", null=True, blank=True, on_delete=models.SET_NULL,
                                                related_name="+")

    class Meta:
        ordering = ["threshold", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh} {self.name_en}"


class Member(models.Model):
    """One person across every channel; the mobile number is the natural key."""

    code = models.CharField(max_length=16, unique=True)
    mobile = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100, blank=True, default="")
    channel = models.CharField(max_length=16, choices=CHANNELS, default="pos")
    store = models.ForeignKey("org.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    birthday = models.DateField(null=True, blank=True)
    consent_marketing = models.BooleanField(default=False)
    consent_data = models.BooleanField(default=False)
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="members")
    growth_value = models.PositiveIntegerField(default=0, help_text="lifetime growth value")
    points_balance = models.IntegerField(default=0)
    orders_count = models.PositiveIntegerField(default=0)
    tier_review_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["code"]
        constraints = [models.CheckConstraint(name="member_points_nonnegative", condition=Q(points_balance__gte=0))]
        indexes = [models.Index(fields=["tier_review_at"])]

    def __str__(self) -> str:
        return self.code


class TierChange(models.Model):
    class Reason(models.TextChoices):
        REGISTER = "register", "注册 Registration"
        UPGRADE = "upgrade", "升级 Upgrade"
        DOWNGRADE = "downgrade", "降级 Downgrade"

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="tier_changes")
    from_tier = models.CharField(max_length=16, blank=True, default="")
    to_tier = models.CharField(max_length=16, blank=True, default="")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    growth = models.IntegerField(help_text="trailing growth value at the change")
    at = models.DateTimeField()

    class Meta:
        ordering = ["member", "at", "id"]


class GrowthEntry(models.Model):
    """Growth value earned by one paid order (one row per order: the idempotency key of order paid)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="growth_entries")
    order_number = models.CharField(max_length=40)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    growth = models.IntegerField()
    growth_refunded = models.IntegerField(default=0, help_text="growth taken back by refunds of this order")
    store_code = models.CharField(max_length=16, blank=True, default="")
    channel = models.CharField(max_length=16, blank=True, default="")
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "order_number"], name="growth_once_per_order")]
        indexes = [models.Index(fields=["member", "at"])]


class PointsSettings(models.Model):
    """Chain-wide points redemption settings; one row (pk=1)."""

    points_per_yuan = models.PositiveIntegerField(default=100, help_text="points worth ¥1 when redeemed")
    max_share = models.DecimalField(max_digits=4, decimal_places=2, default="0.50",
                                    help_text="points pay at most this share of an order")

    @classmethod
    def current(cls) -> PointsSettings:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class EarnRule(models.Model):
    """Points earned per yuan for spend matching channel / store / category (blank = any)."""

    name = models.CharField(max_length=100)
    points_per_yuan = models.DecimalField(max_digits=8, decimal_places=2)
    channel = models.CharField(max_length=16, choices=CHANNELS, blank=True, default="")
    store = models.ForeignKey("org.Location", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey("catalog.Category", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+")
    priority = models.IntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-priority", "id"]


class PointsEntry(models.Model):
    """The points ledger: append-only. ``Member.points_balance`` == sum of ``points`` always.

    Rows that add points (earn, refund of redeemed points, adjustments up) are *lots*: ``remaining``
    counts their points not yet spent, expired or clawed back, and ``expires_at`` when they lapse.
    """

    class Kind(models.TextChoices):
        EARN = "earn", "获得 Earned"
        REDEEM = "redeem", "抵现 Redeemed"
        REDEEM_REFUND = "redeem_refund", "退还 Returned on refund"
        CLAWBACK = "clawback", "扣回 Clawed back on refund"
        EXPIRE = "expire", "过期 Expired"
        ADJUST = "adjust", "调整 Adjusted"

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="points_entries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    points = models.IntegerField()
    remaining = models.IntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True)
    order_number = models.CharField(max_length=40, blank=True, default="")
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True,
                                 help_text="money: paid (earn), value (redeem), refunded (clawback)")
    note = models.CharField(max_length=200, blank=True, default="")
    at = models.DateTimeField()

    class Meta:
        ordering = ["member", "id"]
        constraints = [
            models.UniqueConstraint(fields=["member", "order_number"], condition=Q(kind="earn"),
                                    name="points_earn_once_per_order"),
            models.UniqueConstraint(fields=["member", "order_number"], condition=Q(kind="redeem"),
                                    name="points_redeem_once_per_order"),
            models.CheckConstraint(name="points_remaining_nonnegative", condition=Q(remaining__gte=0)),
        ]
        indexes = [models.Index(fields=["expires_at"], condition=Q(remaining__gt=0), name="points_open_lots"),
                   models.Index(fields=["member", "order_number"])]


class CouponTemplate(models.Model):
    class Kind(models.TextChoices):
        THRESHOLD = "threshold", "满减券 Amount off over a threshold"
        NO_THRESHOLD = "no_threshold", "无门槛券 Amount off"
        PERCENT = "percent", "折扣券 Percent off (capped)"
        ITEM = "item", "兑换券 Free item"
        FREE_SHIPPING = "free_shipping", "免运费券 Free shipping"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    threshold = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    rate = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True, help_text="rate to pay, 0.9")
    cap = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    item_sku = models.CharField(max_length=32, blank=True, default="")
    # scope: lists of codes; empty = everything
    skus = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=list, blank=True)
    brands = models.JSONField(default=list, blank=True)
    exclude_skus = models.JSONField(default=list, blank=True)
    stores = models.JSONField(default=list, blank=True)
    regions = models.JSONField(default=list, blank=True)
    channels = models.JSONField(default=list, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    valid_days = models.PositiveIntegerField(null=True, blank=True, help_text="valid N days after issue")
    total_quota = models.PositiveIntegerField(null=True, blank=True)
    issued_count = models.PositiveIntegerField(default=0)
    per_member_limit = models.PositiveIntegerField(default=1)
    claimable = models.BooleanField(default=False, help_text="members may claim it themselves")
    issue_on_registration = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["code"]
        constraints = [models.CheckConstraint(
            name="coupon_template_quota", condition=Q(total_quota__isnull=True) | Q(issued_count__lte=models.F("total_quota")))]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class CouponQuota(models.Model):
    """Coupons of one template issued to one member (the per-member quota's guarded counter)."""

    template = models.ForeignKey(CouponTemplate, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    issued = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["template", "member"], name="coupon_quota_unique")]


class Coupon(models.Model):
    class Status(models.TextChoices):
        ISSUED = "issued", "可用 Available"
        USED = "used", "已使用 Used"
        VOID = "void", "作废 Void"

    class Source(models.TextChoices):
        CLAIM = "claim", "领取 Claimed"
        BATCH = "batch", "批量发放 HQ batch"
        REGISTRATION = "registration", "注册礼 Registration"
        UPGRADE = "upgrade", "升级礼 Tier upgrade"
        BIRTHDAY = "birthday", "生日礼 Birthday"
        PROMOTION = "promotion", "促销赠券 Promotion"

    code = models.CharField(max_length=24, unique=True)
    template = models.ForeignKey(CouponTemplate, on_delete=models.PROTECT, related_name="coupons")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="coupons")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ISSUED)
    source = models.CharField(max_length=16, choices=Source.choices)
    source_ref = models.CharField(max_length=60, blank=True, default="")
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    order_number = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["template", "member", "source_ref"],
                                               condition=~Q(source_ref=""), name="coupon_issue_once_per_ref")]
        indexes = [models.Index(fields=["member", "status"]), models.Index(fields=["order_number"])]


class CouponBatch(models.Model):
    """An HQ issue of one template to a list of members or a segment; large batches run as a job."""

    class Status(models.TextChoices):
        PENDING = "pending", "待处理 Pending"
        RUNNING = "running", "发放中 Running"
        DONE = "done", "完成 Done"

    number = models.CharField(max_length=24, unique=True)
    template = models.ForeignKey(CouponTemplate, on_delete=models.PROTECT, related_name="batches")
    member_codes = models.JSONField(default=list, blank=True)
    segment = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    issued = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    cursor = models.PositiveIntegerField(default=0, help_text="members processed so far (position in the target)")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
