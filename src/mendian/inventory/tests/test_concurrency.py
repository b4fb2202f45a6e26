"""Real concurrency on PostgreSQL: threads, each with its own connection, racing on the same rows."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from mendian.catalog.tests.factories import SkuFactory
from mendian.core.testing import run_threads
from mendian.inventory.errors import InsufficientStock
from mendian.inventory.models import StockMovement
from mendian.inventory.services import StockLine, stock_ledger_check, stock_reserve, stock_sell
from mendian.inventory.tests.factories import level, receive, totals
from mendian.org.tests.factories import LocationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_fifty_reservations_of_one_unit_with_ten_available():
    store = LocationFactory(code="KM001")
    sku = SkuFactory(code="HOT")
    receive(store, sku, 10)

    def work(i: int):
        return stock_reserve(location_id=store.pk, lines=[StockLine(sku.pk, 1)], doc_type="order",
                             doc_ref=f"O{i}", user_id=None)

    results = run_threads(50, work)
    ok = [r for r in results if isinstance(r, list)]
    refused = [r for r in results if isinstance(r, InsufficientStock)]
    others = [r for r in results if not isinstance(r, (list, InsufficientStock))]
    assert others == []
    assert (len(ok), len(refused)) == (10, 40)
    lv = level(store, sku)
    assert (lv.on_hand, lv.reserved, lv.available) == (10, 10, 0)
    assert StockMovement.objects.filter(reason="reservation").count() == 10
    assert stock_ledger_check() == []


def test_multi_line_reservations_in_different_orders_never_deadlock():
    store = LocationFactory(code="KM001")
    skus = [SkuFactory() for _ in range(6)]
    lot_sku = SkuFactory(lot_tracked=True)
    for s in skus:
        receive(store, s, 10_000)
    receive(store, lot_sku, 5_000, lot="A", expiry=dt.date(2099, 1, 1))
    receive(store, lot_sku, 5_000, lot="B", expiry=dt.date(2099, 2, 1))
    everything = [*skus, lot_sku]

    def work(i: int):
        rng = random.Random(i)
        done = 0
        for j in range(8):
            chosen = rng.sample(everything, rng.randint(3, len(everything)))  # a random order each time
            lines = [StockLine(s.pk, 1) for s in chosen]
            if (i + j) % 3 == 0:  # POS sales race with the reservations on the same rows
                stock_sell(location_id=store.pk, lines=lines, doc_type="pos", doc_ref=f"P{i}-{j}", user_id=None)
            else:
                stock_reserve(location_id=store.pk, lines=lines, doc_type="order", doc_ref=f"O{i}-{j}", user_id=None)
            done += len(lines)
        return done

    results = run_threads(20, work)
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []  # no deadlock, no other failure: every thread completed
    sold = StockMovement.objects.filter(reason="sale")
    reserved = StockMovement.objects.filter(reason="reservation")
    assert sum(-m.on_hand_delta for m in sold) + sum(m.reserved_delta for m in reserved) == sum(results)
    assert stock_ledger_check() == []


def test_pos_sales_and_reservations_on_one_sku_keep_balances_equal_to_ledger():
    store = LocationFactory(code="KM001")
    sku = SkuFactory(code="HOT")
    receive(store, sku, 30)

    def work(i: int):
        outcome = {"sold": 0, "reserved": 0, "refused": 0}
        for j in range(5):
            if i % 2:
                stock_sell(location_id=store.pk, lines=[StockLine(sku.pk, 1)], doc_type="pos", doc_ref=f"P{i}-{j}",
                           user_id=None)
                outcome["sold"] += 1
            else:
                try:
                    stock_reserve(location_id=store.pk, lines=[StockLine(sku.pk, 1)], doc_type="order",
                                  doc_ref=f"O{i}-{j}", user_id=None)
                    outcome["reserved"] += 1
                except InsufficientStock:
                    outcome["refused"] += 1
        return outcome

    results = run_threads(16, work)
    assert [r for r in results if isinstance(r, Exception)] == []
    sold = sum(r["sold"] for r in results)
    reserved = sum(r["reserved"] for r in results)
    assert sold == 40
    on_hand, res = totals(store, sku)
    assert (on_hand, res) == (30 - sold, reserved)
    assert reserved <= 30  # a reservation never took available below zero when it was made
    assert stock_ledger_check() == []


def test_concurrent_receipts_keep_the_moving_average():
    from decimal import Decimal

    from mendian.inventory.models import StockCost

    store = LocationFactory(code="KM001")
    sku = SkuFactory(code="RICE")
    costs = [Decimal(c) for c in ("2.00", "4.00", "3.00", "5.00", "6.00", "1.00", "2.50", "3.50", "4.50", "5.50")]

    def work(i: int):
        receive(store, sku, 10, costs[i], ref=f"GRN{i}")

    results = run_threads(len(costs), work)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert level(store, sku).on_hand == 100
    avg = StockCost.objects.get(location=store, sku=sku).avg_cost
    assert abs(avg - sum(costs) / len(costs)) < Decimal("0.001")  # a lost update would be far off
    assert stock_ledger_check() == []


def test_concurrent_pos_sales_of_a_sku_never_stocked_create_one_balance():
    from mendian.inventory.models import CountTask, StockLevel

    store = LocationFactory(code="KM001")
    sku = SkuFactory(code="NEW")

    def work(i: int):
        return stock_sell(location_id=store.pk, lines=[StockLine(sku.pk, 1)], doc_type="pos", doc_ref=f"P{i}",
                          user_id=None)

    results = run_threads(10, work)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert StockLevel.objects.filter(location=store, sku=sku).count() == 1
    assert level(store, sku).on_hand == -10
    assert CountTask.objects.filter(location=store, sku=sku, status="open").count() == 1
    assert stock_ledger_check() == []
