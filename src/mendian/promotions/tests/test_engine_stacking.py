"""Stacking rules and the best-for-the-customer search, with hand-computed totals."""

from __future__ import annotations

from decimal import Decimal as D

from mendian.promotions.domain import (
    Benefit,
    BundleItem,
    Condition,
    CouponInput,
    CouponKind,
    Kind,
    MemberInput,
    Rule,
    Scope,
    apply_fixed_order,
    apply_promotions,
)

from .test_engine_types import cart as mk
from .test_engine_types import check_sums, ladder, line, skus


def cats(*codes: str) -> Condition:
    return Condition(scope=Scope(categories=frozenset(codes)))


def test_tier_price_promotion_coupon_and_points_together():
    rules = [Rule("HY", Kind.TIER_PRICE, benefit=Benefit(tier_rates={"gold": D("0.9")})),
             Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("100", "10"))))]
    m = MemberInput("M1", tier="gold", points_balance=2000)
    c = mk(line("A", 2, "40"), line("B", 1, "50"), member=m, points=2000,
           coupons=(CouponInput("CP", CouponKind.THRESHOLD, amount=D("5"), threshold=D("100")),))
    res = apply_promotions(c, rules)
    # tier: 72 + 45 = 117; 满100减10 -> 107; coupon 满100减5 -> 102; points 2000 = ¥20 (max 51)
    assert (res.total, res.points_value, res.payable) == (D("102.00"), D("20.00"), D("82.00"))
    assert [a.promotion for a in res.applied] == ["HY", "MJ", "CP"]
    check_sums(res)


def test_exclusive_group_takes_the_better_of_two_rules():
    rules = [Rule("ZK", Kind.SPEND_PERCENT, benefit=Benefit(tiers=ladder(("100", "0.8"))), exclusive_group="order"),
             Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("100", "30"))), exclusive_group="order")]
    res = apply_promotions(mk(line("A", 1, "100")), rules)
    assert res.total == D("70.00")
    assert [(n.promotion, n.reason_code) for n in res.not_applied] == [("ZK", "not_combinable")]
    res2 = apply_promotions(mk(line("A", 1, "200")), rules)
    assert res2.total == D("160.00") and [a.promotion for a in res2.applied] == ["ZK"]


def test_same_group_rules_split_the_cart_when_that_is_cheaper():
    # 8折 on drinks and 满50减10 on everything, in one group: drinks at 8折 and the 满减 on food saves more
    rules = [Rule("DRINK80", Kind.SPEND_PERCENT, condition=cats("DRINK"), benefit=Benefit(tiers=ladder(("0", "0.8"))),
                  exclusive_group="G"),
             Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("50", "10"))), exclusive_group="G")]
    res = apply_promotions(mk(line("D", 1, "100", ("DRINK",)), line("F", 1, "60", ("FOOD",))), rules)
    assert [ln.discount for ln in res.lines] == [D("20.00"), D("10.00")]
    assert res.total == D("130.00")


def test_without_a_group_rules_stack_on_the_same_lines():
    rules = [Rule("ZK", Kind.SPEND_PERCENT, benefit=Benefit(tiers=ladder(("100", "0.8")))),
             Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("100", "30"))))]
    assert apply_promotions(mk(line("A", 1, "100")), rules).total == D("50.00")


def test_stacked_discounts_never_take_a_line_below_zero():
    rules = [Rule("ZK", Kind.SPEND_PERCENT, benefit=Benefit(tiers=ladder(("10", "0.1")))),
             Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("10", "30"))))]
    res = apply_promotions(mk(line("A", 1, "20")), rules)
    assert res.total == D("0.00")
    check_sums(res)


def test_a_special_price_that_drops_the_cart_below_a_threshold_is_skipped():
    rules = [Rule("TJ", Kind.SPECIAL_PRICE, condition=skus("A"), benefit=Benefit(price=D("99"))),
             Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("100", "20"))))]
    c = mk(line("A", 1, "105"))
    assert apply_promotions(c, rules).total == D("85.00")
    assert apply_fixed_order(c, rules).total == D("99.00")  # the fixed chain takes the special price first


