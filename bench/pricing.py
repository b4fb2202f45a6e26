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

    .venv/bin/python bench/pricing.py            # the nine chain-mix cases, then four dense stress cases
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


REGIONS = ["YN", "GD", "SC", "BJ", "SH", "ZJ"]


def promotions(rng: random.Random, n: int, skus: list, mix: str = "chain") -> list[Rule]:
    """``n`` active promotions of a chain. ``chain``: what a chain's 1,000 live promotions look like —
    mostly SKU deals (DM special prices, flash sales, tier prices, 第二件半价 / 买二送一 on product
    families, bundles, 买赠 on SKUs, add-on deals) and about 13% spend-based campaigns (满减 / 满折 /
    满件折 / 满赠 on a brand, a category or everything), two thirds of those run by one of six regions
    or one store. ``dense``: the stress mix — 60% of the rules are category- or brand-wide order
    campaigns, almost all chain-wide, so a 30-line cart touches ~200 rules."""
    rules: list[Rule] = [
        Rule("TIER", Kind.TIER_PRICE, benefit=Benefit(tier_rates={"gold": D("0.95"), "platinum": D("0.9")}), priority=1),
    ]
    popular = [s[0] for s in skus[:600]]
    price_of = {s[0]: s[3] for s in skus}
    if mix == "dense":
        kinds = ([Kind.SPECIAL_PRICE] * 40 + [Kind.AMOUNT_OFF] * 12 + [Kind.SPEND_PERCENT] * 6 + [Kind.QTY_PERCENT] * 5
                 + [Kind.NTH_ITEM] * 9 + [Kind.BUY_X_GET_Y] * 4 + [Kind.GIFT] * 5 + [Kind.ADDON] * 4 + [Kind.BUNDLE] * 5
                 + [Kind.TIER_PRICE] * 5)
    else:
        kinds = ([Kind.SPECIAL_PRICE] * 55 + [Kind.TIER_PRICE] * 5 + [Kind.NTH_ITEM] * 8 + [Kind.BUY_X_GET_Y] * 4
                 + [Kind.BUNDLE] * 6 + [Kind.GIFT] * 7 + [Kind.ADDON] * 3 + [Kind.AMOUNT_OFF] * 7
                 + [Kind.SPEND_PERCENT] * 3 + [Kind.QTY_PERCENT] * 2)
    for i in range(1, n):
        kind = rng.choice(kinds)
        code = f"P{i:04d}"
        if mix == "dense":
            region = frozenset({rng.choice(["YN", "GD", "SC"])}) if rng.random() < 0.25 else frozenset()
            stores: frozenset[str] = frozenset()
        else:
            # regional DMs and campaigns: a third chain-wide, most for one region, some for one store
            pick = rng.random()
            region = frozenset({rng.choice(REGIONS)}) if 0.33 <= pick < 0.9 else frozenset()
            stores = frozenset({f"{rng.choice(['KM', 'GZ', 'CD'])}{rng.randint(1, 40):03d}"}) if pick >= 0.9 else frozenset()
        channels = frozenset({"app", "miniprogram"}) if rng.random() < 0.1 else frozenset()
        hours = (dt.time(17), dt.time(21)) if rng.random() < 0.05 else None
        cond = dict(regions=region, stores=stores, channels=channels, hours=hours)
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
            prices = {s: (price_of[s] * D("0.85")).quantize(D("0.01")) for s in rng.sample(popular[:200], 3)}
            rules.append(Rule(code, kind, condition=Condition(scope=Scope(skus=frozenset(prices)), **cond),
                              benefit=Benefit(tier_prices={"gold": prices, "platinum": prices}), **flags))
            continue
        sku_family = mix != "dense" and kind in (Kind.NTH_ITEM, Kind.BUY_X_GET_Y, Kind.GIFT, Kind.ADDON)
        scope_pick = rng.random()
        if sku_family:
            scope = Scope(skus=frozenset(rng.sample(popular, rng.randint(1, 6))))
        elif scope_pick < (0.01 if mix == "dense" else 0.03):  # store-wide: everything but a category
            scope = Scope(exclude_categories=frozenset({rng.choice(CATS)}))
        elif scope_pick < (0.7 if mix == "dense" else 0.5):
            scope = Scope(categories=frozenset(rng.sample(CATS, rng.randint(1, 3 if mix == "dense" else 2))))
        else:
            scope = Scope(brands=frozenset(rng.sample(BRANDS, rng.randint(1, 4))))
        # spend campaigns: one per item as merchants set them up (the dense mix lets half of them stack)
        if kind in (Kind.AMOUNT_OFF, Kind.SPEND_PERCENT, Kind.QTY_PERCENT) and rng.random() < (0.5 if mix == "dense" else 0.85):
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
            cond["min_amount"] = money(rng, 5, 30) * (10 if not sku_family else 2)
        elif kind == Kind.ADDON:
            b = Benefit(addon_skus=frozenset({rng.choice(popular)}), price=D("1.00"), max_units=1)
            cond["min_amount"] = money(rng, 5, 20) * (10 if not sku_family else 2)
        else:  # bundle
            a, c = rng.sample(popular[:300], 2)
            b = Benefit(items=(BundleItem(a), BundleItem(c)), price=((price_of[a] + price_of[c]) * D("0.8")).quantize(D("1")))
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


