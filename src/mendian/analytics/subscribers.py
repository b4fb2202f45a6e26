"""Outbox subscribers: keep the rollups current, seconds behind the sales, outside the checkout."""

from __future__ import annotations

from mendian.platform.models import OutboxEvent
from mendian.platform.outbox import subscriber

from .rollups import order_rollup_apply


@subscriber("order.", name="analytics.rollups")
def rollups_on_order_event(event: OutboxEvent) -> None:
    """Every order event (created, paid, fulfilled, completed, refunded, cancelled, expired…) brings
    that order's contribution up to date; applying an event twice changes nothing."""
    number = (event.payload or {}).get("number")
    if number:
        order_rollup_apply(number=number, event_id=event.id)