def test_threshold_on_list_prices_lets_both_apply():
    rules = [Rule("TJ", Kind.SPECIAL_PRICE, condition=skus("A"), benefit=Benefit(price=D("99"))),
             Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("100", "20"))), threshold_basis="list")]
    assert apply_promotions(mk(line("A", 1, "105")), rules).total == D("79.00")


def test_a_promotion_that_breaks_a_coupon_threshold_is_skipped():
    rules = [Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("100", "10"))))]
    c = mk(line("A", 1, "105"), coupons=(CouponInput("CP", CouponKind.THRESHOLD, amount=D("20"), threshold=D("100")),))
    res = apply_promotions(c, rules)
    assert (res.total, res.coupons_used) == (D("85.00"), ("CP",))
    assert [(n.promotion, n.reason_code) for n in res.not_applied] == [("MJ", "not_best")]
    assert apply_fixed_order(c, rules).total == D("95.00")


def test_promotion_not_combinable_with_coupons_against_the_coupon():
    rule = Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("100", "30"))), combines_with_coupons=False)
    small = mk(line("A", 1, "105"), coupons=(CouponInput("CP", CouponKind.NO_THRESHOLD, amount=D("10")),))
    res = apply_promotions(small, [rule])
    assert (res.total, res.coupons_used) == (D("75.00"), ())
    big = mk(line("A", 1, "105"), coupons=(CouponInput("CP", CouponKind.NO_THRESHOLD, amount=D("40")),))
    res2 = apply_promotions(big, [rule])
    assert (res2.total, res2.coupons_used) == (D("65.00"), ("CP",))


def test_coupon_still_applies_to_lines_the_non_combinable_promotion_does_not_cover():
    rule = Rule("TJ", Kind.SPECIAL_PRICE, condition=skus("A"), benefit=Benefit(price=D("5")), combines_with_coupons=False)
    c = mk(line("A", 1, "10"), line("B", 1, "20"), coupons=(CouponInput("CP", CouponKind.PERCENT, rate=D("0.5")),))
    res = apply_promotions(c, [rule])
    assert [ln.amount for ln in res.lines] == [D("5.00"), D("10.00")]


def test_special_price_not_combinable_with_member_price_picks_the_better_per_line():
    rules = [Rule("HY", Kind.TIER_PRICE, benefit=Benefit(tier_rates={"gold": D("0.9")})),
             Rule("TJ", Kind.SPECIAL_PRICE, condition=skus("A", "B"), benefit=Benefit(rate=D("0.85")),
                  combines_with_member_price=False)]
    m = MemberInput("M1", tier="gold")
    res = apply_promotions(mk(line("A", 1, "100"), line("B", 1, "10"), line("C", 1, "10"), member=m), rules)
    assert [ln.amount for ln in res.lines] == [D("85.00"), D("8.50"), D("9.00")]
    combinable = [rules[0], Rule("TJ", Kind.SPECIAL_PRICE, condition=skus("A", "B"), benefit=Benefit(rate=D("0.85")))]
    res2 = apply_promotions(mk(line("A", 1, "100"), member=m), combinable)
    assert res2.total == D("76.50")  # 85 then 9折


def test_tier_prices_never_stack_on_each_other():
    rules = [Rule("HY1", Kind.TIER_PRICE, benefit=Benefit(tier_rates={"gold": D("0.9")})),
             Rule("HY2", Kind.TIER_PRICE, benefit=Benefit(tier_rates={"gold": D("0.95")}))]
    res = apply_promotions(mk(line("A", 1, "100"), member=MemberInput("M", tier="gold")), rules)
    assert res.total == D("90.00")


def test_bundle_against_a_percentage_in_the_same_group():
    rules = [Rule("TC", Kind.BUNDLE, benefit=Benefit(items=(BundleItem("A"), BundleItem("B")), price=D("25")),
                  exclusive_group="G"),
             Rule("ZK", Kind.SPEND_PERCENT, benefit=Benefit(tiers=ladder(("0", "0.8"))), exclusive_group="G")]
    # bundle: 30 -> 25 (5 off) vs 8折 on all 30 + 10 = 8 off
    res = apply_promotions(mk(line("A", 1, "10"), line("B", 1, "20"), line("C", 1, "10")), rules)
    assert res.total == D("32.00") and [a.promotion for a in res.applied] == ["ZK"]
    # bundle of dearer items: 60 -> 25 (35 off) beats 8折 (14 off); C still gets its 8折 (2 off)
    res2 = apply_promotions(mk(line("A", 1, "20"), line("B", 1, "40"), line("C", 1, "10")), rules)
    assert res2.total == D("33.00")
    assert [a.promotion for a in res2.applied] == ["TC", "ZK"]


