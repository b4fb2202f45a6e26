"""Collect the audit entries and outbox events of one use-case and insert each kind in one statement.

    with write_batch():
        ...                      # services call audit_record / outbox_publish as usual
    # at exit (still inside the caller's transaction): one INSERT for entries, one for events

Outside a batch, audit_record and outbox_publish insert at once. Must be used inside the
transaction of the change (the rows are written at the batch's exit, before the commit).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .models import AuditEntry, OutboxEvent


@dataclass
class _Batch:
    audit: list[AuditEntry] = field(default_factory=list)
    events: list[OutboxEvent] = field(default_factory=list)


_current: contextvars.ContextVar[_Batch | None] = contextvars.ContextVar("mendian_write_batch", default=None)


def current_batch() -> _Batch | None:
    return _current.get()


@contextmanager
def write_batch() -> Iterator[_Batch]:
    outer = _current.get()
    if outer is not None:  # nested: the outermost batch flushes
        yield outer
        return
    batch = _Batch()
    token = _current.set(batch)
    try:
        yield batch
    finally:
        _current.reset(token)
    if batch.audit:
        AuditEntry.objects.bulk_create(batch.audit)
    if batch.events:
        OutboxEvent.objects.bulk_create(batch.events)
