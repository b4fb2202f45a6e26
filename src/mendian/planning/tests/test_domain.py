"""Safety stock, reorder points and slow movers: hand-checked values."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from mendian.planning.domain import (
    InvalidPolicyInput,
    ReplenishmentParams,
    SlowMoverInput,
    assess_slow_mover,
    demand_over,
    stock_policy,
    z_value,
)


def test_safety_stock_reorder_point_and_order_up_to_by_hand():
    p = stock_policy(forecast=[10.0] * 28, sigma_daily=3.0, abc="A",
                     params=ReplenishmentParams(lead_time_days=7, review_period_days=7))
    z = 2.0537489106
    assert p.z == pytest.approx(z, abs=1e-6)
    ss_exact = z * 3 * math.sqrt(14)  # 23.0536
    assert p.explanation["values"]["safety_stock_exact"] == pytest.approx(ss_exact, abs=1e-3)
    assert (p.safety_stock, p.reorder_point, p.order_up_to) == (24, 94, 164)
    assert p.explanation["formulas"]["safety_stock"].endswith("= 24")
    assert p.explanation["inputs"]["service_level"] == 0.98


def test_lead_time_variability_adds_demand_over_the_spread():
    p = stock_policy(forecast=[10.0] * 28, sigma_daily=3.0, abc="A",
                     params=ReplenishmentParams(lead_time_days=7, review_period_days=7, lead_time_std_days=2))
    # √(14·9 + 10²·2²) = √526 = 22.9347; × 2.05375 = 47.102 → 48
    assert p.explanation["values"]["sigma_protection_period"] == pytest.approx(math.sqrt(526), abs=1e-3)
    assert p.safety_stock == 48


def test_service_level_by_class_and_configurable():
    base = {"forecast": [5.0] * 28, "sigma_daily": 2.0, "params": ReplenishmentParams(7, 0, 7)}
    b = stock_policy(abc="B", **base)
    c = stock_policy(abc="C", **base)
    assert (b.service_level, c.service_level) == (0.95, 0.90)
    assert b.safety_stock == math.ceil(z_value(0.95) * 2 * math.sqrt(14))  # 1.6449·7.483 = 12.31 → 13
    assert b.safety_stock == 13 and c.safety_stock == 10  # 1.2816·7.483 = 9.59 → 10
    custom = stock_policy(abc="C", service_levels={"A": 0.99, "B": 0.97, "C": 0.5}, **base)
    assert custom.safety_stock == 0 and custom.reorder_point == 35


def test_demand_over_fractional_days_and_past_the_horizon():
    assert demand_over([1, 2, 3, 4], 2.5) == 4.5
    assert demand_over([2, 2], 5) == 10
    assert demand_over([2, 2], 0) == 0


def test_negative_inputs_are_refused():
    with pytest.raises(InvalidPolicyInput):
        stock_policy(forecast=[1.0], sigma_daily=-1, abc="A", params=ReplenishmentParams())


def test_slow_mover_flags_markdown_and_transfer_out():
    a = assess_slow_mover(SlowMoverInput(on_hand=100, mean_daily=1.0, days_since_last_sale=40,
                                         list_price=Decimal("10.00")))
    assert a.flags == ("no_recent_sale", "overstock")
    assert a.weeks_of_cover == 14.29
    assert a.markdown_pct == Decimal("0.20") and a.proposed_price == Decimal("8.00")
    assert a.transfer_out_qty == 72  # keeps 4 weeks: 28


def test_dead_stock_and_a_healthy_item():
    dead = assess_slow_mover(SlowMoverInput(on_hand=5, mean_daily=0.0, days_since_last_sale=None,
                                            list_price=Decimal("9.99")))
    assert dead.flags == ("dead_stock", "severe_overstock")
    assert dead.proposed_price == Decimal("5.99") and dead.transfer_out_qty == 5
    ok = assess_slow_mover(SlowMoverInput(on_hand=20, mean_daily=2.0, days_since_last_sale=1,
                                          list_price=Decimal("9.99"), order_up_to=30))
    assert ok.flags == () and ok.transfer_out_qty == 0 and ok.proposed_price == Decimal("9.99")
