import datetime as dt
from decimal import Decimal

import pytest

from mendian.inventory.domain import (
    BookBalance,
    LotBalance,
    choose_lots,
    compare_ledger,
    distribute_count,
    moving_average,
)

D = dt.date


def lot(level_id, lot_id, expiry, on_hand, reserved=0):
    return LotBalance(level_id, lot_id, f"L{lot_id}" if lot_id else None, expiry, on_hand, reserved)


def test_prefers_lots_expiring_first():
    lots = [lot(1, 11, D(2027, 3, 1), 5), lot(2, 12, D(2027, 1, 1), 5), lot(3, 13, D(2027, 2, 1), 5)]
    choice = choose_lots(lots, 7)
    assert [(t.lot_id, t.quantity) for t in choice.takes] == [(12, 5), (13, 2)]
    assert choice.short == 0


def test_takes_only_available_and_skips_reserved_units():
    lots = [lot(1, 11, D(2027, 1, 1), 5, reserved=4), lot(2, 12, D(2027, 2, 1), 5)]
    choice = choose_lots(lots, 3)
    assert [(t.lot_id, t.quantity) for t in choice.takes] == [(11, 1), (12, 2)]


def test_lots_without_expiry_come_after_dated_lots_and_lotless_last():
    lots = [lot(1, None, None, 5), lot(2, 12, None, 5), lot(3, 13, D(2030, 1, 1), 5)]
    choice = choose_lots(lots, 12)
    assert [(t.level_id, t.quantity) for t in choice.takes] == [(3, 5), (2, 5), (1, 2)]


def test_reports_short_quantity_and_available():
    choice = choose_lots([lot(1, 11, D(2027, 1, 1), 3), lot(2, 12, D(2027, 2, 1), -2)], 5)
    assert choice.short == 2
    assert choice.available == 3


def test_skips_expired_lots():
    lots = [lot(1, 11, D(2026, 1, 1), 5), lot(2, 12, D(2027, 1, 1), 5)]
    choice = choose_lots(lots, 3, today=D(2026, 6, 1))
    assert [(t.lot_id, t.quantity) for t in choice.takes] == [(12, 3)]
    assert choice.available == 5


def test_allow_negative_puts_the_remainder_on_the_lotless_balance():
    lots = [lot(1, 11, D(2027, 1, 1), 2)]
    choice = choose_lots(lots, 5, allow_negative=True)
    assert [(t.level_id, t.lot_id, t.quantity) for t in choice.takes] == [(1, 11, 2), (None, None, 3)]
    assert choice.short == 0


def test_allow_negative_merges_into_an_existing_lotless_take():
    choice = choose_lots([lot(7, None, None, 2)], 5, allow_negative=True)
    assert [(t.level_id, t.quantity) for t in choice.takes] == [(7, 5)]


def test_quantity_must_be_positive():
    with pytest.raises(ValueError):
        choose_lots([], 0)


def test_moving_average_weights_by_quantity():
    assert moving_average(on_hand=10, avg_cost=Decimal("4"), quantity=30, unit_cost=Decimal("6")) == Decimal("5.5000")


def test_moving_average_restarts_when_nothing_on_hand():
    assert moving_average(on_hand=-3, avg_cost=Decimal("4"), quantity=5, unit_cost=Decimal("7.12345")) == Decimal("7.1235")


def test_count_fills_latest_lots_first_and_clears_lotless():
    balances = [lot(1, 11, D(2027, 1, 1), 5), lot(2, 12, D(2027, 3, 1), 4), lot(3, None, None, -2)]
    plan = {b.level_id: q for b, q in distribute_count(balances, 6)}
    assert plan == {2: 4, 1: 2, 3: 0}


def test_count_surplus_goes_to_latest_lot():
    balances = [lot(1, 11, D(2027, 1, 1), 1), lot(2, 12, D(2027, 3, 1), 1)]
    plan = {b.level_id: q for b, q in distribute_count(balances, 5)}
    assert plan == {2: 4, 1: 1}


def test_count_of_unknown_sku_creates_lotless_balance():
    [(b, q)] = distribute_count([], 3)
    assert (b.level_id, b.lot_id, q) == (None, None, 3)


def test_compare_ledger_names_differences():
    books = [BookBalance(1, "KM001", "A", None, 5, 0), BookBalance(2, "KM001", "B", "L1", 3, 1)]
    problems = compare_ledger(books, {1: (5, 0), 2: (4, 1)})
    assert [(p.level_id, p.ledger_on_hand) for p in problems] == [(2, 4)]
    assert "KM001 B lot L1: on hand 3 vs ledger 4" in problems[0].describe()
