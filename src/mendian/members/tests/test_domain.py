import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from mendian.members import domain as d

SH = ZoneInfo("Asia/Shanghai")
TIERS = [d.TierDef("NORMAL", 0), d.TierDef("SILVER", 1000), d.TierDef("GOLD", 5000)]


def test_masks_mobile_keeping_first_three_and_last_four():
    assert d.mask_mobile("13812341234") == "138****1234"
    assert d.mask_mobile("1234") == "****"


@pytest.mark.parametrize("raw,expected", [("138 1234 1234", "13812341234"), ("+8613812341234", "13812341234"),
                                          ("8613812341234", "13812341234"), ("12812341234", None),
                                          ("1381234123", None), ("abc", None)])
def test_normalises_mainland_mobiles(raw, expected):
    assert d.normalise_mobile(raw) == expected


def test_growth_is_whole_yuan_paid():
    assert d.growth_for_amount(Decimal("199.99")) == 199
    assert d.growth_for_amount(Decimal("-5")) == 0


def test_tier_for_growth_picks_highest_reached():
    assert d.tier_for_growth(TIERS, 0) == "NORMAL"
    assert d.tier_for_growth(TIERS, 999) == "NORMAL"
    assert d.tier_for_growth(TIERS, 1000) == "SILVER"
    assert d.tier_for_growth(TIERS, 12000) == "GOLD"
    assert d.tier_for_growth([], 12000) == ""


def test_spend_upgrades_at_once_but_never_downgrades():
    assert d.tier_on_growth(TIERS, "NORMAL", 5200) == d.TierDecision("GOLD", "upgrade")
    assert d.tier_on_growth(TIERS, "GOLD", 10) == d.TierDecision("GOLD", "")


def test_review_downgrades_to_what_the_trailing_growth_supports():
    assert d.tier_on_review(TIERS, "GOLD", 1500) == d.TierDecision("SILVER", "downgrade")
    assert d.tier_on_review(TIERS, "GOLD", 5000) == d.TierDecision("GOLD", "")
    assert d.tier_on_review(TIERS, "", 1000) == d.TierDecision("SILVER", "upgrade")


def test_points_earned_by_most_specific_rule_times_multiplier_rounded_once():
    rules = [d.EarnRule(Decimal("1")), d.EarnRule(Decimal("2"), category="FRESH"),
             d.EarnRule(Decimal("3"), channel="app"), d.EarnRule(Decimal("5"), store="KM001")]
    parts = [d.SpendPart(Decimal("10.50"), ("FOOD", "FRESH")), d.SpendPart(Decimal("20.50"), ("HOME",))]
    # pos at KM002: fresh 10.50×2 = 21, home 20.50×1 = 20.5 → 41.5 × 1.5 = 62.25 → 62
    assert d.points_earned(parts, rules, channel="pos", store="KM002", multiplier=Decimal("1.5")) == 62
    # KM001: home earns at the store rule (5), fresh keeps the category rule (2): 21 + 102.5 = 123
    assert d.points_earned(parts, rules, channel="pos", store="KM001") == 123
    assert d.points_earned(parts, [], channel="pos", store="KM001") == 0


def test_points_expire_at_the_end_of_the_year_after_earning():
    assert d.points_expiry(dt.datetime(2026, 1, 1, 0, 0, tzinfo=SH), SH) == dt.datetime(2028, 1, 1, tzinfo=SH)
    # 2026-12-31 20:00 UTC is already 2027-01-01 in Shanghai
    assert d.points_expiry(dt.datetime(2026, 12, 31, 20, 0, tzinfo=dt.UTC), SH) == dt.datetime(2029, 1, 1, tzinfo=SH)


def test_fifo_takes_soonest_expiring_lots_first():
    e1, e2 = dt.datetime(2027, 1, 1, tzinfo=SH), dt.datetime(2028, 1, 1, tzinfo=SH)
    lots = [d.Lot(3, 50, e2), d.Lot(1, 30, e1), d.Lot(2, 40, e1)]
    assert d.fifo_take(lots, 90) == [(1, 30), (2, 40), (3, 20)]
    assert d.fifo_take(lots, 0) == []
    with pytest.raises(ValueError):
        d.fifo_take(lots, 121)


def test_points_value_and_max_redeemable_share():
    assert d.points_value(1234, 100) == Decimal("12.34")
    assert d.points_value(1, 100) == Decimal("0.01")
    # ¥99.99 × 50% = ¥49.99 → 4999 points at most
    assert d.max_redeemable(Decimal("99.99"), 10_000, points_per_yuan=100, max_share=Decimal("0.5")) == 4999
    assert d.max_redeemable(Decimal("99.99"), 300, points_per_yuan=100, max_share=Decimal("0.5")) == 300
    # 200 points = ¥1: only whole fen (2 points per fen)
    assert d.max_redeemable(Decimal("10.01"), 10_000, points_per_yuan=200, max_share=Decimal("0.5")) == 1000


def test_proportional_clawback_is_cumulative_and_exact_on_full_refund():
    # 333 points earned on ¥100; refund ¥33.33 then ¥66.67
    first = d.proportional_due(333, Decimal("33.33"), Decimal("100"), 0)
    assert first == 111
    assert d.proportional_due(333, Decimal("100"), Decimal("100"), first) == 222
    assert d.proportional_due(333, Decimal("150"), Decimal("100"), 0) == 333
    assert d.proportional_due(0, Decimal("50"), Decimal("100"), 0) == 0


def test_coupon_window_n_days_ends_at_local_midnight():
    issued = dt.datetime(2026, 3, 10, 15, 0, tzinfo=SH)
    assert d.coupon_window(issued_at=issued, valid_from=None, valid_to=None, valid_days=7, tz=SH) == (
        issued, dt.datetime(2026, 3, 17, tzinfo=SH))
    fixed_to = dt.datetime(2026, 4, 1, tzinfo=SH)
    assert d.coupon_window(issued_at=issued, valid_from=None, valid_to=fixed_to, valid_days=None, tz=SH) == (
        issued, fixed_to)


def test_haversine_one_degree_of_meridian_is_111_2_km():
    assert round(d.haversine_km(25.0, 102.0, 26.0, 102.0), 3) == 111.195
    assert round(d.haversine_km(0.0, 0.0, 0.0, 1.0), 3) == 111.195
    assert d.haversine_km(25.0, 102.0, 25.0, 102.0) == 0.0
