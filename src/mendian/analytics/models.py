"""Rollup tables for the dashboards, and the inputs they are measured against (targets, staff hours,
foot traffic).

Rollups are facts of sales, net of refunds, at four grains. Each is keyed by the sale's local day
(Asia/Shanghai by default), the location, the channel and the member tier:

* ``SalesDayLocation``  day × location            — the chain/region/store dashboards
* ``SalesDayCategory``  day × location × category — drill into categories
* ``SalesDaySku``       day × location × SKU      — drill into SKUs, top/bottom sellers
* ``SalesHour``         hour × location           — drill into hours of one day

``member_tier`` is ``""`` for a sale without a member, the tier code (or ``"member"``) for a member's
sale, and ``"-"`` for imported history where it is unknown. ``source`` says whether a row comes from
mendian's own orders or from the imported sales history (which knows no transactions, hours, members).
Gross margin = amount − tax − cost (cost is tax-exclusive, like the moving-average cost).
``transactions`` counts the orders that contributed to the row (an order counts once per row).
"""

from __future__ import annotations

from django.db import models

UNKNOWN_TIER = "-"
HISTORY_CHANNEL = "history"


class SalesFacts(models.Model):
    location = models.ForeignKey("org.Location", on_delete=models.CASCADE, related_name="+")
    region = models.ForeignKey("org.Region", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16)
    member_tier = models.CharField(max_length=16, default="")
    quantity = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    tax = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    cost = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    transactions = models.IntegerField(default=0)

    class Meta:
        abstract = True


class SalesDayLocation(SalesFacts):
    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "location", "channel", "member_tier"],
                                               name="sales_day_location_key")]
        indexes = [models.Index(fields=["location", "day"]), models.Index(fields=["region", "day"])]


class SalesDayCategory(SalesFacts):
    day = models.DateField()
    category = models.ForeignKey("catalog.Category", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "location", "category", "channel", "member_tier"],
                                               name="sales_day_category_key")]
        indexes = [models.Index(fields=["location", "day"]), models.Index(fields=["region", "day"])]


class SalesDaySku(SalesFacts):
    day = models.DateField()
    category = models.ForeignKey("catalog.Category", on_delete=models.CASCADE, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "location", "sku", "channel", "member_tier"],
                                               name="sales_day_sku_key")]
        # the key (day first) serves chain-wide days; a SKU's drill-down across stores needs (sku, day);
        # a category across stores is read from SalesDayCategory
        indexes = [models.Index(fields=["location", "day"]), models.Index(fields=["sku", "day"])]


class SalesHour(SalesFacts):
    day = models.DateField()
    hour = models.PositiveSmallIntegerField(help_text="local hour 0–23")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "hour", "location", "channel", "member_tier"],
                                               name="sales_hour_key")]
        indexes = [models.Index(fields=["location", "day"])]


class OrderRollup(models.Model):
    """What one order currently contributes to the rollups, and the last order event applied.

    The subscriber recomputes an order's contribution from its current state and applies only the
    difference, so that a redelivered event (or one overtaken by a later one) changes nothing."""

    number = models.CharField(max_length=40, unique=True)
    location = models.ForeignKey("org.Location", on_delete=models.CASCADE, related_name="+")
    last_event_id = models.BigIntegerField(default=0)
    contribution = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)


class SalesTarget(models.Model):
    """A store's sales target for one month (tax-inclusive, like sales)."""

    location = models.ForeignKey("org.Location", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="first day of the month")
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "month"], name="sales_target_unique")]


class StaffHours(models.Model):
    """Staff hours worked at a location on a day (recorded or imported), for sales per labour hour."""

    location = models.ForeignKey("org.Location", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    hours = models.DecimalField(max_digits=8, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "day"], name="staff_hours_unique")]


class FootTraffic(models.Model):
    """Visitors counted at a store's door on a day, for conversion (transactions ÷ visitors)."""

    location = models.ForeignKey("org.Location", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    visitors = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "day"], name="foot_traffic_unique")]


class HistoryCutover(models.Model):
    """The last day a location's imported sales history covers. The history is the complete record of
    the days it covers (orders of those days are a subset of it), so orders count in the rollups only
    after this day. Kept by ``mendian rollups-rebuild`` (run it after a history import)."""

    location = models.OneToOneField("org.Location", on_delete=models.CASCADE, related_name="+")
    last_day = models.DateField()


class SkuWindow(models.Model):
    """Sales of the trailing window (``WINDOW_DAYS`` local days ending ``SkuWindowEnd.end_day``) per
    store × SKU, for the purchasing dashboard's default period: 70 k rows instead of 430 k day rows on a
    100-store chain. The outbox subscriber adds each order's SKU delta that falls inside the window; a
    periodic job recounts it from ``SalesDaySku`` when the local day rolls over (and the rebuild does)."""

    location = models.ForeignKey("org.Location", on_delete=models.CASCADE, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey("catalog.Category", on_delete=models.CASCADE, related_name="+")
    quantity = models.BigIntegerField(default=0)
    cost = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    margin = models.DecimalField(max_digits=18, decimal_places=4, default=0, help_text="amount − tax − cost")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "sku"], name="sku_window_key")]


class SkuWindowEnd(models.Model):
    """One row (pk 1): the last day of the window ``SkuWindow`` holds (None: not counted yet). Writers
    of the window lock it (the recount FOR UPDATE, the subscriber FOR SHARE)."""

    end_day = models.DateField(null=True)
    counted_at = models.DateTimeField(auto_now=True)
