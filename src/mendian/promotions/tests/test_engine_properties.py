"""Property tests over random carts and rule sets: the search equals brute force, totals are never
negative, allocations sum exactly, the chosen total is never above no promotion or any single one,
and the same input gives the same output."""

from __future__ import annotations

import itertools
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    Rule,
    RuleBook,
    Scope,
    Tier,
    apply_fixed_order,
    apply_promotions,
)
from mendian.promotions.domain.engine import _build, _evaluate

from .test_engine_types import AT, check_sums

SKUS = ["A", "B", "C", "D"]
CATS = {"A": ("FOOD", "SNACK"), "B": ("FOOD",), "C": ("DRINK",), "D": ("DRINK", "TEA")}
money = st.integers(min_value=1, max_value=6000).map(lambda f: D(f) / 100)


@st.composite
def carts(draw):
    n = draw(st.integers(1, 4))
    codes = draw(st.lists(st.sampled_from(SKUS), min_size=n, max_size=n, unique=True))
    lines = tuple(CartLine(sku=s, quantity=draw(st.integers(1, 3)), unit_price=draw(money), category_path=CATS[s],
                           brand="X" if s in "AC" else "") for s in codes)
    member = draw(st.one_of(st.none(), st.builds(
        MemberInput, code=st.just("M1"), tier=st.sampled_from(["gold", "silver"]),
        points_balance=st.integers(0, 5000))))
    coupons = draw(st.lists(st.sampled_from([
        CouponInput("C_TH", CouponKind.THRESHOLD, amount=D("10"), threshold=D("60")),
        CouponInput("C_NO", CouponKind.NO_THRESHOLD, amount=D("8")),
        CouponInput("C_PC", CouponKind.PERCENT, rate=D("0.85"), cap=D("12"), scope=Scope(categories=frozenset({"FOOD"}))),
        CouponInput("C_IT", CouponKind.ITEM, item_sku="C"),
        CouponInput("C_SH", CouponKind.FREE_SHIPPING, threshold=D("30")),
    ]), max_size=3, unique_by=lambda c: c.code))
    return CartSnapshot(lines=lines, at=AT, member=member, coupons=tuple(coupons),
                        points=draw(st.integers(0, 3000)), shipping_fee=draw(st.sampled_from([D("0"), D("6")])))


def _benefit(draw, kind: Kind, t1: int, t2: int) -> Benefit:
    if kind == Kind.SPECIAL_PRICE:
        return Benefit(rate=draw(st.sampled_from([D("0.5"), D("0.8"), D("0.95")])),
                       quota_left=draw(st.one_of(st.none(), st.integers(1, 3))))
    if kind == Kind.TIER_PRICE:
        return Benefit(tier_rates={"gold": D("0.9")}, tier_prices={"silver": {"A": D("3.00")}})
    if kind == Kind.AMOUNT_OFF:
        return draw(st.sampled_from([Benefit(tiers=(Tier(D(t1), D(min(t1, 5))), Tier(D(t2), D(min(t2, 15))))),
                                     Benefit(every=D(t1), amount=D(min(t1, 4)), max_discount=D("10"))]))
    if kind == Kind.SPEND_PERCENT:
        return Benefit(tiers=(Tier(D(t1), D("0.9")), Tier(D(t2), D("0.8"))))
    if kind == Kind.QTY_PERCENT:
        return Benefit(tiers=(Tier(D(2), D("0.9")), Tier(D(4), D("0.75"))))
    if kind == Kind.NTH_ITEM:
        return Benefit(n=2, rate=D("0.5"))
    if kind == Kind.BUY_X_GET_Y:
        return Benefit(x=2, y=1)
    if kind == Kind.GIFT:
        return Benefit(gifts=(Gift("G", 1, D("5")),))
    if kind == Kind.ADDON:
        return Benefit(addon_skus=frozenset({"D"}), price=D("1"), max_units=2)
    return Benefit(items=(BundleItem("A"), BundleItem("C")), price=D("20"))


@st.composite
def rule_sets(draw):
    k = draw(st.integers(1, 4))
    out = []
    for idx in range(k):
        kind = draw(st.sampled_from(list(Kind)))
        scope = draw(st.sampled_from([Scope(), Scope(categories=frozenset({"FOOD"})), Scope(skus=frozenset({"A", "C"})),
                                      Scope(brands=frozenset({"X"})), Scope(exclude_skus=frozenset({"B"}))]))
        t1 = draw(st.integers(1, 80))
        t2 = t1 + draw(st.integers(1, 80))
        benefit = _benefit(draw, kind, t1, t2)
        cond = Condition(scope=scope, min_amount=D(t1) if kind in (Kind.GIFT, Kind.ADDON) else D(0))
        out.append(Rule(
            code=f"R{idx}", kind=kind, condition=cond, benefit=benefit,
            exclusive_group=draw(st.sampled_from(["", "G", "G", "H"])), priority=draw(st.integers(0, 2)),
            combines_with_coupons=draw(st.booleans()), combines_with_member_price=draw(st.booleans()),
            combines_with_points=draw(st.booleans()), threshold_basis=draw(st.sampled_from(["net", "net", "list"])),
            budget_left=draw(st.one_of(st.none(), st.just(D("3.50")))),
        ))
    return out


def brute_force(cart: CartSnapshot, rules: list[Rule]) -> tuple:
    """Every subset of the candidate rules in every consumption order, evaluated: the best key."""
    p, _, _ = _build(cart, RuleBook(rules))
    ids = sorted(p.rules)
    best = _evaluate(p, {}).key
    for size in range(1, len(ids) + 1):
        for subset in itertools.combinations(ids, size):
            for order in itertools.permutations(subset):
                taken: dict[int, frozenset[int]] = {}
                for k in order:
                    blocked = set().union(*(taken[j] for j in taken if j in p.conflicts[k])) if taken else set()
                    mine = p.eligible[k] - blocked
                    if mine:
                        taken[k] = mine
                key = _evaluate(p, {k: tuple(sorted(v)) for k, v in taken.items()}).key
                if key < best:
                    best = key
    return best


FAST = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(carts(), rule_sets())
def test_the_search_finds_the_brute_force_optimum(cart, rules):
    res = apply_promotions(cart, rules)
    best = brute_force(cart, rules)
    assert (res.total, -sum((g.value for g in res.gifts), D(0)), -res.points_value) == \
        (D(best[0]) / 100, D(best[1]) / 100, D(best[2]) / 100)


@FAST
@given(carts(), rule_sets())
def test_totals_allocations_and_bounds_hold(cart, rules):
    res = apply_promotions(cart, rules)
    check_sums(res)
    none = apply_promotions(cart, [])
    assert res.total <= none.total
    for r in rules:
        assert res.total <= apply_promotions(cart, [r]).total
    if not any(r.budget_left is not None or r.benefit.quota_left is not None for r in rules):
        # with a budget or a quota the fixed chain may hold a price rule to some of its lines, which
        # the engine's combinations (a rule takes every line it covers) do not do: documented
        assert res.total <= apply_fixed_order(cart, rules).total
    assert apply_promotions(cart, list(reversed(rules))) == res
