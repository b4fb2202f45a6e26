"""Planning tables: forecast runs and their per-series results, stock policies, replenishment
parameters, promotion periods (until the promotions app feeds them) and imported external factors."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ForecastRun(models.Model):
    """One forecast over a set of (location, SKU) series; executed as a job, resumable."""

    class Status(models.TextChoices):
        QUEUED = "queued", "排队 Queued"
        RUNNING = "running", "运行中 Running"
        DONE = "done", "完成 Done"
        FAILED = "failed", "失败 Failed"

    job = models.OneToOneField("platform.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    as_of = models.DateField(help_text="last day of history; the forecast starts the day after")
    horizon = models.PositiveSmallIntegerField(default=28)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "created_at"])]


class SeriesForecast(models.Model):
    """The result for one (location, SKU) in a run: class, chosen model, accuracy, the daily forecast."""

    run = models.ForeignKey(ForecastRun, on_delete=models.CASCADE, related_name="series")
    location = models.ForeignKey("org.Location", on_delete=models.CASCADE, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.CASCADE, related_name="+")
    demand_class = models.CharField(max_length=16)
    adi = models.FloatField(null=True, blank=True)
    cv2 = models.FloatField(null=True, blank=True)
    abc = models.CharField(max_length=1, default="C")
    xyz = models.CharField(max_length=1, default="Z")
    xyz_cv = models.FloatField(null=True, blank=True)
    model = models.CharField(max_length=32)
    mase = models.FloatField(null=True, blank=True)
    wape = models.FloatField(null=True, blank=True)
    bias = models.FloatField(null=True, blank=True)
    snaive_mase = models.FloatField(null=True, blank=True)
    snaive_wape = models.FloatField(null=True, blank=True)
    snaive_bias = models.FloatField(null=True, blank=True)
    sigma = models.FloatField(default=0, help_text="RMSE of daily forecast errors over the CV windows")
    mean_daily = models.FloatField(default=0)
    history_days = models.PositiveIntegerField(default=0)
    censored_days = models.PositiveIntegerField(default=0)
    start = models.DateField(help_text="first forecast day")
    forecast = models.JSONField(default=list, help_text="daily forecast from `start`, one number a day")
    detail = models.JSONField(default=dict, blank=True, help_text="CV sums, candidates' errors, drivers, note")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "location", "sku"], name="series_forecast_unique")]
        indexes = [models.Index(fields=["location", "sku", "run"])]


class PlanningSettings(models.Model):
    """Chain-wide planning settings; one row (pk=1). Service level targets by ABC class."""

    service_level_a = models.FloatField(default=0.98)
    service_level_b = models.FloatField(default=0.95)
    service_level_c = models.FloatField(default=0.90)

    class Meta:
        verbose_name_plural = "planning settings"

    @classmethod
    def current(cls) -> PlanningSettings:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

    def service_levels(self) -> dict[str, float]:
        return {"A": self.service_level_a, "B": self.service_level_b, "C": self.service_level_c}


class ReplenishmentParameter(models.Model):
    """Lead time and review period for a location, a SKU or both (the most specific row wins; no row:
    the defaults, 7 and 7 days). Purchasing's supplier lead times will feed this table (or replace the
    lookup in ``selectors.replenishment_params``)."""

    location = models.ForeignKey("org.Location", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    sku = models.ForeignKey("catalog.Sku", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    lead_time_days = models.DecimalField(max_digits=6, decimal_places=2, default=7)
    lead_time_std_days = models.DecimalField(max_digits=6, decimal_places=2, default=0)
    review_period_days = models.DecimalField(max_digits=6, decimal_places=2, default=7)
    source = models.CharField(max_length=32, default="manual", help_text="manual | supplier | warehouse")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "sku"], name="repl_param_loc_sku",
                                    condition=Q(location__isnull=False, sku__isnull=False)),
            models.UniqueConstraint(fields=["location"], name="repl_param_loc",
                                    condition=Q(location__isnull=False, sku__isnull=True)),
            models.UniqueConstraint(fields=["sku"], name="repl_param_sku",
                                    condition=Q(location__isnull=True, sku__isnull=False)),
        ]


class StockPolicy(models.Model):
    """Current safety stock, reorder point and order-up-to level per (location, SKU), from the latest run."""

    location = models.ForeignKey("org.Location", on_delete=models.CASCADE, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(ForecastRun, null=True, on_delete=models.SET_NULL, related_name="+")
    abc = models.CharField(max_length=1)
    service_level = models.FloatField()
    safety_stock = models.IntegerField()
    reorder_point = models.IntegerField()
    order_up_to = models.IntegerField()
    explanation = models.JSONField(default=dict)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "sku"], name="stock_policy_unique")]


class PromotionPeriod(models.Model):
    """A SKU on promotion over [starts_on, ends_on] at a location (or every location when empty).

    The plug-in point for the promotion calendar: rows are entered here (admin, import) until the
    promotions app publishes its calendar; ``selectors.promotion_days`` is the one reader."""

    sku = models.ForeignKey("catalog.Sku", on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey("org.Location", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    starts_on = models.DateField()
    ends_on = models.DateField()
    source = models.CharField(max_length=32, default="manual")
    reference = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["sku", "starts_on"])]
        constraints = [models.CheckConstraint(name="promotion_period_order", condition=Q(ends_on__gte=models.F("starts_on")))]


class ExternalFactor(models.Model):
    """An imported numeric daily factor: weather by city (``city`` set) or chain-wide (``city`` empty)."""

    name = models.CharField(max_length=32)
    city = models.CharField(max_length=50, blank=True, default="")
    day = models.DateField()
    value = models.FloatField()
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "city", "day"], name="external_factor_unique")]
        indexes = [models.Index(fields=["name", "city", "day"])]
