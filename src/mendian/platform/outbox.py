"""The event outbox: events are written in the same transaction as the change they report, and
delivered at least once to in-process subscribers by the worker (``mendian worker`` or Celery).

Subscribers register with ``@subscriber("topic.prefix")`` in ``<app>/subscribers.py``. A subscriber
runs inside the delivery transaction, so its database writes commit together with the "delivered"
mark; anything it does outside the database (an HTTP call) may be repeated after a crash or a
failure of another subscriber of the same event, so it must be idempotent (use ``event.id`` as
the idempotency key). Order is kept per partition (the location code): when delivery of an
event fails, later events of the same partition wait for it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
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
    payload = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))  # Decimal, dates -> strings
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


RETRY_MAX_DELAY = dt.timedelta(minutes=5)


def retry_delay(attempts: int) -> dt.timedelta:
    """Back off after the n-th failed attempt: 2 s, 4 s, 8 s … at most 5 minutes."""
    return min(dt.timedelta(seconds=2 ** min(attempts, 16)), RETRY_MAX_DELAY)


def _deliverable_prefix(events: list[OutboxEvent], blocked: set[str]) -> list[OutboxEvent]:
    """The events of this chunk that may be delivered now without breaking order in their partition.

    An event of partition P may go only when every earlier undelivered event of P is in this chunk
    (locked by us) and goes first. Earlier events held by another worker, or waiting for a retry,
    hold back the rest of P.
    """
    parts = {e.partition for e in events if e.partition}
    pending: dict[str, list[int]] = {}
    if parts:
        max_id = max(e.id for e in events)
        for part, event_id in (OutboxEvent.objects.filter(delivered_at__isnull=True, partition__in=parts,
                                                          id__lte=max_id)
                               .order_by("id").values_list("partition", "id")):
            pending.setdefault(part, []).append(event_id)
    position = {p: 0 for p in parts}
    out = []
    for event in events:
        p = event.partition
        if not p:
            out.append(event)
            continue
        if p in blocked:
            continue
        ids = pending.get(p, [])
        i = position[p]
        if i < len(ids) and ids[i] == event.id:
            position[p] = i + 1
            out.append(event)
        else:
            blocked.add(p)
    return out


def _handle(event: OutboxEvent) -> None:
    for prefix, _key, handler in _SUBSCRIBERS:
        if event.topic.startswith(prefix):
            handler(event)


def outbox_deliver(*, limit: int = 500, chunk: int = 100, now: dt.datetime | None = None) -> DeliveryResult:
    """Deliver pending events to the subscribers, at least once and in order per partition.

    Events are taken in id order, ``chunk`` at a time, each chunk in one transaction: every event's
    subscribers run in a savepoint, and the event is marked delivered in the same transaction, so a
    subscriber's database writes happen exactly once. A failing event is retried later (with back-off)
    and holds back only the later events of its own partition. On PostgreSQL several workers share the
    work: rows are locked ``FOR UPDATE SKIP LOCKED`` and a partition whose earlier events another
    worker holds is left to that worker.
    """
    delivered = failed = 0
    blocked: set[str] = set()
    after_id = 0
    while delivered + failed < limit:
        now_ = now or timezone.now()
        with transaction.atomic():
            qs = (OutboxEvent.objects.filter(delivered_at__isnull=True, id__gt=after_id)
                  .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now_)).order_by("id"))
            if blocked:  # a backlog behind a failing event is not scanned again in this run
                qs = qs.exclude(partition__in=sorted(blocked))
            if settings.IS_POSTGRES:
                qs = qs.select_for_update(skip_locked=True)
            events = list(qs[: min(chunk, limit - delivered - failed)])
            if not events:
                break
            after_id = events[-1].id
            done_ids: list[int] = []
            for event in _deliverable_prefix(events, blocked):
                if event.partition and event.partition in blocked:
                    continue
                try:
                    with transaction.atomic():
                        _handle(event)
                except Exception as exc:  # a subscriber failed: retry later, keep partition order
                    log.exception("outbox event %s (%s) failed", event.id, event.topic)
                    failed += 1
                    if event.partition:
                        blocked.add(event.partition)
                    attempts = event.attempts + 1
                    OutboxEvent.objects.filter(pk=event.pk).update(
                        attempts=attempts, last_error=repr(exc)[:2000], retry_at=now_ + retry_delay(attempts))
                    continue
                done_ids.append(event.id)
            if done_ids:
                OutboxEvent.objects.filter(id__in=done_ids).update(delivered_at=now_, retry_at=None)
                delivered += len(done_ids)
    return DeliveryResult(delivered=delivered, failed=failed)