def test_gift_against_amount_off_in_one_group_prefers_the_lower_total():
    from mendian.promotions.domain import Gift

    rules = [Rule("GIFT", Kind.GIFT, condition=Condition(min_amount=D("100")),
                  benefit=Benefit(gifts=(Gift("G", 1, D("50")),)), exclusive_group="G"),
             Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("100", "5"))), exclusive_group="G")]
    res = apply_promotions(mk(line("A", 1, "100")), rules)
    assert res.total == D("95.00") and res.gifts == ()
    stack = [Rule("GIFT", Kind.GIFT, condition=Condition(min_amount=D("100")), benefit=Benefit(gifts=(Gift("G", 1, D("50")),))),
             rules[1]]
    res2 = apply_promotions(mk(line("A", 1, "100")), stack)
    assert res2.total == D("95.00") and [g.sku for g in res2.gifts] == ["G"]


def test_equal_savings_are_broken_by_priority_then_code():
    low = Rule("A_LOW", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("10", "3"))), exclusive_group="G", priority=1)
    high = Rule("B_HIGH", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("10", "3"))), exclusive_group="G", priority=5)
    res = apply_promotions(mk(line("A", 1, "20")), [low, high])
    assert [a.promotion for a in res.applied] == ["B_HIGH"]
    same = Rule("B_HIGH", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("10", "3"))), exclusive_group="G", priority=1)
    assert [a.promotion for a in apply_promotions(mk(line("A", 1, "20")), [same, low]).applied] == ["A_LOW"]


def test_flash_quota_gift_and_tier_price_in_one_cart():
    from mendian.promotions.domain import Gift

    rules = [Rule("MS", Kind.SPECIAL_PRICE, condition=skus("A"), benefit=Benefit(price=D("1"), quota_left=1),
                  combines_with_member_price=False),
             Rule("HY", Kind.TIER_PRICE, benefit=Benefit(tier_rates={"gold": D("0.9")})),
             Rule("GIFT", Kind.GIFT, condition=Condition(min_amount=D("20")),
                  benefit=Benefit(gifts=(Gift("G", 1, D("3")),), quota_left=5))]
    m = MemberInput("M1", tier="gold")
    res = apply_promotions(mk(line("A", 2, "10"), line("B", 1, "15"), member=m), rules)
    # flash on A (1 unit at 1 + 1 at 10 = 11) vs tier on A (18): flash wins; B at tier 13.50;
    # but then the gift threshold 20 is met only on net 24.50 -> yes
    assert [ln.amount for ln in res.lines] == [D("11.00"), D("13.50")]
    assert [g.sku for g in res.gifts] == ["G"]
    assert res.notes == ("A: 1 of 2 at the regular price (limit of MS reached)",)


def test_same_input_same_output_whatever_the_rule_order():
    rules = [Rule("ZK", Kind.SPEND_PERCENT, benefit=Benefit(tiers=ladder(("50", "0.9"))), exclusive_group="G"),
             Rule("MJ", Kind.AMOUNT_OFF, benefit=Benefit(tiers=ladder(("50", "5"))), exclusive_group="G"),
             Rule("N2", Kind.NTH_ITEM, benefit=Benefit(n=2, rate=D("0.5")), exclusive_group="G")]
    c = mk(line("A", 2, "25"), line("B", 1, "30"))
    assert apply_promotions(c, rules) == apply_promotions(c, list(reversed(rules)))


