from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Channel(models.TextChoices):
    POS = "pos", "收银 POS"
    ONLINE = "online", "线上 Online"
    MINIPROGRAM = "miniprogram", "小程序 Mini-program"
    APP = "app", "App"


class Fulfilment(models.TextChoices):
    IN_STORE = "in_store", "店内 In store"
    PICKUP = "pickup", "自提 Pickup"
    DELIVERY = "delivery", "配送 Delivery"


class OrderStatus(models.TextChoices):
    PENDING = "pending", "待支付 Pending"
    PAID = "paid", "已支付 Paid"
    FULFILLED = "fulfilled", "已履约 Fulfilled"
    COMPLETED = "completed", "已完成 Completed"
    CANCELLED = "cancelled", "已取消 Cancelled"
    EXPIRED = "expired", "已过期 Expired"
    REFUNDED = "refunded", "已退款 Refunded"
    PARTIALLY_REFUNDED = "partially_refunded", "部分退款 Partially refunded"


class TenderMethod(models.TextChoices):
    CASH = "cash", "现金 Cash"
    CARD = "card", "银行卡 Card"
    WECHAT_PAY = "wechat_pay", "微信支付 WeChat Pay"
    ALIPAY = "alipay", "支付宝 Alipay"
    POINTS = "points", "积分 Points"


class Shift(models.Model):
    """A cashier's shift at a store: opened with a cash float, closed with the counted cash."""

    class Status(models.TextChoices):
        OPEN = "open", "当班 Open"
        CLOSED = "closed", "已交班 Closed"

    store = models.ForeignKey("org.Location", on_delete=models.PROTECT, related_name="shifts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shifts")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    opening_float = models.DecimalField(max_digits=12, decimal_places=2)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    expected_cash = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    counted_cash = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    variance = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "user"], condition=Q(status="open"), name="one_open_shift_per_user_store"),
        ]


class OrderSequence(models.Model):
    """Per-store, per-day order counter: numbers like KM001-20261125-0042 with no chain-wide lock."""

    store = models.ForeignKey("org.Location", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "day"], name="order_sequence_unique")]


class Order(models.Model):
    number = models.CharField(max_length=40, unique=True)
    # no single-column index: (store, created_at) and (store, pickup_code) lead with the store
    store = models.ForeignKey("org.Location", on_delete=models.PROTECT, related_name="orders", db_index=False)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    fulfilment = models.CharField(max_length=16, choices=Fulfilment.choices, default=Fulfilment.IN_STORE)
    status = models.CharField(max_length=24, choices=OrderStatus.choices)
    member_code = models.CharField(max_length=32, blank=True, default="", help_text="filled by the members app")
    subtotal = models.DecimalField(max_digits=14, decimal_places=2)
    discount_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    tax_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    cost_total = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    paid_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    change = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    refunded_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    pickup_code = models.CharField(max_length=6, blank=True, default="")
    points_used = models.IntegerField(default=0, help_text="member points redeemed as the points tender")
    points_value = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    adjustments = models.JSONField(default=list, blank=True,
                                   help_text='promotions, coupons and points applied: [{"rule","kind","lines","amount","reason"}]')
    shift = models.ForeignKey(Shift, null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                   db_index=False)
    created_at = models.DateTimeField(db_index=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["store", "created_at"]),
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["store", "pickup_code"]),
        ]
        constraints = [
            # A pickup code identifies one paid, not yet collected order at its store.
            models.UniqueConstraint(fields=["store", "pickup_code"], condition=Q(status="paid") & ~Q(pickup_code=""),
                                    name="order_pickup_code_unique_while_paid"),
        ]


class OrderLine(models.Model):
    # no single-column index: the unique (order, line_no) leads with the order
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_no = models.PositiveIntegerField()
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    quantity = models.IntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    price_unit_qty = models.PositiveIntegerField(default=1)
    discount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    tax = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    cost = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    refunded_qty = models.IntegerField(default=0)
    lots = models.JSONField(default=list, blank=True, help_text='[{"lot": code or null, "quantity": n}]')

    class Meta:
        ordering = ["line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="order_line_unique"),
            models.CheckConstraint(name="order_line_qty_positive", condition=Q(quantity__gt=0)),
        ]


class Tender(models.Model):
    """A payment (positive) or a refund (negative) on an order."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="tenders")
    method = models.CharField(max_length=16, choices=TenderMethod.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    reference = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField()
    shift = models.ForeignKey(Shift, null=True, blank=True, on_delete=models.PROTECT, related_name="tenders",
                              help_text="the till shift that took (or paid out) this money; empty for online payments")
    refund = models.ForeignKey("Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="tenders",
                               db_index=False)


class Refund(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    number = models.CharField(max_length=48, unique=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    lines = models.JSONField(default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()


class SalesHistoryDay(models.Model):
    """Daily sales per (location, SKU) as imported from the system a chain moves from (CSV), and as
    rolled up from mendian's own orders. Input to forecasts and dashboards. Net of returns."""

    location = models.ForeignKey("org.Location", on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    quantity = models.IntegerField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    source = models.CharField(max_length=8, default="import", help_text="import | orders")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "sku", "day"], name="sales_history_day_unique")]
        indexes = [models.Index(fields=["sku", "location", "day"]), models.Index(fields=["day"])]
