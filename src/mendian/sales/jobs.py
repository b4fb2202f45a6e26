"""Periodic jobs of sales, run by ``mendian worker`` (or Celery beat)."""

from __future__ import annotations

import datetime as dt

from mendian.platform.jobs import periodic

from .services import orders_expire_due


@periodic("sales.expire_unpaid_orders", every=dt.timedelta(minutes=1))
def expire_unpaid_orders() -> int:
    """Unpaid online orders older than ChainSettings.unpaid_order_minutes expire and release stock."""
    return orders_expire_due()
