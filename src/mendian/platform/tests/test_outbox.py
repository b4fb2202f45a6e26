import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from mendian.platform import outbox
from mendian.platform.models import Job, OutboxEvent
from mendian.platform.outbox import outbox_deliver, outbox_publish, subscriber
from mendian.platform.worker import discover


@pytest.fixture
def subs(monkeypatch):
    discover()  # the real registrations happen once, into the real registry
    monkeypatch.setattr(outbox, "_SUBSCRIBERS", [])
    return outbox._SUBSCRIBERS


def _seen(events):
    return [(e.partition, e.payload["n"]) for e in events]


@pytest.mark.django_db
def test_events_are_delivered_once_to_matching_subscribers(subs):
    got, other = [], []
    subscriber("test.order.", name="t1")(got.append)
    subscriber("test.stock.", name="t2")(other.append)
    outbox_publish(topic="test.order.created", payload={"n": 1}, partition="KM001")
    outbox_publish(topic="test.order.paid", payload={"n": 2}, partition="KM001")
    outbox_publish(topic="test.stock.moved", payload={"n": 3}, partition="KM002")
    assert outbox_deliver() == outbox.DeliveryResult(delivered=3, failed=0)
    assert _seen(got) == [("KM001", 1), ("KM001", 2)] and _seen(other) == [("KM002", 3)]
    assert OutboxEvent.objects.filter(delivered_at__isnull=True).count() == 0
    assert outbox_deliver() == outbox.DeliveryResult(delivered=0, failed=0)
    assert len(got) == 2


@pytest.mark.django_db
def test_payload_decimals_and_dates_are_stored_as_strings(subs):
    from decimal import Decimal

    event = outbox_publish(topic="test.x", payload={"price": Decimal("12.50"), "day": dt.date(2026, 1, 2)})
    assert OutboxEvent.objects.get(pk=event.pk).payload == {"price": "12.50", "day": "2026-01-02"}


@pytest.mark.django_db
def test_a_failing_subscriber_blocks_only_its_partition_and_is_retried_later(subs):
    got = []
    fail = {"on": True}

    def flaky(event):
        if event.payload["n"] == 1 and fail["on"]:
            raise RuntimeError("subscriber down")
        got.append(event)

    subscriber("test.", name="flaky")(flaky)
    for n, part in [(1, "KM001"), (2, "KM002"), (3, "KM001"), (4, ""), (5, "KM002")]:
        outbox_publish(topic="test.e", payload={"n": n}, partition=part)
    t0 = timezone.now()
    assert outbox_deliver(now=t0) == outbox.DeliveryResult(delivered=3, failed=1)
    assert _seen(got) == [("KM002", 2), ("", 4), ("KM002", 5)]
    failed = OutboxEvent.objects.get(payload__n=1)
    assert failed.attempts == 1 and "subscriber down" in failed.last_error and failed.delivered_at is None
    assert failed.retry_at == t0 + dt.timedelta(seconds=2)
    # KM001's later event waits behind it; too early for a retry: nothing happens
    assert outbox_deliver(now=t0 + dt.timedelta(seconds=1)) == outbox.DeliveryResult(delivered=0, failed=0)
    # still failing at the retry: attempts counts, back-off doubles
    outbox_deliver(now=t0 + dt.timedelta(seconds=3))
    failed.refresh_from_db()
    assert failed.attempts == 2 and failed.retry_at == t0 + dt.timedelta(seconds=7)
    fail["on"] = False
    assert outbox_deliver(now=t0 + dt.timedelta(seconds=8)) == outbox.DeliveryResult(delivered=2, failed=0)
    assert _seen(got)[3:] == [("KM001", 1), ("KM001", 3)]  # partition order kept


@pytest.mark.django_db
def test_a_subscribers_writes_roll_back_with_a_failed_delivery_so_redelivery_is_idempotent(subs):
    calls = {"writer": 0}
    fail = {"on": True}

    def writer(event):
        calls["writer"] += 1
        Job.objects.get_or_create(kind=f"event-{event.id}")

    def other(event):
        if fail["on"]:
            raise RuntimeError("down")

    subscriber("test.", name="writer")(writer)
    subscriber("test.", name="other")(other)
    event = outbox_publish(topic="test.e", payload={"n": 1}, partition="KM001")
    outbox_deliver()
    assert Job.objects.count() == 0  # rolled back with the failed delivery
    fail["on"] = False
    outbox_deliver(now=timezone.now() + dt.timedelta(minutes=1))
    assert calls["writer"] == 2 and Job.objects.filter(kind=f"event-{event.id}").count() == 1
    # a redelivery (say a restored backup) changes nothing: the subscriber keys its write by event id
    OutboxEvent.objects.filter(pk=event.pk).update(delivered_at=None)
    outbox_deliver()
    assert calls["writer"] == 3 and Job.objects.count() == 1


@pytest.mark.django_db
def test_delivery_respects_the_limit_in_chunks(subs):
    got = []
    subscriber("test.", name="t")(got.append)
    for n in range(25):
        outbox_publish(topic="test.e", payload={"n": n}, partition=f"P{n % 3}")
    assert outbox_deliver(limit=10, chunk=4).delivered == 10
    assert outbox_deliver(limit=100, chunk=4).delivered == 15
    assert sorted(e.payload["n"] for e in got) == list(range(25))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_deliver_each_event_once_in_partition_order(subs):
    lock = threading.Lock()
    got = []

    def record(event):
        with lock:
            got.append((event.partition, event.payload["n"]))

    subscriber("test.", name="record")(record)
    OutboxEvent.objects.bulk_create([
        outbox.outbox_event_build(topic="test.e", payload={"n": n}, partition=f"P{n % 5}") for n in range(300)
    ])
    barrier = threading.Barrier(3)

    def worker():
        try:
            barrier.wait()
            while outbox_deliver(limit=40, chunk=7).delivered:
                pass
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while outbox_deliver().delivered:  # anything a worker left because another held its partition
        pass
    assert sorted(n for _, n in got) == list(range(300))  # each exactly once
    for p in range(5):
        ns = [n for part, n in got if part == f"P{p}"]
        assert ns == sorted(ns)


@pytest.mark.django_db
def test_a_backlog_behind_a_failing_event_is_skipped_without_blocking_other_partitions(subs, django_assert_max_num_queries):
    got = []

    def handler(event):
        if event.partition == "BAD":
            raise RuntimeError("down")
        got.append(event.payload["n"])

    subscriber("test.", name="h")(handler)
    OutboxEvent.objects.bulk_create([outbox.outbox_event_build(topic="test.e", payload={"n": n}, partition="BAD")
                                     for n in range(300)])
    outbox_publish(topic="test.e", payload={"n": 1000}, partition="GOOD")
    assert outbox_deliver(chunk=50) == outbox.DeliveryResult(delivered=1, failed=1)
    assert got == [1000]
    outbox_publish(topic="test.e", payload={"n": 1001}, partition="GOOD")
    with django_assert_max_num_queries(16):  # not a chunk per 50 waiting events (that was 30+)
        assert outbox_deliver(chunk=50) == outbox.DeliveryResult(delivered=1, failed=0)
    assert got == [1000, 1001]
