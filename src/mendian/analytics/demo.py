"""Dashboard inputs for the demo chain: monthly targets (same month last year + 5 %, rounded to ¥100),
staff hours (a crew sized by selling area, more at weekends) and foot traffic (visitors at the door on
every day a store made sales, so that 15–35 % of them bought: conversion as a door counter would show). Real chains import these instead
(CSV on the console's Targets & imports page)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import ExtractMonth, ExtractYear

from mendian.core.timeutil import local_date
from mendian.org.models import Location

from .models import FootTraffic, SalesDayLocation, SalesTarget, StaffHours
from .selectors import add_months, month_start

CONVERSION_LOW, CONVERSION_HIGH = 0.15, 0.35


def demo_visitors(*, transactions: int, store_code: str, day: dt.date) -> int:
    """Visitors of a day on which a store made ``transactions`` sales: a conversion drawn between 15 %
    and 35 % (the same for the same store and day, so a re-run gives the same figures; weekends a
    little lower, as browsing crowds do), visitors = transactions ÷ conversion, rounded."""
    rng = random.Random(f"{store_code}:{day.isoformat()}")
    rate = rng.uniform(CONVERSION_LOW, CONVERSION_HIGH - (0.05 if day.weekday() >= 5 else 0.0))
    visitors = round(transactions / rate)
    # rounding must not push the conversion out of the range
    lo, hi = -(-transactions * 100 // 35), transactions * 100 // 15
    return min(max(visitors, lo), hi)


def demo_inputs_seed(*, today: dt.date | None = None, months: int = 13, days: int = 400) -> tuple[int, int, int]:
    """Replace targets of the last ``months`` months (and the next one), and staff hours and foot
    traffic of the last ``days`` days, for every store. Foot traffic is generated for the days a store
    has transactions in the rollups (imported history knows none: no visitors are made up for it).
    Returns (targets, staff-hour rows, foot-traffic rows)."""
    today = today or local_date()
    stores = list(Location.objects.filter(kind="store", status="active"))
    first = add_months(month_start(today), -(months - 1))
    sales = {(r["location_id"], r["y"], r["m"]): r["a"] for r in
             SalesDayLocation.objects.filter(day__gte=add_months(first, -12))
             .annotate(y=ExtractYear("day"), m=ExtractMonth("day")).values("location_id", "y", "m")
             .annotate(a=Sum("amount"))}
    targets = []
    m = first
    while m <= add_months(month_start(today), 1):
        ly = add_months(m, -12)
        for s in stores:
            base = sales.get((s.pk, ly.year, ly.month))
            if base:
                amount = (Decimal(str(base)) * Decimal("1.05") / 100).quantize(Decimal(1), ROUND_HALF_UP) * 100
                targets.append(SalesTarget(location=s, month=m, amount=amount))
        m = add_months(m, 1)
    hours = []
    for s in stores:
        crew = max(2, int((s.area_m2 or 100) / 80))
        open_h = 13
        if s.opens_at and s.closes_at:
            open_h = max(6, s.closes_at.hour - s.opens_at.hour)
        for i in range(days):
            d = today - dt.timedelta(days=i)
            extra = 1 if d.weekday() >= 5 else 0
            hours.append(StaffHours(location=s, day=d, hours=Decimal((crew + extra) * open_h)))
    since = today - dt.timedelta(days=days - 1)
    codes = {s.pk: s.code for s in stores}
    tx = (SalesDayLocation.objects.filter(location_id__in=codes, day__gte=since, day__lte=today)
          .values("location_id", "day").annotate(n=Sum("transactions")).order_by("location_id", "day"))
    traffic = [FootTraffic(location_id=r["location_id"], day=r["day"],
                           visitors=demo_visitors(transactions=r["n"], store_code=codes[r["location_id"]],
                                                  day=r["day"]))
               for r in tx if r["n"]]
    with transaction.atomic():
        SalesTarget.objects.filter(month__gte=first).delete()
        SalesTarget.objects.bulk_create(targets, batch_size=2000)
        StaffHours.objects.filter(day__gt=today - dt.timedelta(days=days)).delete()
        StaffHours.objects.bulk_create(hours, batch_size=5000)
        FootTraffic.objects.filter(location_id__in=codes, day__gte=since, day__lte=today).delete()
        FootTraffic.objects.bulk_create(traffic, batch_size=5000)
    return len(targets), len(hours), len(traffic)
