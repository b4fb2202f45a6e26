"""Hand-computed totals for every promotion type, coupon kind, points, and the known bugs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from mendian.core.money import allocate, line_amount
from mendian.promotions.domain import (
    Benefit,
    BundleItem,
    CartLine,
    CartSnapshot,
    Condition,
    CouponInput,
    CouponKind,
    Gift,
    Kind,
    MemberInput,
    PointsPolicy,
    Rule,
    Scope,
    Tier,
    apply_promotions,
)

CST = dt.timezone(dt.timedelta(hours=8))
AT = dt.datetime(2026, 11, 25, 12, 0, tzinfo=CST)  # a Wednesday, noon


def line(sku: str, qty: int, price: str, cats: tuple[str, ...] = (), brand: str = "", puq: int = 1) -> CartLine:
    return CartLine(sku=sku, quantity=qty, unit_price=D(price), category_path=cats, brand=brand, price_unit_qty=puq)


def cart(*lines: CartLine, **kw) -> CartSnapshot:
    kw.setdefault("at", AT)
    return CartSnapshot(lines=tuple(lines), **kw)


def ladder(*pairs: tuple[str, str]) -> tuple[Tier, ...]:
    return tuple(Tier(D(a), D(b)) for a, b in pairs)


def skus(*codes: str) -> Condition:
    return Condition(scope=Scope(skus=frozenset(codes)))


def check_sums(res) -> None:
    """Allocations sum exactly: per line, per order, and no amount is negative."""
    assert sum((ln.discount for ln in res.lines), D(0)) == res.discount
    for ln in res.lines:
        non_points = sum((a.amount for a in ln.adjustments if a.promotion != "points"), D(0))
        assert non_points == ln.discount
        assert ln.amount == ln.list_amount - ln.discount
        assert ln.amount >= 0
    assert sum((ln.points_value for ln in res.lines), D(0)) == res.points_value
    assert res.total >= 0 and res.payable >= 0
    assert res.total == res.subtotal - res.discount + res.shipping_fee - res.shipping_discount


# ---- 满减 -----------------------------------------------------------------------------------------


def test_spend_5_get_1_off_gives_exactly_one_yuan_not_0_98():
    res = apply_promotions(cart(line("A", 1, "5.00")), [Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("5", "1"))))])
    assert (res.discount, res.total) == (D("1.00"), D("4.00"))
    check_sums(res)


def test_spend_5_get_1_off_over_three_lines_allocates_exactly_one_yuan():
    res = apply_promotions(cart(line("A", 1, "1.67"), line("B", 1, "1.67"), line("C", 1, "1.66")),
                           [Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("5", "1"))))])
    assert [ln.discount for ln in res.lines] == [D("0.34"), D("0.33"), D("0.33")]
    assert res.total == D("4.00")
    check_sums(res)


@pytest.mark.parametrize(("amount", "off"), [("99.99", "0.00"), ("100.00", "10.00"), ("199.99", "10.00"),
                                             ("200.00", "30.00"), ("500.00", "30.00")])
def test_ladder_takes_the_highest_tier_met(amount, off):
    rule = Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("100", "10"), ("200", "30"))))
    res = apply_promotions(cart(line("A", 1, amount)), [rule])
    assert res.discount == D(off)


@pytest.mark.parametrize(("amount", "off"), [("99", "0.00"), ("100", "10.00"), ("250", "20.00"), ("350", "25.00")])
def test_repeating_spend_every_100_get_10_off_with_a_cap_of_25(amount, off):
    rule = Rule("EV", Kind.AMOUNT_OFF, benefit=Benefit(every=D("100"), amount=D("10"), max_discount=D("25")))
    assert apply_promotions(cart(line("A", 1, amount)), [rule]).discount == D(off)


def test_amount_off_counts_only_covered_lines_and_excludes_win():
    rule = Rule("MJ", Kind.AMOUNT_OFF, condition=Condition(scope=Scope(categories=frozenset({"FOOD"}),
                                                                       exclude_brands=frozenset({"LUX"}))),
                benefit=Benefit(tiers=ladder(("100", "20"))))
    c = cart(line("A", 1, "60", ("FOOD", "SNACK")), line("B", 1, "50", ("FOOD",), brand="LUX"), line("C", 1, "50", ("DRINK",)))
    res = apply_promotions(c, [rule])
    assert res.discount == D("0.00")
    assert res.not_applied[0].reason == "spend ¥40.00 more"
    c2 = cart(line("A", 2, "60", ("FOOD", "SNACK")), line("B", 1, "50", ("FOOD",), brand="LUX"))
    res2 = apply_promotions(c2, [rule])
    assert [ln.discount for ln in res2.lines] == [D("20.00"), D("0.00")]


# ---- 满折 / 满件折 -------------------------------------------------------------------------------


def test_spend_200_pay_90_percent():
    rule = Rule("ZK", Kind.SPEND_PERCENT, benefit=Benefit(tiers=ladder(("200", "0.9"))))
    assert apply_promotions(cart(line("A", 1, "250")), [rule]).discount == D("25.00")
    assert apply_promotions(cart(line("A", 1, "199")), [rule]).discount == D("0.00")


def test_buy_3_pay_80_percent_rounds_half_up_to_the_fen():
    rule = Rule("JZ", Kind.QTY_PERCENT, benefit=Benefit(tiers=ladder(("3", "0.8"))))
    assert apply_promotions(cart(line("A", 3, "3.33")), [rule]).discount == D("2.00")  # 9.99 * 0.2 = 1.998
    assert apply_promotions(cart(line("A", 2, "3.33")), [rule]).discount == D("0.00")


# ---- 第N件 / 买X送Y -------------------------------------------------------------------------------


def test_second_item_half_price_discounts_the_cheaper_unit_of_each_pair():
    rule = Rule("N2", Kind.NTH_ITEM, condition=Condition(scope=Scope(categories=frozenset({"FOOD"}))),
                benefit=Benefit(n=2, rate=D("0.5")))
    res = apply_promotions(cart(line("A", 1, "30", ("FOOD",)), line("B", 1, "20", ("FOOD",))), [rule])
    assert [ln.discount for ln in res.lines] == [D("0.00"), D("10.00")]
    res3 = apply_promotions(cart(line("A", 3, "10", ("FOOD",))), [rule])
    assert res3.discount == D("5.00")


def test_buy_2_get_1_free_frees_the_cheapest_of_each_group_of_three():
    rule = Rule("B2G1", Kind.BUY_X_GET_Y, benefit=Benefit(x=2, y=1))
    res = apply_promotions(cart(line("A", 1, "10"), line("B", 1, "8"), line("C", 1, "6"), line("D", 1, "5")), [rule])
    assert [ln.discount for ln in res.lines] == [D("0"), D("0"), D("6.00"), D("0")]


def test_count_based_rules_skip_goods_sold_by_weight():
    rule = Rule("B1G1", Kind.BUY_X_GET_Y, benefit=Benefit(x=1, y=1))
    res = apply_promotions(cart(line("W", 1500, "39.80", puq=1000), line("A", 1, "5")), [rule])
    assert res.discount == D("0.00")


# ---- gifts, add-on, bundles ----------------------------------------------------------------------


def test_gift_line_is_returned_when_the_threshold_holds_and_the_total_is_unchanged():
    rule = Rule("GIFT", Kind.GIFT, condition=Condition(min_amount=D("100")),
                benefit=Benefit(gifts=(Gift("G1", 1, D("12.90")),)))
    res = apply_promotions(cart(line("A", 1, "100")), [rule])
    assert res.total == D("100.00")
    assert [(g.promotion, g.sku, g.quantity, g.value) for g in res.gifts] == [("GIFT", "G1", 1, D("12.90"))]
    below = apply_promotions(cart(line("A", 1, "99.50")), [rule])
    assert below.gifts == ()
    assert below.not_applied[0].reason == "spend ¥0.50 more"
    assert below.hints[0].promotion == "GIFT" and below.hints[0].add_amount == D("0.50")


def test_repeating_gift_gives_one_set_per_multiple_within_gift_stock():
    rule = Rule("GIFT", Kind.GIFT, condition=Condition(min_amount=D("100")),
                benefit=Benefit(gifts=(Gift("G1", 2, D("1")),), repeat=True, quota_left=2))
    res = apply_promotions(cart(line("A", 1, "350")), [rule])
    assert [(g.sku, g.quantity) for g in res.gifts] == [("G1", 4)]  # 3 sets met, 2 in stock, 2 units each


def test_addon_deal_prices_the_addon_after_spending_on_other_items():
    rule = Rule("JJG", Kind.ADDON, condition=Condition(min_amount=D("50")),
                benefit=Benefit(addon_skus=frozenset({"X"}), price=D("1.00"), max_units=1))
    res = apply_promotions(cart(line("A", 1, "50"), line("X", 2, "9.90")), [rule])
    assert [ln.discount for ln in res.lines] == [D("0.00"), D("8.90")]
    res2 = apply_promotions(cart(line("A", 1, "40"), line("X", 2, "9.90")), [rule])
    assert res2.discount == D("0.00")  # the add-on itself does not count towards the threshold


def test_bundle_price_applies_per_complete_set_and_splits_by_item_value():
    rule = Rule("TC", Kind.BUNDLE, benefit=Benefit(items=(BundleItem("A", 1), BundleItem("B", 1)), price=D("20")))
    res = apply_promotions(cart(line("A", 2, "10"), line("B", 1, "15")), [rule])
    assert [ln.discount for ln in res.lines] == [D("2.00"), D("3.00")]
    assert res.total == D("30.00")


# ---- item prices: special, flash with quotas, tier ------------------------------------------------


def test_flash_sale_units_beyond_the_quota_pay_the_regular_price_and_the_result_says_so():
    rule = Rule("MS", Kind.SPECIAL_PRICE, condition=skus("A"), benefit=Benefit(price=D("5"), quota_left=3))
    res = apply_promotions(cart(line("A", 5, "10")), [rule])
    assert res.total == D("35.00")
    assert res.notes == ("A: 2 of 5 at the regular price (limit of MS reached)",)


def test_flash_sale_per_member_limit_counts_what_the_member_already_bought():
    rule = Rule("MS", Kind.SPECIAL_PRICE, condition=skus("A"), benefit=Benefit(price=D("5"), per_member_units=2))
    m = MemberInput("M1", promotion_units={"MS": 1})
    assert apply_promotions(cart(line("A", 3, "10"), member=m), [rule]).total == D("25.00")
    m_done = MemberInput("M1", promotion_units={"MS": 2})
    res = apply_promotions(cart(line("A", 3, "10"), member=m_done), [rule])
    assert res.total == D("30.00")
    assert [(n.promotion, n.reason_code) for n in res.not_applied] == [("MS", "member_quota_spent")]


def test_sold_out_flash_sale_is_not_applied():
    rule = Rule("MS", Kind.SPECIAL_PRICE, condition=skus("A"), benefit=Benefit(price=D("5"), quota_left=0))
    res = apply_promotions(cart(line("A", 1, "10")), [rule])
    assert res.total == D("10.00") and res.not_applied[0].reason_code == "quota_spent"


def test_tier_discount_rounds_the_unit_price_half_up():
    rule = Rule("HY", Kind.TIER_PRICE, benefit=Benefit(tier_rates={"gold": D("0.95")}))
    res = apply_promotions(cart(line("A", 2, "9.99"), member=MemberInput("M1", tier="gold")), [rule])
    assert res.lines[0].discount == D("1.00")  # 9.99 * 0.95 = 9.4905 -> 9.49, twice
    res_silver = apply_promotions(cart(line("A", 2, "9.99"), member=MemberInput("M2", tier="silver")), [rule])
    assert res_silver.discount == D("0.00") and res_silver.not_applied[0].reason_code == "tier"
    res_guest = apply_promotions(cart(line("A", 2, "9.99")), [rule])
    assert res_guest.not_applied[0].reason_code == "members_only"


def test_tier_fixed_price_per_sku():
    rule = Rule("HYJ", Kind.TIER_PRICE, benefit=Benefit(tier_prices={"gold": {"A": D("7.50")}}))
    res = apply_promotions(cart(line("A", 2, "9.99"), line("B", 1, "5"), member=MemberInput("M1", tier="gold")), [rule])
    assert [ln.amount for ln in res.lines] == [D("15.00"), D("5.00")]


def test_special_rate_on_goods_sold_by_weight():
    rule = Rule("TJ", Kind.SPECIAL_PRICE, condition=skus("W"), benefit=Benefit(rate=D("0.8")))
    res = apply_promotions(cart(line("W", 1234, "39.80", puq=1000)), [rule])
    assert res.lines[0].list_amount == line_amount(D("39.80"), 1234, 1000) == D("49.11")
    assert res.lines[0].amount == D("39.29")  # 31.84/kg * 1.234 kg = 39.29056


# ---- coupons ---------------------------------------------------------------------------------------


def test_coupon_larger_than_the_total_caps_at_the_total_never_negative():
    c = cart(line("A", 1, "30"), coupons=(CouponInput("CP", CouponKind.NO_THRESHOLD, amount=D("50")),))
    res = apply_promotions(c, [])
    assert (res.discount, res.total, res.coupons_used) == (D("30.00"), D("0.00"), ("CP",))
    check_sums(res)


def test_threshold_coupon_counts_amounts_after_promotions():
    rule = Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("100", "5"))))
    c = cart(line("A", 1, "160"), coupons=(CouponInput("CP", CouponKind.THRESHOLD, amount=D("20"), threshold=D("150")),))
    res = apply_promotions(c, [rule])
    assert res.total == D("135.00") and res.coupons_used == ("CP",)


def test_percent_coupon_with_a_cap():
    c = cart(line("A", 1, "300"), coupons=(CouponInput("CP", CouponKind.PERCENT, rate=D("0.9"), cap=D("20")),))
    assert apply_promotions(c, []).discount == D("20.00")
    c2 = cart(line("A", 1, "150"), coupons=(CouponInput("CP", CouponKind.PERCENT, rate=D("0.9"), cap=D("20")),))
    assert apply_promotions(c2, []).discount == D("15.00")


def test_item_coupon_frees_one_unit_of_its_sku():
    c = cart(line("A", 3, "4.50"), line("B", 1, "9"), coupons=(CouponInput("DH", CouponKind.ITEM, item_sku="A"),))
    res = apply_promotions(c, [])
    assert [ln.discount for ln in res.lines] == [D("4.50"), D("0.00")]


def test_free_shipping_coupon_and_only_one_discount_coupon():
    coupons = (CouponInput("C10", CouponKind.NO_THRESHOLD, amount=D("10")),
               CouponInput("C15", CouponKind.THRESHOLD, amount=D("15"), threshold=D("50")),
               CouponInput("SHIP", CouponKind.FREE_SHIPPING))
    res = apply_promotions(cart(line("A", 1, "60"), coupons=coupons, shipping_fee=D("8")), [])
    assert res.coupons_used == ("C15", "SHIP")
    assert (res.shipping_discount, res.total) == (D("8.00"), D("45.00"))
    assert {(n.promotion, n.reason_code) for n in res.not_applied} == {("C10", "not_best")}


def test_expired_coupon_and_wrong_channel_are_explained():
    coupons = (CouponInput("OLD", CouponKind.NO_THRESHOLD, amount=D("5"), valid_to=AT - dt.timedelta(days=1)),
               CouponInput("APP", CouponKind.NO_THRESHOLD, amount=D("5"), channels=frozenset({"app"})))
    res = apply_promotions(cart(line("A", 1, "60"), coupons=coupons, channel="pos"), [])
    assert res.total == D("60.00")
    assert {(n.promotion, n.reason_code) for n in res.not_applied} == {("OLD", "expired"), ("APP", "channel")}


# ---- points ------------------------------------------------------------------------------------


def test_points_pay_at_most_the_max_share_and_are_allocated_to_lines():
    m = MemberInput("M1", points_balance=5000)
    res = apply_promotions(cart(line("A", 1, "20"), line("B", 1, "10"), member=m, points=5000), [])
    assert (res.total, res.points_used, res.points_value, res.payable) == (D("30.00"), 1500, D("15.00"), D("15.00"))
    assert [ln.points_value for ln in res.lines] == [D("10.00"), D("5.00")]


def test_points_never_exceed_the_balance_and_respect_the_rate():
    m = MemberInput("M1", points_balance=333)
    pol = PointsPolicy(points_per_yuan=200, max_share=D("1"))  # 2 points per fen
    res = apply_promotions(cart(line("A", 1, "20"), member=m, points=1000, points_policy=pol), [])
    assert (res.points_used, res.points_value) == (332, D("1.66"))


def test_promotion_not_combinable_with_points_keeps_its_lines_out_of_the_points_base():
    rule = Rule("MS", Kind.SPECIAL_PRICE, condition=skus("A"), benefit=Benefit(price=D("8")), combines_with_points=False)
    m = MemberInput("M1", points_balance=10000)
    res = apply_promotions(cart(line("A", 1, "10"), line("B", 1, "10"), member=m, points=10000), [rule])
    assert res.points_value == D("5.00")  # half of B only
    assert [ln.points_value for ln in res.lines] == [D("0.00"), D("5.00")]


# ---- context conditions ----------------------------------------------------------------------------


def _mj(**cond) -> Rule:
    return Rule("MJ", Kind.AMOUNT_OFF, condition=Condition(**cond), benefit=Benefit(tiers=ladder(("10", "1"))))


@pytest.mark.parametrize(("cond", "kw", "code"), [
    ({"channels": frozenset({"app"})}, {}, "channel"),
    ({"starts_at": AT + dt.timedelta(hours=1)}, {}, "not_started"),
    ({"ends_at": AT}, {}, "ended"),
    ({"weekdays": frozenset({5, 6})}, {}, "weekday"),
    ({"hours": (dt.time(17), dt.time(19))}, {}, "hours"),
    ({"tiers": frozenset({"gold"})}, {"member": MemberInput("M", tier="silver")}, "tier"),
    ({"new_member_only": True}, {"member": MemberInput("M")}, "new_member_only"),
    ({"first_order_only": True}, {"member": MemberInput("M")}, "first_order_only"),
    ({"members_only": True}, {}, "members_only"),
    ({"per_member_limit": 1}, {"member": MemberInput("M", promotion_uses={"MJ": 1})}, "usage_limit"),
])
def test_context_conditions_refuse_with_a_reason(cond, kw, code):
    res = apply_promotions(cart(line("A", 1, "20"), **kw), [_mj(**cond)])
    assert res.discount == D("0.00")
    assert [(n.promotion, n.reason_code) for n in res.not_applied] == [("MJ", code)]


@pytest.mark.parametrize(("cond", "kw"), [
    ({"stores": frozenset({"KM002"})}, {"store": "KM001"}),
    ({"regions": frozenset({"GZ"})}, {"regions": ("HQ", "YN", "KM")}),
])
def test_a_promotion_of_another_store_or_region_is_neither_applied_nor_listed(cond, kw):
    # the customer at KM001 has no business with KM002's or Guangzhou's promotions
    res = apply_promotions(cart(line("A", 1, "20"), **kw), [_mj(**cond)])
    assert res.discount == D("0.00")
    assert res.not_applied == ()


@pytest.mark.parametrize(("cond", "kw"), [
    ({"channels": frozenset({"pos"})}, {"channel": "pos"}),
    ({"regions": frozenset({"YN"})}, {"regions": ("HQ", "YN", "KM")}),
    ({"weekdays": frozenset({2})}, {}),
    ({"hours": (dt.time(11), dt.time(13))}, {}),
    ({"hours": (dt.time(22), dt.time(13))}, {}),  # a window across midnight
    ({"new_member_only": True, "tiers": frozenset({"gold"})}, {"member": MemberInput("M", tier="gold", is_new=True)}),
    ({"per_member_limit": 2}, {"member": MemberInput("M", promotion_uses={"MJ": 1})}),
])
def test_context_conditions_that_hold_apply(cond, kw):
    assert apply_promotions(cart(line("A", 1, "20"), **kw), [_mj(**cond)]).discount == D("1.00")


def test_budget_caps_the_discount_and_a_spent_budget_stops_the_promotion():
    rule = Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("100", "30"))), budget_left=D("12.34"))
    assert apply_promotions(cart(line("A", 1, "100")), [rule]).discount == D("12.34")
    spent = Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("100", "30"))), budget_left=D("0"))
    res = apply_promotions(cart(line("A", 1, "100")), [spent])
    assert res.discount == D("0.00") and res.not_applied[0].reason_code == "budget_spent"


def test_fen_allocation_matches_core_money_allocate():
    rule = Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("10", "10"))))
    lines = [line("A", 1, "3.33"), line("B", 1, "3.33"), line("C", 1, "3.34"), line("D", 7, "1.01")]
    res = apply_promotions(cart(*lines), [rule])
    assert [ln.discount for ln in res.lines] == allocate(D("10"), [D("3.33"), D("3.33"), D("3.34"), D("7.07")])


def test_upsell_hint_for_the_next_ladder_step():
    rule = Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("100", "10"), ("200", "30"))))
    res = apply_promotions(cart(line("A", 1, "177")), [rule])
    assert [(h.promotion, h.add_amount, h.saving) for h in res.hints] == [("MJ", D("23.00"), D("20.00"))]
    assert "add ¥23.00 more" in res.hints[0].message
