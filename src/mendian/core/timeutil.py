from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def now() -> dt.datetime:
    return timezone.now()


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_date(at: dt.datetime | None = None) -> dt.date:
    return (at or timezone.now()).astimezone(local_tz()).date()