CLOCK = time.perf_counter


def run_case(rng: random.Random, skus: list, n_lines: int, n_promos: int, n_carts: int, mix: str = "chain") -> dict:
    book = RuleBook(promotions(rng, n_promos, skus, mix))
    carts = [make_cart(rng, n_lines, skus) for _ in range(n_carts)]
    times, greedy_times, savings, better, searched, worse, inexact = [], [], [], 0, [], [], 0
    for c in carts:
        t0 = CLOCK()
        res = apply_promotions(c, book)
        t1 = CLOCK()
        base = apply_fixed_order(c, book)
        greedy_times.append((CLOCK() - t1) * 1000)
        times.append((t1 - t0) * 1000)
        inexact += not res.exact
        if res.total > base.total:
            worse.append(str(base.total - res.total))
        saving = base.total - res.total
        savings.append(saving)
        better += saving > 0
        searched.append(res.searched)
    return {
        "mix": mix, "lines": n_lines, "promotions": n_promos, "carts": n_carts,
        "median_ms": round(statistics.median(times), 3), "p99_ms": round(pct(times, 0.99), 3),
        "max_ms": round(max(times), 3), "greedy_median_ms": round(statistics.median(greedy_times), 3),
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
    ap.add_argument("--only", default="", help="e.g. 30x1000: run one case of the chain mix")
    ap.add_argument("--no-dense", action="store_true", help="skip the dense stress cases")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="cpu: this process's CPU time (steadier on a shared machine)")
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    rng = random.Random(args.seed)
    skus = catalog(rng)
    plan = [("chain", n_lines, n_promos) for n_lines in (5, 30, 100) for n_promos in (10, 200, 1000)]
    if not args.no_dense:
        plan += [("dense", n_lines, n_promos) for n_lines in (5, 30) for n_promos in (200, 1000)]
    if args.only:
        lines_s, promos_s = args.only.split("x")
        plan = [("chain", int(lines_s), int(promos_s))]
    cases = []
    for mix, n_lines, n_promos in plan:
        n_carts = (60 if n_lines < 100 else 30) if args.quick else (300 if n_lines < 100 else 100)
        case = run_case(rng, skus, n_lines, n_promos, n_carts, mix)
        cases.append(case)
        print(f"{mix:>5} {n_lines:>4} lines {n_promos:>5} promotions: median {case['median_ms']:>8.3f} ms  "
              f"p99 {case['p99_ms']:>8.3f} ms  max {case['max_ms']:>8.3f} ms  (fixed chain median "
              f"{case['greedy_median_ms']:.3f} ms)  saving vs fixed chain {case['saving_vs_greedy']:>6} yuan, "
              f"lower on {case['share_better']:.0%} (max {case['max_saving']})  combinations median "
              f"{case['combinations_median']} max {case['combinations_max']}  exact {case['share_exact']:.1%}  "
              f"worse {case['worse_than_greedy']}", flush=True)
    print(json.dumps({"bench": "pricing", "python": sys.version.split()[0], "clock": args.clock, "cases": cases}))


if __name__ == "__main__":
    main()
