from decimal import Decimal

import pytest

from mendian.core.money import allocate, line_amount, tax_included, to_money


def test_rounds_half_up_to_the_fen():
    assert to_money(Decimal("0.005")) == Decimal("0.01")
    assert to_money(Decimal("2.675")) == Decimal("2.68")
    assert to_money(Decimal("-0.005")) == Decimal("-0.01")


def test_refuses_float_money():
    with pytest.raises(TypeError):
        to_money(0.1)


def test_weight_goods_are_priced_per_kilogram():
    assert line_amount(Decimal("25.80"), 455, 1000) == Decimal("11.74")


def test_tax_is_contained_in_the_price():
    assert tax_included(Decimal("113.00"), Decimal("13")) == Decimal("13.00")


def test_allocation_sums_exactly_to_the_total():
    parts = allocate(Decimal("10.00"), [Decimal("1"), Decimal("1"), Decimal("1")])
    assert parts == [Decimal("3.34"), Decimal("3.33"), Decimal("3.33")]
    assert sum(parts) == Decimal("10.00")


def test_negative_allocation_sums_exactly():
    parts = allocate(Decimal("-0.05"), [3, 3, 1])
    assert sum(parts) == Decimal("-0.05")
