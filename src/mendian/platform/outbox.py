"""The event outbox: events are written in the same transaction as the change they report, and
delivered at least once to in-process subscribers by the worker (``mendian worker`` or Celery).

Subscribers register with ``@subscriber("topic.prefix")`` and must be idempotent (an event can be
delivered again after a crash). Order is kept per partition (the location code): when delivery of an
event fails, later events of the same partition wait for it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import OutboxEvent

log = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]
_SUBSCRIBERS: list[tuple[str, str, Handler]] = []


def subscriber(topic_prefix: str, name: str | None = None) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        key = name or f"{fn.__module__}.{fn.__qualname__}"
        if not any(k == key for _, k, _ in _SUBSCRIBERS):
            _SUBSCRIBERS.append((topic_prefix, key, fn))
        return fn

    return register


def subscribers() -> list[tuple[str, str, Handler]]:
    return list(_SUBSCRIBERS)


def outbox_event_build(*, topic: str, payload: dict[str, Any], partition: str = "",
                       at: dt.datetime | None = None) -> OutboxEvent:
    return OutboxEvent(topic=topic, partition=partition, payload=payload, created_at=at or timezone.now())


def outbox_publish(*, topic: str, payload: dict[str, Any], partition: str = "") -> OutboxEvent:
    """Write one event; call inside the transaction of the change it reports."""
    from .batch import current_batch

    event = outbox_event_build(topic=topic, payload=payload, partition=partition)
    batch = current_batch()
    if batch is not None:
        batch.events.append(event)
    else:
        event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class DeliveryResult:
    delivered: int
    failed: int


def outbox_deliver(*, limit: int = 500) -> DeliveryResult:
    """Deliver pending events in id order; on PostgreSQL several workers share the work (SKIP LOCKED)."""
    delivered = failed = 0
    blocked: set[str] = set()
    with transaction.atomic():
        qs = OutboxEvent.objects.filter(delivered_at__isnull=True).order_by("id")
        if settings.IS_POSTGRES:
            qs = qs.select_for_update(skip_locked=True)
        events = list(qs[:limit])
        done_ids: list[int] = []
        for event in events:
            if event.partition and event.partition in blocked:
                continue
            try:
                with transaction.atomic():
                    for prefix, _key, handler in _SUBSCRIBERS:
                        if event.topic.startswith(prefix):
                            handler(event)
            except Exception as exc:  # a subscriber failed: retry later, keep partition order
                log.exception("outbox event %s (%s) failed", event.id, event.topic)
                failed += 1
                if event.partition:
                    blocked.add(event.partition)
                OutboxEvent.objects.filter(pk=event.pk).update(attempts=event.attempts + 1, last_error=repr(exc)[:2000])
                continue
            done_ids.append(event.id)
        if done_ids:
            OutboxEvent.objects.filter(id__in=done_ids).update(delivered_at=timezone.now())
            delivered = len(done_ids)
    return DeliveryResult(delivered=delivered, failed=failed)
