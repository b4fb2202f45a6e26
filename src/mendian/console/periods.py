from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from mendian.analytics.selectors import add_months, month_start
from mendian.core.timeutil import local_date

PERIODS = {
    "today": _("Today"),
    "7d": _("Last 7 days"),
    "mtd": _("Month to date"),
    "last_month": _("Last month"),
    "28d": _("Last 28 days"),
    "ytd": _("Year to date"),
}


@dataclass(frozen=True)
class Period:
    key: str
    start: dt.date
    end: dt.date
    today: dt.date

    @property
    def label(self) -> object:
        return PERIODS.get(self.key, self.key)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def period_from(request: HttpRequest, default: str = "mtd") -> Period:
    """``?period=`` (one of PERIODS) relative to ``?date=YYYY-MM-DD`` (default: today, local)."""
    raw = request.GET.get("date")
    try:
        today = dt.date.fromisoformat(raw) if raw else local_date()
    except ValueError:
        raise Http404("bad date") from None
    key = request.GET.get("period") or default
    if key not in PERIODS:
        key = default
    if key == "today":
        start, end = today, today
    elif key == "7d":
        start, end = today - dt.timedelta(days=6), today
    elif key == "28d":
        start, end = today - dt.timedelta(days=27), today
    elif key == "last_month":
        end = month_start(today) - dt.timedelta(days=1)
        start = month_start(end)
    elif key == "ytd":
        start, end = today.replace(month=1, day=1), today
    else:
        start, end = month_start(today), today
    return Period(key=key, start=start, end=end, today=today)


__all__ = ["PERIODS", "Period", "period_from", "add_months"]