def test_a_special_price_is_left_out_when_stacked_rules_give_back_more_than_it_takes_off():
    # C alone: special 50% (one unit) saves 16.66 but then no bundle (A+C 16.67 < 20) and 满折 20% of
    # 16.67 = 3.33: 13.34. Without the special: bundle 33.33 → 20.00 saves 13.33, 满折 20% of 33.33
    # saves 6.67 (both count on prices after item prices): 13.33, one fen less — found by hypothesis
    rules = [Rule("BUN", Kind.BUNDLE, benefit=Benefit(price=D("20"), items=(BundleItem("A"), BundleItem("C")))),
             Rule("SP", Kind.SPECIAL_PRICE, benefit=Benefit(rate=D("0.5"), quota_left=1)),
             Rule("MZ", Kind.SPEND_PERCENT, benefit=Benefit(tiers=ladder(("1", "0.9"), ("2", "0.8"))))]
    res = apply_promotions(mk(line("A", 1, "0.01"), line("C", 1, "33.32")), rules)
    assert res.total == D("13.33")
    assert {a.promotion: a.saving for a in res.applied} == {"BUN": D("13.33"), "MZ": D("6.67")}
    check_sums(res)


def test_at_the_same_price_the_member_price_that_lets_points_through_is_kept():
    # two tier prices at 90% on one line: one refuses points. Same total either way; the customer asked
    # for 1 point, so the one that takes points wins — found by hypothesis
    no_pts = Rule("T0", Kind.TIER_PRICE, benefit=Benefit(tier_rates={"gold": D("0.9")}), combines_with_points=False,
                  combines_with_coupons=False, combines_with_member_price=False)
    pts = Rule("T1", Kind.TIER_PRICE, benefit=Benefit(tier_rates={"gold": D("0.9")}), combines_with_coupons=False,
               combines_with_member_price=False)
    res = apply_promotions(mk(line("A", 1, "0.06"), member=MemberInput("M1", tier="gold", points_balance=1), points=1),
                           [no_pts, pts])
    assert (res.total, res.points_used, res.points_value) == (D("0.05"), 1, D("0.01"))
    assert [a.promotion for a in res.applied if a.kind == "tier_price"] == ["T1"]


def test_a_special_price_that_would_take_a_threshold_line_is_left_out():
    # A 2 × 1.00 (FOOD) and C 0.06; a 50% special on everything (not with member prices), a 90% gold
    # tier price, 满2减2 on FOOD (not with member prices). The special takes every line it covers, so on
    # A it kills 满2减2: best is 满2减2 on A and the tier price on C (0.054 → 0.05) — found by hypothesis
    nope = dict(combines_with_coupons=False, combines_with_member_price=False, combines_with_points=False)
    rules = [Rule("SP", Kind.SPECIAL_PRICE, benefit=Benefit(rate=D("0.5")), **nope),
             Rule("VIP", Kind.TIER_PRICE, benefit=Benefit(tier_rates={"gold": D("0.9")}), **nope),
             Rule("MJ", Kind.AMOUNT_OFF, condition=cats("FOOD"), benefit=Benefit(tiers=ladder(("2", "2"), ("3", "3"))),
                  **nope)]
    res = apply_promotions(mk(line("A", 2, "1.00", ("FOOD",)), line("C", 1, "0.06", ("DRINK",)),
                              member=MemberInput("M1", tier="gold")), rules)
    assert res.total == D("0.05")
    assert {a.promotion: a.saving for a in res.applied} == {"VIP": D("0.01"), "MJ": D("2.00")}


def test_a_special_price_is_left_out_when_it_shrinks_a_capped_coupon():
    # 第2件半价 that blocks coupons, a 50% special (1 unit) and an ¥8 coupon whose base is the lines the
    # 第2件 rule leaves: the special alone would shave the coupon's base — found by hypothesis
    rules = [Rule("SP", Kind.SPECIAL_PRICE, benefit=Benefit(rate=D("0.5"), quota_left=1), combines_with_member_price=False,
                  combines_with_points=False),
             Rule("N2", Kind.NTH_ITEM, benefit=Benefit(n=2, rate=D("0.5")), combines_with_coupons=False,
                  combines_with_member_price=False, combines_with_points=False)]
    res = apply_promotions(mk(line("A", 1, "0.01", ("FOOD",)), line("B", 1, "0.91", ("FOOD",)),
                              line("C", 1, "4.73", ("DRINK",)), line("D", 3, "4.72", ("DRINK",)),
                              coupons=(CouponInput("C_NO", CouponKind.NO_THRESHOLD, amount=D("8")),)), rules)
    # 第2件半价 alone saves 4.72 and leaves 5.65 for the coupon: 9.44; adding the special makes it 9.45
    assert (res.total, [a.promotion for a in res.applied]) == (D("9.44"), ["N2", "C_NO"])
    check_sums(res)
