"""write_batch: the audit entries and outbox events of one use-case go in with one statement each,
with exactly the values an unbatched write stores, and the sealed chain verifies."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from mendian.platform.audit import audit_record, audit_seal, audit_verify
from mendian.platform.batch import write_batch
from mendian.platform.models import AuditEntry, OutboxEvent
from mendian.platform.outbox import outbox_publish

pytestmark = pytest.mark.django_db


def test_a_batch_writes_each_kind_in_one_statement(django_assert_num_queries):
    with transaction.atomic():
        with django_assert_num_queries(2):
            with write_batch():
                audit_record(actor="hq", action="order.create", object_type="order", object_ref="KM001-1",
                             before=None, after={"total": Decimal("12.50"), "note": "引号 \"quoted\""})
                audit_record(actor="hq", action="order.pay", object_type="order", object_ref="KM001-1",
                             before={"status": "pending"}, after={"status": "paid"})
                outbox_publish(topic="order.created", partition="KM001", payload={"number": "KM001-1", "n": 3})
                outbox_publish(topic="order.paid", partition="KM001", payload={"number": "KM001-1"})
    entries = list(AuditEntry.objects.order_by("id"))
    assert [(e.action, e.object_ref, e.before, e.after, e.seal_hash, e.block_id) for e in entries] == [
        ("order.create", "KM001-1", None, {"total": "12.50", "note": "引号 \"quoted\""}, "", None),
        ("order.pay", "KM001-1", {"status": "pending"}, {"status": "paid"}, "", None),
    ]
    events = list(OutboxEvent.objects.order_by("id"))
    assert [(e.topic, e.partition, e.payload, e.attempts, e.delivered_at) for e in events] == [
        ("order.created", "KM001", {"number": "KM001-1", "n": 3}, 0, None),
        ("order.paid", "KM001", {"number": "KM001-1"}, 0, None),
    ]
    assert all(abs((timezone.now() - e.at).total_seconds()) < 60 for e in entries)


def test_batched_entries_seal_and_verify():
    with transaction.atomic(), write_batch():
        for i in range(3):
            audit_record(actor="hq", action="price.change", object_type="sku", object_ref=f"S{i}",
                         before={"price": "1.00"}, after={"price": f"{i}.50"})
    AuditEntry.objects.update(at=timezone.now() - dt.timedelta(minutes=5))
    sealed = audit_seal()
    assert sealed.entries == 3
    assert audit_verify(anchor=sealed.head_hash).ok
