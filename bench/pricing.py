"""Pricing engine benchmark (issue 3).

Prices random carts of 5, 30 and 100 lines against 10, 200 and 1,000 active promotions (a realistic
mix: SKU special prices and flash sales with quotas, tier prices, category 满减 ladders and repeating
满减, brand 满折, 满件折, second-item-half-price, buy-2-get-1, gifts, add-on deals, bundles; about half
of the order promotions in one exclusive group; some not combinable with coupons or member prices;
some limited to a region, a channel or happy hours), with members, wallets of coupons and points.

For each case it prints the median and p99 milliseconds per cart of ``apply_promotions`` (in-process,
no database: the rule book is prepared once per case, as the service caches it) and the customer's
saving against the fixed-order calculator chain (``apply_fixed_order``: the yudao order) on the same
carts: the mean saving in yuan and the share of carts where mendian's price is lower. The last line
is one JSON object.

    .venv/bin/python bench/pricing.py            # all nine cases
    .venv/bin/python bench/pricing.py --quick    # fewer carts per case
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import time
from decimal import Decimal as D
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mendian.promotions.domain import (  # noqa: E402
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

CST = dt.timezone(dt.timedelta(hours=8))
AT = dt.datetime(2026, 11, 25, 18, 30, tzinfo=CST)
DEPTS = [f"D{d}" for d in range(10)]
CATS = [f"{d}C{c}" for d in DEPTS for c in range(8)]
BRANDS = [f"BR{b:02d}" for b in range(120)]
N_SKUS = 6000


def catalog(rng: random.Random) -> list[tuple[str, tuple[str, str], str, D]]:
    out = []
    for n in range(N_SKUS):
        cat = rng.choice(CATS)
        price = D(rng.choice([rng.randint(150, 2000), rng.randint(2000, 9000), rng.randint(9000, 39900)])) / 100
        out.append((f"S{n:05d}", (cat[:2], cat), rng.choice(BRANDS), price))
    return out


def money(rng: random.Random, lo: int, hi: int) -> D:
    return D(rng.randint(lo, hi))


def promotions(rng: random.Random, n: int, skus: list) -> list[Rule]:
    rules: list[Rule] = [
        Rule("TIER", Kind.TIER_PRICE, benefit=Benefit(tier_rates={"gold": D("0.95"), "platinum": D("0.9")}), priority=1),
    ]
    popular = [s[0] for s in skus[:600]]
    kinds = ([Kind.SPECIAL_PRICE] * 40 + [Kind.AMOUNT_OFF] * 12 + [Kind.SPEND_PERCENT] * 6 + [Kind.QTY_PERCENT] * 5
             + [Kind.NTH_ITEM] * 9 + [Kind.BUY_X_GET_Y] * 4 + [Kind.GIFT] * 5 + [Kind.ADDON] * 4 + [Kind.BUNDLE] * 5
             + [Kind.TIER_PRICE] * 5)
    for i in range(1, n):
        kind = rng.choice(kinds)
        code = f"P{i:04d}"
        region = frozenset({rng.choice(["YN", "GD", "SC"])}) if rng.random() < 0.25 else frozenset()
        channels = frozenset({"app", "miniprogram"}) if rng.random() < 0.1 else frozenset()
        hours = (dt.time(17), dt.time(21)) if rng.random() < 0.05 else None
        cond = dict(regions=region, channels=channels, hours=hours)
        group = ""
        flags = dict(combines_with_coupons=rng.random() < 0.8, combines_with_member_price=rng.random() < 0.7,
                     combines_with_points=rng.random() < 0.9, priority=rng.randint(0, 9))
        if kind == Kind.SPECIAL_PRICE:
            chosen = frozenset(rng.sample(popular, rng.randint(1, 4)))
            flash = rng.random() < 0.15
            b = Benefit(rate=D(rng.choice(["0.7", "0.8", "0.85", "0.9"])),
                        quota_left=rng.randint(0, 50) if flash else None, per_member_units=2 if flash else None)
            rules.append(Rule(code, kind, condition=Condition(scope=Scope(skus=chosen), **cond), benefit=b,
                              exclusive_group="item", **flags))
            continue
        if kind == Kind.TIER_PRICE:
            prices = {s: (sk[3] * D("0.85")).quantize(D("0.01")) for s, sk in
                      ((s, next(x for x in skus if x[0] == s)) for s in rng.sample(popular[:200], 3))}
            rules.append(Rule(code, kind, condition=Condition(scope=Scope(skus=frozenset(prices))),
                              benefit=Benefit(tier_prices={"gold": prices, "platinum": prices}), **flags))
            continue
        scope_pick = rng.random()
        if scope_pick < 0.01:
            scope = Scope(exclude_categories=frozenset({rng.choice(CATS)}))
        elif scope_pick < 0.7:
            scope = Scope(categories=frozenset(rng.sample(CATS, rng.randint(1, 3))))
        else:
            scope = Scope(brands=frozenset(rng.sample(BRANDS, rng.randint(1, 4))))
        if kind in (Kind.AMOUNT_OFF, Kind.SPEND_PERCENT, Kind.QTY_PERCENT) and rng.random() < 0.5:
            group = "order"
        if kind == Kind.AMOUNT_OFF:
            if rng.random() < 0.7:
                t1 = money(rng, 5, 20) * 10
                b = Benefit(tiers=(Tier(t1, t1 / 10), Tier(t1 * 2, t1 / 4), Tier(t1 * 3, t1 / 2)))
            else:
                every = money(rng, 5, 20) * 10
                b = Benefit(every=every, amount=every / 10, max_discount=every / 2)
        elif kind == Kind.SPEND_PERCENT:
            t1 = money(rng, 5, 30) * 10
            b = Benefit(tiers=(Tier(t1, D("0.95")), Tier(t1 * 2, D("0.9"))))
        elif kind == Kind.QTY_PERCENT:
            b = Benefit(tiers=(Tier(D(2), D("0.95")), Tier(D(3), D("0.88"))))
        elif kind == Kind.NTH_ITEM:
            b = Benefit(n=2, rate=D("0.5"))
            group = "nth"
        elif kind == Kind.BUY_X_GET_Y:
            b = Benefit(x=2, y=1)
            group = "nth"
        elif kind == Kind.GIFT:
            b = Benefit(gifts=(Gift(rng.choice(popular), 1, D("9.90")),), quota_left=rng.randint(0, 500))
            cond["min_amount"] = money(rng, 5, 30) * 10
        elif kind == Kind.ADDON:
            b = Benefit(addon_skus=frozenset({rng.choice(popular)}), price=D("1.00"), max_units=1)
            cond["min_amount"] = money(rng, 5, 20) * 10
        else:  # bundle
            a, c = rng.sample(popular[:300], 2)
            pa = next(x for x in skus if x[0] == a)[3]
            pc = next(x for x in skus if x[0] == c)[3]
            b = Benefit(items=(BundleItem(a), BundleItem(c)), price=((pa + pc) * D("0.8")).quantize(D("1")))
            scope = Scope()
            group = "order"
        rules.append(Rule(code, kind, condition=Condition(scope=scope, **cond), benefit=b, exclusive_group=group,
                          **flags))
    return rules


def make_cart(rng: random.Random, n_lines: int, skus: list) -> CartSnapshot:
    picks = set()
    while len(picks) < n_lines:
        # popular items are bought more often
        idx = int(rng.paretovariate(1.2) * 40) - 40 if rng.random() < 0.7 else rng.randrange(N_SKUS)
        picks.add(min(max(idx, 0), N_SKUS - 1))
    lines = []
    for idx in sorted(picks):
        sku, path, brand, price = skus[idx]
        lines.append(CartLine(sku=sku, quantity=rng.choice([1, 1, 1, 2, 2, 3, 4]), unit_price=price,
                              category_path=path, brand=brand))
    member = None
    coupons: tuple[CouponInput, ...] = ()
    points = 0
    if rng.random() < 0.7:
        member = MemberInput(code=f"M{rng.randint(1, 10**6)}", tier=rng.choice(["normal", "gold", "gold", "platinum"]),
                             points_balance=rng.randint(0, 20000))
        points = rng.choice([0, 0, 1000, 5000])
        wallet = [
            CouponInput("CPN-TH", CouponKind.THRESHOLD, amount=D("20"), threshold=D("199")),
            CouponInput("CPN-TH2", CouponKind.THRESHOLD, amount=D("50"), threshold=D("399")),
            CouponInput("CPN-NO", CouponKind.NO_THRESHOLD, amount=D("5")),
            CouponInput("CPN-PC", CouponKind.PERCENT, rate=D("0.9"), cap=D("30"),
                        scope=Scope(categories=frozenset({rng.choice(DEPTS)}))),
            CouponInput("CPN-SH", CouponKind.FREE_SHIPPING, threshold=D("59")),
        ]
        coupons = tuple(rng.sample(wallet, rng.randint(0, 3)))
    return CartSnapshot(lines=tuple(lines), at=AT, channel=rng.choice(["pos", "pos", "app", "miniprogram"]),
                        store="KM001", regions=("HQ", "YN", "KM"), member=member, coupons=coupons, points=points,
                        shipping_fee=rng.choice([D("0"), D("6")]))


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def run_case(rng: random.Random, skus: list, n_lines: int, n_promos: int, n_carts: int) -> dict:
    book = RuleBook(promotions(rng, n_promos, skus))
    carts = [make_cart(rng, n_lines, skus) for _ in range(n_carts)]
    times, savings, better, searched, worse, inexact = [], [], 0, [], [], 0
    for c in carts:
        t0 = time.perf_counter()
        res = apply_promotions(c, book)
        times.append((time.perf_counter() - t0) * 1000)
        base = apply_fixed_order(c, book)
        inexact += not res.exact
        if res.total > base.total:
            worse.append(str(base.total - res.total))
        saving = base.total - res.total
        savings.append(saving)
        better += saving > 0
        searched.append(res.searched)
    return {
        "lines": n_lines, "promotions": n_promos, "carts": n_carts,
        "median_ms": round(statistics.median(times), 3), "p99_ms": round(pct(times, 0.99), 3),
        "max_ms": round(max(times), 3),
        "saving_vs_greedy": str((sum(savings, D(0)) / len(savings)).quantize(D("0.01"))),
        "share_better": round(better / len(carts), 3),
        "max_saving": str(max(savings)),
        "combinations_median": statistics.median(searched), "combinations_max": max(searched),
        "share_exact": round(1 - inexact / len(carts), 3), "worse_than_greedy": worse,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=20261125)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    skus = catalog(rng)
    cases = []
    for n_lines in (5, 30, 100):
        for n_promos in (10, 200, 1000):
            n_carts = (60 if n_lines < 100 else 30) if args.quick else (300 if n_lines < 100 else 100)
            case = run_case(rng, skus, n_lines, n_promos, n_carts)
            cases.append(case)
            print(f"{n_lines:>4} lines {n_promos:>5} promotions: median {case['median_ms']:>8.3f} ms  "
                  f"p99 {case['p99_ms']:>8.3f} ms  max {case['max_ms']:>8.3f} ms  "
                  f"saving vs fixed chain {case['saving_vs_greedy']:>6} yuan, lower on {case['share_better']:.0%} "
                  f"(max {case['max_saving']})  combinations median {case['combinations_median']} "
                  f"max {case['combinations_max']}  exact {case['share_exact']:.1%}  worse {case['worse_than_greedy']}", flush=True)
    print(json.dumps({"bench": "pricing", "python": sys.version.split()[0], "cases": cases}))


if __name__ == "__main__":
    main()
