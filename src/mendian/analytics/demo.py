"""Dashboard inputs for the demo chain: monthly targets (same month last year + 5 %, rounded to ¥100)
and staff hours (a crew sized by selling area, more at weekends). Real chains import these instead
(CSV on the console's Targets & imports page)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import ExtractMonth, ExtractYear

from mendian.core.timeutil import local_date
from mendian.org.models import Location

from .models import SalesDayLocation, SalesTarget, StaffHours
from .selectors import add_months, month_start


def demo_inputs_seed(*, today: dt.date | None = None, months: int = 13, days: int = 400) -> tuple[int, int]:
    """Replace targets of the last ``months`` months (and the next one) and staff hours of the last
    ``days`` days for every store. Returns (targets, staff-hour rows)."""
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
    with transaction.atomic():
        SalesTarget.objects.filter(month__gte=first).delete()
        SalesTarget.objects.bulk_create(targets, batch_size=2000)
        StaffHours.objects.filter(day__gt=today - dt.timedelta(days=days)).delete()
        StaffHours.objects.bulk_create(hours, batch_size=5000)
    return len(targets), len(hours)
