"""Dock slots under real concurrency (PostgreSQL): threads, each with its own connection."""

from __future__ import annotations

import datetime as dt

import pytest

from mendian.core.errors import Conflict
from mendian.core.testing import run_threads
from mendian.core.timeutil import local_tz
from mendian.purchasing import services
from mendian.purchasing.models import DeliveryAppointment, DockSlot
from mendian.purchasing.selectors import purchasing_access

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _notices(world, n: int) -> list[str]:
    buyer, supplier = world["users"]["buyer"], world["users"]["supplier"]
    order = services.purchase_order_suggest(actor=buyer, access=purchasing_access(buyer),
                                            supplier_code="DAIRY").orders[0]
    for step in (services.purchase_order_approve, services.purchase_order_send):
        step(actor=buyer, access=purchasing_access(buyer), number=order.number)
    services.purchase_order_confirm(actor=supplier, access=purchasing_access(supplier), number=order.number)
    return [services.ship_notice_create(actor=supplier, access=purchasing_access(supplier), order_number=order.number,
                                        lines=[services.NoticeLine(world["milk"].pk, 12)]).number for _ in range(n)]


def test_eight_bookings_race_for_a_slot_of_three(world):
    notices = _notices(world, 8)
    start = dt.datetime.combine(world["tomorrow"], dt.time(8), tzinfo=local_tz())
    DockSlot.objects.filter(starts_at=start).update(capacity=3)
    supplier = world["users"]["supplier"]

    def work(i: int):
        return services.appointment_book(actor=supplier, access=purchasing_access(supplier),
                                         notice_number=notices[i], slot_start=start)

    results = run_threads(8, work)
    ok = [r for r in results if isinstance(r, DeliveryAppointment)]
    full = [r for r in results if isinstance(r, Conflict) and r.code == "slot_full"]
    assert (len(ok), len(full)) == (3, 5), results
    assert DockSlot.objects.get(starts_at=start).booked == 3
    assert DeliveryAppointment.objects.filter(slot__starts_at=start, status="booked").count() == 3


def test_one_notice_booked_from_many_threads_gets_one_slot(world):
    (notice,) = _notices(world, 1)
    supplier = world["users"]["supplier"]
    starts = [dt.datetime.combine(world["tomorrow"], dt.time(h), tzinfo=local_tz()) for h in (8, 9)]

    def work(i: int):
        return services.appointment_book(actor=supplier, access=purchasing_access(supplier), notice_number=notice,
                                         slot_start=starts[i % 2])

    results = run_threads(6, work)
    ok = [r for r in results if isinstance(r, DeliveryAppointment)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert (len(ok), len(refused)) == (1, 5), results
    assert sum(DockSlot.objects.filter(starts_at__in=starts).values_list("booked", flat=True)) == 1
