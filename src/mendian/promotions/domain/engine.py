"""``apply_promotions(cart, rules) -> PricingResult``: the customer's best price, exactly.

Layers (the issue's default): item prices (special / flash / tier prices) → order promotions (their
thresholds count the amounts after item prices, or list prices when a rule says so) → one discount
coupon and one free-shipping coupon (thresholds after promotions) → points (a tender).

Vocabulary (Oscar's, without the mutation): a rule's ``Condition`` is checked against the cart's
context once; its ``Benefit`` computes a discount on the lines it covers; the *applicator* here is an
exact search instead of a priority walk.

**What a combination is.** A set S of rules plus, for rules that conflict, which one takes the
contested lines. Two rules conflict on a line when they share an exclusive group, or one is a tier
price and the other does not combine with member prices (tier prices never stack on each other).
Within a set, conflicting rules *consume* lines in an order: each takes its covered lines that no
earlier conflicting rule took (Oscar's line consumption). Benefits are then computed layer by layer
in a fixed order (special → tier → bundle → Nth item → buy X get Y → add-on → 满件折 → 满折 → 满减 →
gifts, then priority, then code); each rule's discount is capped at what its lines still owe, so no
line and no total is ever negative.

**Search.** Branch and bound over the rules that can hurt another (a conflict, a threshold that a
lower price could miss, a coupon it blocks or whose threshold it could break): include / exclude,
best upper bound first. The other rules are always included: adding them never raises the total.
Conflicting item prices on a line nothing else depends on are settled first, line by line (the
lowest price keeps the line). At each leaf, every distinct consumption order of each group of
conflicting rules is evaluated, and the coupon is chosen exactly for that leaf. Bound: total ≥
subtotal − Σ UB(rules still possible) − UB(best coupon), where UB(rule) is the rule alone on all its
lines at regular prices (every benefit is monotone in the prices it sees). Exact over that space
while no group of interacting rules exceeds ``EXACT_GROUP`` and the search stays under its guard;
past either, a local search over consumption orders improves the best combination found, the result
says ``exact=False`` and is never worse than the fixed calculator chain (measured in
bench/pricing.py).

**Objective.** Lowest total (goods + shipping − discounts, before points); ties: more gift value,
more points the customer asked for, then the combination whose rules have the higher priorities,
then codes — so the same input always gives the same output.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .benefits import Give, PRule, _yuan, item_price, order_benefit
from .fen import RATE_ONE, allocate_fen, div_half_up, from_fen, line_fen, rate_off, to_bp, to_fen
from .model import (
    ITEM_KINDS,
    KIND_RANK,
    Adjustment,
    Applied,
    CartLine,
    CartSnapshot,
    CouponInput,
    CouponKind,
    GiftLine,
    Hint,
    Kind,
    NotApplied,
    PricedLine,
    PricingResult,
    Rule,
)

INVALID = 1 << 62
# a guard for pathological carts: past this many evaluated combinations the search stops and the
# result says exact=False (best found so far; bench/pricing.py reports how often)
MAX_EVALUATIONS = 200
# the exact search runs when no group of interacting optional rules is larger than this; larger
# groups go to a local search from the rules by value (exact=False), LOCAL_EVALUATIONS more at most
EXACT_GROUP = 10
# with this many useful rules or fewer, every one of them is searched (none is assumed harmless)
ALL_SEARCHED = 6
LOCAL_EVALUATIONS = 30
# the same guard for the consumption orders of one group of conflicting rules (walk steps)
MAX_ORDERS = 64
THRESHOLD_KINDS = frozenset({Kind.AMOUNT_OFF, Kind.SPEND_PERCENT, Kind.GIFT, Kind.ADDON})


# ---- preparation (once per rule set; the service caches a RuleBook) ---------------------------


def _prepare(rule: Rule, idx: int) -> PRule:
    b, c = rule.benefit, rule.condition
    kind = Kind(rule.kind)
    if kind == Kind.QTY_PERCENT:
        ladder = tuple(sorted((int(t.threshold), to_bp(t.value)) for t in b.tiers))
    elif kind == Kind.SPEND_PERCENT:
        ladder = tuple(sorted((to_fen(t.threshold), to_bp(t.value)) for t in b.tiers))
    else:
        ladder = tuple(sorted((to_fen(t.threshold), to_fen(t.value)) for t in b.tiers))
    gifts = tuple((g.sku, g.quantity, to_fen(g.value)) for g in b.gifts)
    min_amount = to_fen(c.min_amount)
    if kind == Kind.AMOUNT_OFF and ladder:
        min_amount = max(min_amount, 0)
    return PRule(
        idx=idx, code=rule.code, kind=kind.value, rank=(KIND_RANK[kind], -rule.priority, rule.code),
        group=rule.exclusive_group, priority=rule.priority, with_coupons=rule.combines_with_coupons,
        with_member_price=rule.combines_with_member_price, with_points=rule.combines_with_points,
        list_basis=rule.threshold_basis == "list",
        budget=None if rule.budget_left is None else max(0, to_fen(rule.budget_left)),
        price=None if b.price is None else to_fen(b.price), rate=None if b.rate is None else to_bp(b.rate),
        quota=b.quota_left,
        tier_rates={t: to_bp(v) for t, v in b.tier_rates.items()},
        tier_prices={t: {s: to_fen(p) for s, p in m.items()} for t, m in b.tier_prices.items()},
        ladder=ladder, every=None if b.every is None else to_fen(b.every),
        amount=None if b.amount is None else to_fen(b.amount),
        max_discount=None if b.max_discount is None else to_fen(b.max_discount),
        n=max(1, b.n), x=max(1, b.x), y=max(1, b.y), gifts=gifts, gift_value=sum(q * v for _, q, v in gifts),
        repeat=b.repeat, addon_skus=frozenset(b.addon_skus), max_units=b.max_units,
        bundle=tuple((i.sku, i.quantity) for i in b.items), max_sets=b.max_sets,
        min_amount=min_amount, min_qty=c.min_qty,
        threshold_kind=(kind in THRESHOLD_KINDS and not rule.threshold_basis == "list"),
    )


@dataclass
class RuleBook:
    """Active rules prepared and indexed by SKU, category and brand, so that a cart only looks at the
    rules that can touch it. Build once per rule set (the service caches it). Each store gets its own
    index of the rules that run there (store and region conditions), built on its first cart."""

    rules: list[Rule]
    prepared: list[PRule] = field(init=False)
    exact_index: set[int] = field(init=False)   # rules whose index hits are exactly the lines they cover
    _places: dict[tuple, _Index] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.rules = sorted(self.rules, key=lambda r: r.code)
        self.prepared = [_prepare(r, i) for i, r in enumerate(self.rules)]
        self.exact_index = set()
        for i, r in enumerate(self.rules):
            s = r.condition.scope
            if not (s.exclude_skus or s.exclude_brands or s.exclude_categories or _extra_skus(r) - set(s.skus)):
                self.exact_index.add(i)

    def index(self, store: str | None = None, regions: Sequence[str] = ()) -> _Index:
        """The index of the rules that run at ``store`` in ``regions`` (None: every rule)."""
        key = (store, tuple(regions))
        idx = self._places.get(key)
        if idx is None:
            ids = range(len(self.rules)) if store is None else [
                i for i, r in enumerate(self.rules)
                if (not r.condition.stores or store in r.condition.stores)
                and (not r.condition.regions or not r.condition.regions.isdisjoint(regions))]
            idx = _Index.build(self.rules, ids)
            if len(self._places) >= PLACES_KEPT:
                self._places.clear()
            self._places[key] = idx
        return idx

    def candidates(self, lines: Sequence[CartLine], store: str | None = None,
                   regions: Sequence[str] = ()) -> dict[int, list[int]]:
        """Rule index -> the lines (indexes, ascending) that reach the rule through the SKU, brand or
        category index; a rule that covers everything gets every line. One pass over the cart."""
        idx = self.index(store, regions)
        n = len(lines)
        found: dict[int, list[int]] = {k: list(range(n)) for k in idx.everywhere}
        by_sku, by_brand, by_category = idx.by_sku, idx.by_brand, idx.by_category
        for i, ln in enumerate(lines):
            hit: set[int] = set(by_sku.get(ln.sku, ()))
            if ln.brand:
                hit.update(by_brand.get(ln.brand, ()))
            for cat in ln.category_path:
                hit.update(by_category.get(cat, ()))
            for k in hit:
                found.setdefault(k, []).append(i)
        return found


PLACES_KEPT = 4096  # per-store indexes kept by a RuleBook (rebuilt from scratch past this)


def _extra_skus(r: Rule) -> set[str]:
    """SKUs a rule touches beyond its scope: add-on items, bundle items, fixed tier prices."""
    extra = set(r.benefit.addon_skus) | {it.sku for it in r.benefit.items}
    if r.kind == Kind.TIER_PRICE:
        for m in r.benefit.tier_prices.values():
            extra |= set(m)
    return extra


@dataclass
class _Index:
    by_sku: dict[str, list[int]]
    by_category: dict[str, list[int]]
    by_brand: dict[str, list[int]]
    everywhere: list[int]

    @classmethod
    def build(cls, rules: Sequence[Rule], ids: Iterable[int]) -> _Index:
        idx = cls({}, {}, {}, [])
        for i in ids:
            r = rules[i]
            s = r.condition.scope
            if s.is_all and not (r.kind == Kind.BUNDLE) and not (r.kind == Kind.TIER_PRICE and not r.benefit.tier_rates):
                idx.everywhere.append(i)
                continue
            for sku in set(s.skus) | _extra_skus(r):
                idx.by_sku.setdefault(sku, []).append(i)
            for cat in s.categories:
                idx.by_category.setdefault(cat, []).append(i)
            for br in s.brands:
                idx.by_brand.setdefault(br, []).append(i)
        return idx


# ---- context conditions ------------------------------------------------------------------------


def _context_failure(rule: Rule, cart: CartSnapshot) -> tuple[str, str] | None:
    """Why ``rule`` cannot apply to this cart at all (code, message), or None."""
    c = rule.condition
    m = cart.member
    if c.channels and cart.channel not in c.channels:
        return "channel", f"not on channel {cart.channel}"
    if c.stores and cart.store not in c.stores:
        return "store", f"not at store {cart.store}"
    if c.regions and c.regions.isdisjoint(cart.regions):
        return "region", "not in this store's region"
    if c.starts_at is not None and cart.at < c.starts_at:
        return "not_started", f"starts at {c.starts_at.isoformat()}"
    if c.ends_at is not None and cart.at >= c.ends_at:
        return "ended", f"ended at {c.ends_at.isoformat()}"
    if c.weekdays and cart.at.weekday() not in c.weekdays:
        return "weekday", "not on this day of the week"
    if c.hours is not None:
        t = cart.at.timetz().replace(tzinfo=None)
        start, end = c.hours
        inside = start <= t < end if start <= end else (t >= start or t < end)
        if not inside:
            return "hours", f"only between {start:%H:%M} and {end:%H:%M}"
    if (c.members_only or c.tiers or c.new_member_only or c.first_order_only or rule.kind == Kind.TIER_PRICE) and m is None:
        return "members_only", "for members only"
    if m is not None:
        if c.tiers and m.tier not in c.tiers:
            return "tier", f"not for tier {m.tier or '-'}"
        if c.new_member_only and not m.is_new:
            return "new_member_only", "for new members only"
        if c.first_order_only and not m.first_order:
            return "first_order_only", "for the first order only"
        if c.per_member_limit is not None and m.promotion_uses.get(rule.code, 0) >= c.per_member_limit:
            return "usage_limit", f"used {c.per_member_limit} times already"
    if rule.kind == Kind.TIER_PRICE and m is not None and m.tier not in rule.benefit.tier_rates and \
            m.tier not in rule.benefit.tier_prices:
        return "tier", f"no member price for tier {m.tier or '-'}"
    if rule.budget_left is not None and rule.budget_left <= 0:
        return "budget_spent", "the promotion's budget is spent"
    b = rule.benefit
    if rule.kind == Kind.SPECIAL_PRICE:
        if b.quota_left is not None and b.quota_left <= 0:
            return "quota_spent", "sold out at this price"
        if b.per_member_units is not None:
            used = m.promotion_units.get(rule.code, 0) if m is not None else 0
            if m is None:
                return "members_only", "for members only (limited per member)"
            if used >= b.per_member_units:
                return "member_quota_spent", f"limit of {b.per_member_units} per member reached"
    if rule.kind == Kind.GIFT and b.quota_left is not None and b.quota_left <= 0:
        return "quota_spent", "gifts are gone"
    return None


def _coupon_failure(cp: CouponInput, cart: CartSnapshot) -> tuple[str, str] | None:
    if cp.channels and cart.channel not in cp.channels:
        return "channel", f"not on channel {cart.channel}"
    if cp.stores and cart.store not in cp.stores:
        return "store", f"not at store {cart.store}"
    if cp.regions and cp.regions.isdisjoint(cart.regions):
        return "region", "not in this store's region"
    if cp.valid_from is not None and cart.at < cp.valid_from:
        return "not_started", f"valid from {cp.valid_from.isoformat()}"
    if cp.valid_to is not None and cart.at >= cp.valid_to:
        return "expired", f"expired at {cp.valid_to.isoformat()}"
    return None


# ---- per-cart problem ----------------------------------------------------------------------


@dataclass
class _Coupon:
    code: str
    kind: str
    lines: tuple[int, ...]
    amount: int
    threshold: int
    rate: int
    cap: int | None
    item_sku: str


@dataclass
class _Problem:
    cart: CartSnapshot
    skus: list[str]
    qty: list[int]
    puq: list[int]
    price: list[int]
    listed: list[int]
    tier: str
    rules: dict[int, PRule]           # candidate rules by RuleBook index
    src: dict[int, Rule]
    eligible: dict[int, frozenset[int]]
    conflicts: dict[int, frozenset[int]]
    coupons: list[_Coupon]
    ship_coupons: list[_Coupon]
    shipping: int
    quota_units: dict[int, int | None]  # special price: units it may still sell to this member
    alone: dict[int, tuple[int, int, str]] = field(default_factory=dict)  # rule -> (discount, gift value, reason)
    item_layers: dict[tuple, tuple] = field(default_factory=dict)        # memo of layer 1 per item-rule set
    gives: dict[tuple, Give] = field(default_factory=dict)               # memo of order benefits
    dominated: dict[int, set[int]] = field(default_factory=dict)        # item rule -> rivals that took its lines
    orders: dict[tuple, tuple] = field(default_factory=dict)             # memo of consumption orders per group
    sorted_lines: dict[int, tuple[int, ...]] = field(default_factory=dict)  # eligible lines, ascending
    rank_pos: dict[int, int] = field(default_factory=dict)               # rule -> position in the layer order
    line_items: dict[tuple, tuple] = field(default_factory=dict)         # memo of one line's item prices
    coupling: list[frozenset[int]] = field(default_factory=list)         # line sets whose choices interact


@dataclass
class _Eval:
    key: tuple
    total: int
    goods: int
    ship_discount: int
    item_parts: dict[int, dict[int, int]]     # rule -> line -> discount
    order_parts: dict[int, dict[int, int]]
    reasons: dict[int, str]
    gifts: dict[int, tuple]
    coupon: _Coupon | None
    coupon_parts: dict[int, int]
    ship_coupon: _Coupon | None
    points_used: int
    points_value: int
    points_parts: dict[int, int]
    assigned: dict[int, tuple[int, ...]]
    remaining: list[int]
    net: list[int]
    unit_prices: list[tuple]
    flash_notes: tuple[str, ...]
    units: dict[int, int]


def _eligible_lines(r: Rule, pr: PRule, lines: Sequence[CartLine], tier: str,
                    candidates: Sequence[int] | None = None, covered: bool = False) -> frozenset[int]:
    """The lines rule ``r`` may take, among ``candidates`` (default: every line); ``covered``: the
    candidates are known to be in the rule's scope (they came from an exact index)."""
    kind = r.kind
    scope = r.condition.scope
    out = []
    for i in (range(len(lines)) if candidates is None else candidates):
        ln = lines[i]
        if kind == Kind.BUNDLE:
            ok = ln.price_unit_qty == 1 and any(ln.sku == s for s, _ in pr.bundle) and (scope.is_all or scope.covers(ln))
        elif kind == Kind.ADDON:
            ok = (ln.sku in pr.addon_skus and ln.price_unit_qty == 1) or \
                (ln.sku not in pr.addon_skus and scope.covers(ln))
        elif kind in ITEM_KINDS:
            # a price rule holds only the lines whose price it lowers
            price = to_fen(ln.unit_price)
            ok = (covered or scope.covers(ln)) and item_price(pr, ln.sku, price, tier) < price
        else:
            ok = covered or scope.covers(ln)
            if ok and kind in (Kind.NTH_ITEM, Kind.BUY_X_GET_Y):
                ok = ln.price_unit_qty == 1
        if ok:
            out.append(i)
    return frozenset(out)


def _conflict(a: PRule, b: PRule) -> bool:
    if a.group and a.group == b.group:
        return True
    a_tier, b_tier = a.kind == "tier_price", b.kind == "tier_price"
    if a_tier and b_tier:
        return True
    return (a_tier and not b.with_member_price) or (b_tier and not a.with_member_price)


def _build(cart: CartSnapshot, book: RuleBook) -> tuple[_Problem, list[NotApplied], list[str]]:
    lines = cart.lines
    tier = cart.member.tier if cart.member is not None else ""
    not_applied: list[NotApplied] = []
    rules: dict[int, PRule] = {}
    src: dict[int, Rule] = {}
    eligible: dict[int, frozenset[int]] = {}
    # promotions of other stores and regions are not this cart's business: not even listed as not applied
    for i, cand in sorted(book.candidates(lines, cart.store, cart.regions).items()):
        r, pr = book.rules[i], book.prepared[i]
        fail = _context_failure(r, cart)
        if fail:
            not_applied.append(NotApplied(r.code, fail[0], fail[1]))
            continue
        el = _eligible_lines(r, pr, lines, tier, cand, i in book.exact_index)
        if not el:
            if not r.condition.scope.is_all:
                not_applied.append(NotApplied(r.code, "no_lines", "no item in the cart is covered"))
            continue
        rules[i], src[i], eligible[i] = pr, r, el
    conflicts: dict[int, set[int]] = {i: set() for i in rules}
    # only rules of one exclusive group, or a tier price and a rule that does not stack on it, conflict
    by_group: dict[str, list[int]] = {}
    tiers, no_member_price = [], []
    for k, r in rules.items():
        if r.group:
            by_group.setdefault(r.group, []).append(k)
        if r.kind == "tier_price":
            tiers.append(k)
        elif not r.with_member_price:
            no_member_price.append(k)
    pairs = [(a, b) for ks in by_group.values() for pos, a in enumerate(ks) for b in ks[pos + 1:]]
    pairs += [(a, b) for pos, a in enumerate(tiers) for b in tiers[pos + 1:]]
    pairs += [(a, b) for a in tiers for b in no_member_price]
    for a, b in pairs:
        if eligible[a] & eligible[b]:
            conflicts[a].add(b)
            conflicts[b].add(a)
    coupons: list[_Coupon] = []
    ship: list[_Coupon] = []
    seen: set[str] = set()
    for cp in sorted(cart.coupons, key=lambda c: c.code):
        if cp.code in seen:
            continue
        seen.add(cp.code)
        fail = _coupon_failure(cp, cart)
        if fail:
            not_applied.append(NotApplied(cp.code, fail[0], fail[1]))
            continue
        cl = tuple(i for i, ln in enumerate(lines) if cp.scope.covers(ln)
                   and (cp.kind != CouponKind.ITEM or ln.sku == cp.item_sku))
        c = _Coupon(code=cp.code, kind=CouponKind(cp.kind).value, lines=cl, amount=to_fen(cp.amount),
                    threshold=to_fen(cp.threshold), rate=to_bp(cp.rate) if cp.rate is not None else RATE_ONE,
                    cap=None if cp.cap is None else to_fen(cp.cap), item_sku=cp.item_sku)
        if c.kind == CouponKind.FREE_SHIPPING:
            ship.append(c)
        elif not cl:
            not_applied.append(NotApplied(cp.code, "no_lines", "no item in the cart is covered by this coupon"))
        else:
            coupons.append(c)
    quota_units: dict[int, int | None] = {}
    for i, r in src.items():
        if r.kind == Kind.SPECIAL_PRICE:
            q = r.benefit.quota_left
            if r.benefit.per_member_units is not None and cart.member is not None:
                left = r.benefit.per_member_units - cart.member.promotion_units.get(r.code, 0)
                q = left if q is None else min(q, left)
            quota_units[i] = q
    prob = _Problem(
        cart=cart, skus=[ln.sku for ln in lines], qty=[ln.quantity for ln in lines],
        puq=[ln.price_unit_qty for ln in lines], price=[to_fen(ln.unit_price) for ln in lines],
        listed=[line_fen(to_fen(ln.unit_price), ln.quantity, ln.price_unit_qty) for ln in lines], tier=tier,
        rules=rules, src=src, eligible=eligible, conflicts={k: frozenset(v) for k, v in conflicts.items()},
        coupons=coupons, ship_coupons=ship, shipping=to_fen(cart.shipping_fee), quota_units=quota_units,
    )
    return prob, not_applied, []


# ---- evaluation of one combination -----------------------------------------------------------


def _segments_amount(segs: tuple, puq: int) -> int:
    return sum(line_fen(p, u, puq) for u, p in segs)


def _respread(old: tuple, discount: int, puq: int, uncapped: tuple) -> tuple:
    """Unit prices consistent with a budget-capped discount: ``discount`` fen off the units of
    ``old`` (dearest first, spread evenly), so later count-based rules see the price actually paid."""
    if puq != 1:
        return uncapped
    units = sorted((price for count, price in old for _ in range(count)), reverse=True)
    shares = allocate_fen(discount, [1] * len(units))
    out: dict[int, int] = {}
    for price, d in zip(units, shares, strict=True):
        out[price - d] = out.get(price - d, 0) + 1
    return tuple((c, pr) for pr, c in sorted(out.items(), reverse=True))


def _item_reason(p: _Problem, r: PRule) -> str:
    return "特价 special price" if r.kind == "special_price" else f"会员价 member price ({p.tier})"


def _item_layer_by_line(p: _Problem, item_key: tuple) -> tuple:
    """Layer 1 when no item rule has a quota or a budget: each line's price depends only on the rules
    it holds, so each line is priced once per set of rules (memoised) and the layer is assembled."""
    per_line: dict[int, list[int]] = {}
    for k, lines in item_key:
        for i in lines:
            held = per_line.get(i)
            if held is None:
                per_line[i] = [k]
            else:
                held.append(k)
    segs = [((p.qty[i], p.price[i]),) for i in range(len(p.skus))]
    net = list(p.listed)
    item_parts: dict[int, dict[int, int]] = {k: {} for k, _ in item_key}
    quota_taken: dict[int, int] = {}
    memo = p.line_items
    for i, ks in per_line.items():
        key = (i, tuple(ks))
        hit = memo.get(key)
        if hit is None:
            price, amount, parts = p.price[i], p.listed[i], []
            for k in ks:
                new = item_price(p.rules[k], p.skus[i], price, p.tier)
                after = line_fen(new, p.qty[i], p.puq[i])
                parts.append((k, amount - after, new < price))
                price, amount = new, after
            hit = memo[key] = (((p.qty[i], price),), tuple(parts), amount)
        segs[i], parts_i, net[i] = hit
        for k, d, lowered in parts_i:
            if d > 0:
                item_parts[k][i] = d
            if lowered and p.quota_units.get(k) is not None:
                # flash units sold at the promotional price: the quota counter moves by these
                quota_taken[k] = quota_taken.get(k, 0) + p.qty[i]
    reasons = {k: _item_reason(p, p.rules[k]) for k, _ in item_key}
    return tuple(segs), item_parts, reasons, (), quota_taken, net


def _item_layer(p: _Problem, item_key: tuple) -> tuple:
    """Layer 1 for the item rules ``item_key`` ((rule, lines), ... in rank order): unit-price segments
    per line, discounts per rule and line, reasons, flash notes, quota units taken, net amounts."""
    # a quota that covers every unit of the rule's lines never binds: the rule prices line by line
    if all(p.rules[k].budget is None and (p.quota_units.get(k) is None or p.quota_units[k] >= sum(p.qty[i] for i in lines))
           for k, lines in item_key):
        return _item_layer_by_line(p, item_key)
    n = len(p.skus)
    # layer 1: item prices
    segs: list[tuple] = [((p.qty[i], p.price[i]),) for i in range(n)]
    item_parts: dict[int, dict[int, int]] = {}
    reasons: dict[int, str] = {}
    flash_notes: list[str] = []
    quota_taken: dict[int, int] = {}
    for k, lines in item_key:
        r = p.rules[k]
        parts: dict[int, int] = {}
        quota = p.quota_units.get(k)
        # quota units go to the lines where a unit saves most
        if quota is not None:
            lines = sorted(lines, key=lambda i: (-(segs[i][0][1] - item_price(r, p.skus[i], segs[i][0][1], p.tier)), i))
        old_segs = {}
        for i in lines:
            old_segs[i] = segs[i]
            before = _segments_amount(segs[i], p.puq[i])
            new_segs = []
            for units, price in segs[i]:
                newp = item_price(r, p.skus[i], price, p.tier)
                if quota is not None:
                    take = min(units, quota) if newp < price else 0
                    quota -= take
                    quota_taken[k] = quota_taken.get(k, 0) + take
                    if take < units:
                        flash_notes.append(f"{p.skus[i]}: {units - take} of {units} at the regular price "
                                           f"(limit of {r.code} reached)")
                    if take:
                        new_segs.append((take, newp))
                    if units - take:
                        new_segs.append((units - take, price))
                else:
                    new_segs.append((units, newp))
            segs[i] = tuple(new_segs)
            d = before - _segments_amount(segs[i], p.puq[i])
            if d > 0:
                parts[i] = d
        if r.budget is not None and sum(parts.values()) > r.budget:
            # a budget-capped price rule gives what the budget allows, spread over its lines
            idxs = sorted(parts)
            capped = allocate_fen(r.budget, [parts[i] for i in idxs])
            for i, d in zip(idxs, capped, strict=True):
                if d < parts[i]:
                    segs[i] = _respread(old_segs[i], d, p.puq[i], segs[i])
            parts = dict(zip(idxs, capped, strict=True))
        item_parts[k] = {i: d for i, d in parts.items() if d > 0}
        reasons[k] = _item_reason(p, r)
    net = list(p.listed)
    for parts_k in item_parts.values():
        for i, d in parts_k.items():
            net[i] -= d
    return tuple(segs), item_parts, reasons, tuple(flash_notes), quota_taken, net


def _evaluate(p: _Problem, assigned: dict[int, tuple[int, ...]], coupons: list[_Coupon] | None = None,
              light: bool = False) -> _Eval:
    """Price one combination. ``light``: item and order layers only (no coupon, points or key)."""
    if not p.rank_pos:
        p.rank_pos = {k: pos for pos, k in enumerate(sorted(p.rules, key=lambda k: p.rules[k].rank))}
    order_ids = sorted(assigned, key=p.rank_pos.__getitem__)
    item_key = tuple((k, assigned[k]) for k in order_ids if p.rules[k].kind in ("special_price", "tier_price"))
    layer = p.item_layers.get(item_key)
    if layer is None:
        layer = p.item_layers[item_key] = _item_layer(p, item_key)
    segs, item_parts, item_reasons, flash_notes, quota_taken, net = layer
    reasons = dict(item_reasons)
    remaining = list(net)
    # layer 2: order promotions
    order_parts: dict[int, dict[int, int]] = {}
    gifts: dict[int, tuple] = {}
    gift_value = 0
    for k in order_ids:
        r = p.rules[k]
        if r.kind in ("special_price", "tier_price"):
            continue
        lines = assigned[k]
        # the item layer is memoised for the problem's life, so its id names the prices it set
        gkey = (k, lines, id(layer), tuple([remaining[i] for i in lines]))
        give = p.gives.get(gkey)
        if give is None:
            give = p.gives[gkey] = order_benefit(r, list(lines), p.qty, p.puq, segs, net, p.listed, remaining, p.skus)
        reasons[k] = give.reason
        if give.parts:
            order_parts[k] = give.parts
            for i, d in give.parts.items():
                remaining[i] -= d
        if give.gifts:
            gifts[k] = give.gifts
            gift_value += give.gift_value
    if light:
        return _Eval(key=(), total=0, goods=sum(remaining), ship_discount=0, item_parts=item_parts,
                     order_parts=order_parts, reasons=reasons, gifts=gifts, coupon=None, coupon_parts={},
                     ship_coupon=None, points_used=0, points_value=0, points_parts={}, assigned=assigned,
                     remaining=remaining, net=net, unit_prices=segs, flash_notes=(), units={})
    # layer 3: coupons (one discount coupon, one shipping coupon), exact for this combination
    blocked_c = set()
    blocked_p = set()
    for k in assigned:
        r = p.rules[k]
        if r.with_coupons and r.with_points:
            continue
        # a rule keeps coupons / points off the lines it discounted (a gift: off the lines that earned it)
        touched = set(item_parts.get(k, ())) | set(order_parts.get(k, ())) | (set(assigned[k]) if k in gifts else set())
        if not r.with_coupons:
            blocked_c |= touched
        if not r.with_points:
            blocked_p |= touched
    # the coupon that gives the lowest total (a bigger coupon can lose a free-shipping threshold);
    # at equal totals the smaller coupon value, so the customer keeps the better coupon
    base_goods = sum(remaining)
    choice: tuple | None = None
    for c in [None, *(p.coupons if coupons is None else coupons)]:
        d, parts = (0, {}) if c is None else _coupon_discount(c, remaining, blocked_c, p, parts=False)
        if c is not None and d <= 0:
            continue
        goods_c = base_goods - d
        ship_c = None
        if p.shipping > 0:
            ship_c = next((sc for sc in p.ship_coupons if goods_c >= sc.threshold), None)
        total_c = goods_c + p.shipping - (p.shipping if ship_c is not None else 0)
        rank = (total_c, d, c.code if c is not None else "")
        if choice is None or rank < choice[0]:
            choice = (rank, c, parts, ship_c)
    assert choice is not None
    _, best_cp, best_parts, ship_cp = choice
    if best_cp is not None:
        best_parts = _coupon_discount(best_cp, remaining, blocked_c, p)[1]
    for i, d in best_parts.items():
        remaining[i] -= d
    goods = sum(remaining)
    ship_discount = p.shipping if ship_cp is not None else 0
    total = goods + p.shipping - ship_discount
    # layer 4: points, a tender
    pts_used, pts_value, pts_parts = _points(p, remaining, blocked_p)
    effective = set(item_parts) | set(order_parts) | set(gifts)
    rules = p.rules
    applied_prio = tuple(sorted((-rules[k].priority, rules[k].code) for k in effective))
    # a rule holds contested lines only when it gives something: an idle rule that kept lines from a
    # rival would be a combination no merchant meant, so it is not a valid combination
    conflicts = p.conflicts
    valid = all(k in effective or not conflicts[k] or conflicts[k].isdisjoint(assigned) for k in assigned)
    # rule indexes follow the codes (the RuleBook sorts rules by code), so the last part orders by code
    key = (total if valid else INVALID, -gift_value, -pts_value, applied_prio, best_cp.code if best_cp else "",
           tuple(sorted(assigned.items())))
    return _Eval(key=key, total=total, goods=goods, ship_discount=ship_discount, item_parts=item_parts,
                 order_parts=order_parts, reasons=reasons, gifts=gifts, coupon=best_cp, coupon_parts=best_parts,
                 ship_coupon=ship_cp, points_used=pts_used, points_value=pts_value, points_parts=pts_parts,
                 assigned=assigned, remaining=remaining, net=net, unit_prices=segs, flash_notes=tuple(flash_notes),
                 units={**quota_taken, **{k: g[0][1] // max(1, p.rules[k].gifts[0][1]) for k, g in gifts.items() if g}})


def _coupon_discount(c: _Coupon, remaining: list[int], blocked: set[int], p: _Problem,
                     parts: bool = True) -> tuple[int, dict[int, int]]:
    """The coupon's discount on what its lines still owe, and (``parts``) its share per line."""
    lines = [i for i in c.lines if i not in blocked and remaining[i] > 0]
    t = sum(remaining[i] for i in lines)
    if not lines:
        return 0, {}
    if c.kind == CouponKind.ITEM:
        # one unit of the SKU free: the dearest unit still owed
        best = max(lines, key=lambda i: (div_half_up(remaining[i], p.qty[i]) if p.puq[i] == 1 else remaining[i], -i))
        unit = div_half_up(remaining[best], p.qty[best]) if p.puq[best] == 1 else remaining[best]
        return unit, {best: unit}
    if t < c.threshold:
        return 0, {}
    if c.kind == CouponKind.PERCENT:
        d = rate_off(t, c.rate)
        if c.cap is not None:
            d = min(d, c.cap)
    else:
        d = min(c.amount, t)
    if d <= 0:
        return 0, {}
    if not parts:
        return d, {}
    return d, {i: x for i, x in zip(lines, allocate_fen(d, [remaining[i] for i in lines]), strict=True) if x > 0}


def _points(p: _Problem, remaining: list[int], blocked: set[int]) -> tuple[int, int, dict[int, int]]:
    m = p.cart.member
    want = min(p.cart.points, m.points_balance) if m is not None else 0
    if want <= 0:
        return 0, 0, {}
    pol = p.cart.points_policy
    lines = [i for i in range(len(remaining)) if i not in blocked and remaining[i] > 0]
    base = sum(remaining[i] for i in lines)
    share_bp = to_bp(pol.max_share)
    max_fen = base * share_bp // RATE_ONE
    value = min(want * 100 // pol.points_per_yuan, max_fen)
    used = value * pol.points_per_yuan // 100
    value = used * 100 // pol.points_per_yuan
    if value <= 0:
        return 0, 0, {}
    parts = {i: x for i, x in zip(lines, allocate_fen(value, [remaining[i] for i in lines]), strict=True) if x > 0}
    return used, value, parts


# ---- the search ------------------------------------------------------------------------------


def _alone(p: _Problem, k: int) -> tuple[int, int, str]:
    """(discount, gift value, reason) of rule k alone on all its lines at regular prices; cached."""
    hit = p.alone.get(k)
    if hit is None and p.rules[k].kind in ("special_price", "tier_price") and p.rules[k].budget is None and (
            p.quota_units.get(k) is None or p.quota_units[k] >= sum(p.qty[i] for i in p.eligible[k])):
        # an item price with nothing to share out: the sum of what it takes off each line
        r = p.rules[k]
        d = sum(p.listed[i] - line_fen(item_price(r, p.skus[i], p.price[i], p.tier), p.qty[i], p.puq[i])
                for i in p.eligible[k])
        hit = p.alone[k] = (d, 0, _item_reason(p, r))
    if hit is None:
        ev = _evaluate(p, {k: tuple(sorted(p.eligible[k]))}, light=True)
        d = sum(ev.item_parts.get(k, {}).values()) + sum(ev.order_parts.get(k, {}).values())
        g = sum(q * v for _, q, v in ev.gifts.get(k, ()))
        if k in ev.gifts and g <= 0:
            g = 1  # a gift of no stated value still counts as something the rule gives
        hit = p.alone[k] = (d, g, ev.reasons.get(k, ""))
    return hit


def _upper_bound(p: _Problem, k: int) -> tuple[int, int]:
    """(discount, gift value) of rule k alone on all its lines at regular prices: every benefit is
    monotone in the prices it sees, so no combination gives rule k more."""
    d, g, _ = _alone(p, k)
    return d, g


def _coupon_ub(p: _Problem, coupons: list[_Coupon] | None = None) -> int:
    best = 0
    rem = list(p.listed)
    for c in (p.coupons if coupons is None else coupons):
        if c.kind == CouponKind.ITEM:
            best = max(best, max((div_half_up(rem[i], p.qty[i]) if p.puq[i] == 1 else rem[i]) for i in c.lines))
        elif c.kind == CouponKind.PERCENT:
            d = rate_off(sum(rem[i] for i in c.lines), c.rate)
            best = max(best, d if c.cap is None else min(d, c.cap))
        else:
            best = max(best, min(c.amount, sum(rem[i] for i in c.lines)))
    return best


def _walk_orders(p: _Problem, comp: list[int], limit: int) -> tuple[list[dict[int, tuple[int, ...]]], bool]:
    """The distinct assignments of one connected group of conflicting rules (see _consumption_orders),
    and whether the walk stopped at ``limit`` steps."""
    found: dict[tuple, dict[int, tuple[int, ...]]] = {}
    comp = sorted(comp, key=lambda k: (-p.alone.get(k, (0, 0, ""))[0], p.rules[k].rank))
    visited: set[frozenset] = set()
    truncated = [False]

    def avail(k: int, taken: dict[int, frozenset[int]]) -> frozenset[int]:
        blocked: set[int] = set()
        ck = p.conflicts[k]
        for j, lines in taken.items():
            if j in ck:
                blocked |= lines
        return p.eligible[k] - blocked if blocked else p.eligible[k]

    def walk(taken: dict[int, frozenset[int]], rest: list[int]) -> None:
        state = frozenset(taken.items())
        if state in visited:
            return
        if len(visited) >= limit:
            truncated[0] = True
            return
        visited.add(state)
        if not rest:
            sig = tuple((k, tuple(sorted(v))) for k, v in sorted(taken.items()))
            found.setdefault(sig, {k: tuple(sorted(v)) for k, v in taken.items()})
            return
        options = {k: avail(k, taken) for k in rest}
        if any(not v for v in options.values()):
            return  # some rule can no longer keep a line: not a combination of this set
        for k in rest:
            walk({**taken, k: options[k]}, [x for x in rest if x != k])

    walk({}, comp)
    return [found[s] for s in sorted(found)], truncated[0]


def _consumption_orders(p: _Problem, chosen: list[int], exact: list[bool] | None = None,
                        limit: int = MAX_ORDERS) -> Iterable[dict[int, tuple[int, ...]]]:
    """Every distinct line assignment of ``chosen`` where conflicting rules consume lines in some order
    and each rule keeps at least one line. Past ``limit`` walk steps for one group of conflicting rules
    the walk stops with what it found (rules by descending value first) and ``exact[0]`` turns False."""
    chosen_set = set(chosen)
    comps: list[list[int]] = []
    seen: set[int] = set()
    base: dict[int, tuple[int, ...]] = {}   # rules with no rival in this set keep all their lines
    conflicts, sorted_lines = p.conflicts, p.sorted_lines
    for k in chosen:
        if k in seen:
            continue
        if not conflicts[k] or conflicts[k].isdisjoint(chosen_set):
            seen.add(k)
            lines = sorted_lines.get(k)
            base[k] = lines if lines is not None else tuple(sorted(p.eligible[k]))
            continue
        comp, stack = [], [k]
        seen.add(k)
        while stack:
            x = stack.pop()
            comp.append(x)
            for y in p.conflicts[x]:
                if y in chosen_set and y not in seen:
                    seen.add(y)
                    stack.append(y)
        comps.append(sorted(comp))
    per_comp: list[list[dict[int, tuple[int, ...]]]] = [[base]]
    for comp in comps:
        key = tuple(comp)
        hit = p.orders.get(key)
        if hit is None:
            hit = p.orders[key] = _walk_orders(p, comp, limit)
        assignments, truncated = hit
        if truncated and exact is not None:
            exact[0] = False
        if not assignments:
            return
        per_comp.append(assignments)
    for combo in itertools.product(*per_comp):
        out: dict[int, tuple[int, ...]] = {}
        for part in combo:
            out.update(part)
        yield out


def _tier_of(r: PRule, x: int) -> tuple:
    """Which step of its thresholds rule ``r`` reaches with ``x`` fen counted."""
    if x < r.min_amount:
        return (0,)
    if r.kind == "amount_off" and r.every:
        times = x // r.every
        if r.max_discount is not None and r.amount:
            times = min(times, -(-r.max_discount // r.amount))  # past the cap more spend changes nothing
        return (1, times)
    if r.kind == "gift" and r.repeat and r.min_amount:
        return (1, x // r.min_amount)
    return (1, sum(1 for th, _ in r.ladder if x >= th))


def _resolve_item_lines(p: _Problem, useful: list[int], sensitive: set[int], coupon_lines: set[int]) -> set[int]:
    """Settle, line by line, which conflicting item rules (special and tier prices) keep a line, where
    that choice cannot touch anything else: the line is not under a live threshold, no rule on it has
    a quota or budget, none blocks a usable coupon there, and no order rule contests it. There the
    lowest unit price is best for every combination (every benefit is monotone in the prices it
    sees), so the other rules give the line up before the search (ties: higher priority, then code).
    Returns the rules left with no line."""
    items = [k for k in useful if p.rules[k].kind in ("special_price", "tier_price") and p.conflicts[k]]
    if not items:
        return set()
    by_line: dict[int, list[int]] = {}
    for k in items:
        for i in p.eligible[k]:
            by_line.setdefault(i, []).append(k)
    eligible, conflicts = p.eligible, {k: set(v) for k, v in p.conflicts.items()}
    # a rule takes all its lines or none, so one that matters anywhere else (a live threshold, a
    # counter, a coupon it blocks, a rival that is not an item price) is not settled on any line
    tainted = {k for k in items if eligible[k] & sensitive or p.rules[k].quota is not None
               or p.rules[k].budget is not None or (not p.rules[k].with_coupons and eligible[k] & coupon_lines)
               or any(p.rules[j].kind not in ("special_price", "tier_price") for j in conflicts[k])}
    changed: set[int] = set()
    for i, ks in sorted(by_line.items()):
        if len(ks) < 2 or i in sensitive or tainted.intersection(ks):
            continue
        kset = set(ks)
        if not any(conflicts[k] & kset for k in ks):
            continue
        if any(i in eligible[j] for k in ks for j in conflicts[k] if j not in kset):
            continue
        ks = sorted(ks, key=lambda k: p.rules[k].rank)
        options: list[tuple[int, tuple, list[int]]] = []
        for mask in range(1, 1 << len(ks)):
            sub = [ks[b] for b in range(len(ks)) if mask >> b & 1]
            if any(conflicts[x] & set(sub) for x in sub):
                continue
            price = p.price[i]
            for k in sub:
                price = item_price(p.rules[k], p.skus[i], price, p.tier)
            options.append((price, tuple(sorted((-p.rules[k].priority, p.rules[k].code) for k in sub)), sub))
        low = min(o[0] for o in options)
        tied = [o for o in options if o[0] == low]
        # at the same price, rules that let points or coupons through can still make the better result:
        # leave such a line to the search
        if len({(all(p.rules[k].with_points for k in o[2]), all(p.rules[k].with_coupons for k in o[2]))
                for o in tied}) > 1:
            continue
        keep = set(min(tied)[2])
        for k in ks:
            if k not in keep:
                eligible[k] = eligible[k] - {i}
                p.dominated.setdefault(k, set()).update(keep)
                changed.add(k)
    emptied: set[int] = set()
    for k in changed:
        for j in list(conflicts[k]):
            if not (eligible[k] & eligible[j]):
                conflicts[k].discard(j)
                conflicts[j].discard(k)
        if not eligible[k]:
            emptied.add(k)
    if changed:
        p.conflicts = {k: frozenset(v) for k, v in conflicts.items()}
    return emptied


def _marginal_bp(r: PRule) -> int:
    """How much of a lower unit price an order rule's discount gives back at most, in basis points:
    all of it for a bundle, a free unit or an add-on price, (1 − rate) for a percentage."""
    if r.kind in ("bundle", "buy_x_get_y", "addon"):
        return RATE_ONE
    if r.kind == "nth_item":
        return RATE_ONE - (r.rate if r.rate is not None else RATE_ONE)
    if r.kind in ("spend_percent", "qty_percent") and r.ladder:
        return RATE_ONE - min(bp for _, bp in r.ladder)
    return 0


def _search(p: _Problem, max_evaluations: int = MAX_EVALUATIONS) -> tuple[_Eval, int, bool]:
    ids = sorted(p.rules, key=lambda k: p.rules[k].rank)
    ub: dict[int, int] = {}
    useful = []
    for k in ids:
        d, g = _upper_bound(p, k)
        ub[k] = d
        if d > 0 or g > 0:
            useful.append(k)
    coupon_ub = _coupon_ub(p)
    useful_set = set(useful)
    # a coupon threshold is "live" when it is reachable at regular prices but the rules could push the
    # covered amount below it; only then may including a rule cost the customer the coupon
    threshold_coupon_lines: set[int] = set()
    usable_coupon_lines: set[int] = set()
    for c in p.coupons:
        listed_c = sum(p.listed[i] for i in c.lines)
        if c.kind in (CouponKind.THRESHOLD, CouponKind.PERCENT) and listed_c < c.threshold:
            continue
        usable_coupon_lines.update(c.lines)
        if c.threshold > 0 and c.kind in (CouponKind.THRESHOLD, CouponKind.PERCENT):
            cl = set(c.lines)
            low = listed_c - sum(ub[k] for k in useful if p.eligible[k] & cl)
            if low < c.threshold:
                threshold_coupon_lines |= cl
    subtotal = sum(p.listed)
    ship_threshold = p.shipping > 0 and any(
        c.threshold > 0 and subtotal >= c.threshold > subtotal - sum(ub.values()) - coupon_ub for c in p.ship_coupons)
    # a threshold rule is "live" when lower item prices could drop it to a lower tier
    item_ids = [k for k in useful if p.rules[k].kind in ("special_price", "tier_price")]
    threshold_rule_lines: set[int] = set()
    for k in useful:
        r = p.rules[k]
        if not r.threshold_kind or not item_ids:
            continue
        base = [i for i in p.eligible[k] if r.kind != "addon" or p.skus[i] not in r.addon_skus]
        high = sum(p.listed[i] for i in base)
        bl = set(base)
        low = high - sum(ub[j] for j in item_ids if p.eligible[j] & bl)
        if _tier_of(r, low) != _tier_of(r, high):
            threshold_rule_lines |= bl
            p.coupling.append(frozenset(bl))
    # rules whose benefit depends on the prices of several lines together (which unit is free, the
    # set price) tie the price choices on those lines together as well
    for k in useful:
        if p.rules[k].kind in ("nth_item", "buy_x_get_y", "bundle", "addon") and len(p.eligible[k]) > 1:
            p.coupling.append(p.eligible[k])

    # conflicting item prices on a line nothing else depends on: the lowest price keeps the line
    dropped = _resolve_item_lines(p, useful, threshold_rule_lines | threshold_coupon_lines, usable_coupon_lines)
    if dropped:
        useful = [k for k in useful if k not in dropped]
        useful_set = set(useful)

    # a lower item price lowers the order rules' discounts on its line by their marginal rates; where
    # those add up past 100% (a bundle and a 满折 stacked, say), a lower price costs the customer
    marginal: dict[int, int] = {}
    for k in useful:
        m = _marginal_bp(p.rules[k])
        if m:
            for i in p.eligible[k]:
                marginal[i] = marginal.get(i, 0) + m
    overshoot_lines = {i for i, m in marginal.items() if m > RATE_ONE}

    forced, optional = [], []
    for k in useful:
        r = p.rules[k]
        el = p.eligible[k]
        hurts = bool(p.conflicts[k] & useful_set)
        if not hurts and r.kind in ("special_price", "tier_price") and el & (threshold_rule_lines | overshoot_lines):
            hurts = True
        if not hurts and el & threshold_coupon_lines:
            hurts = True
        if not hurts and not r.with_coupons and el & usable_coupon_lines:
            hurts = True
        if not hurts and ship_threshold:
            hurts = True
        (optional if hurts else forced).append(k)
    if len(useful) <= ALL_SEARCHED:
        # "never raises the total" is a rule of thumb: stacked rules, a capped coupon or a blocked one can
        # make a lower price cost a fen or two. With a handful of rules, search every one of them.
        forced, optional = [], list(useful)

    count = [0]
    exact = [True]
    p.sorted_lines = {k: tuple(sorted(p.eligible[k])) for k in p.rules}
    if not optional:
        ev = _evaluate(p, {k: tuple(sorted(p.eligible[k])) for k in forced})
        return ev, 1, True

    # The objective is a sum over lines once the coupon is fixed, so optional rules that share no
    # line (and no coupon threshold, cap or rounding) are independent: for each coupon choice, solve
    # each group of line-sharing rules by branch and bound with the others held, then combine.
    options: list[list[_Coupon]] = [[]] + [[c] for c in p.coupons if set(c.lines) & usable_coupon_lines]
    best: _Eval | None = None
    if max(len(c) for c in _components(p, optional, None, ub, merge_all=ship_threshold)) <= EXACT_GROUP:
        for opt in options:
            ev = _solve_with_coupon(p, forced, optional, ub, opt, ship_threshold, count, exact, max_evaluations)
            if ev is not None and ev.key[0] != INVALID and (best is None or ev.key < best.key):
                best = ev
    else:
        exact[0] = False
    if not exact[0]:
        # too many interacting rules for the exact search here: improve the best combination found
        # (or the rules by value) by local moves, within the same evaluation guard
        ev = _local_search(p, forced, optional, ub, best, count, count[0] + LOCAL_EVALUATIONS)
        if ev is not None and (best is None or ev.key < best.key):
            best = ev
    if best is None:
        best = _evaluate(p, {})
        count[0] += 1
    return best, count[0], exact[0]


def _assign_in_order(p: _Problem, order: Sequence[int]) -> dict[int, tuple[int, ...]]:
    """Rules consume lines in ``order``: each takes its lines that no earlier conflicting rule took;
    a rule left with no line is not part of the combination."""
    held: dict[int, set[int]] = {}
    out: dict[int, tuple[int, ...]] = {}
    empty: frozenset[int] = frozenset()
    for k in order:
        ck = p.conflicts[k]
        if ck:
            lines = tuple(i for i in p.sorted_lines[k] if ck.isdisjoint(held.get(i, empty)))
        else:
            lines = p.sorted_lines[k]
        if lines:
            out[k] = lines
            for i in lines:
                h = held.get(i)
                if h is None:
                    held[i] = {k}
                else:
                    h.add(k)
    return out


def _local_search(p: _Problem, forced: list[int], optional: list[int], ub: dict[int, int], start: _Eval | None,
                  count: list[int], max_evaluations: int) -> _Eval | None:
    """Best-improvement-first local search over consumption orders of the optional rules: insert a
    rule in front (it takes its lines from conflicting holders), drop a rule, or move it to the front.
    Starts from ``start`` (or the rules by value) and stops at a local optimum or the guard."""

    def evaluate(order: list[int]) -> tuple[_Eval, list[int]]:
        assigned = _assign_in_order(p, forced + order)
        ev = _evaluate(p, assigned)
        count[0] += 1
        if ev.key[0] == INVALID:
            # drop the rules that hold contested lines and give nothing, then price again
            effective = set(ev.item_parts) | set(ev.order_parts) | set(ev.gifts)
            order = [k for k in order if k in effective]
            ev = _evaluate(p, _assign_in_order(p, forced + order))
            count[0] += 1
        return ev, order

    by_value = sorted(optional, key=lambda k: (-ub[k], p.rules[k].rank))
    if start is not None:
        order = [k for k in by_value if k in start.assigned]
        best = start
    else:
        best, order = evaluate(by_value)
    improved = True
    while improved and count[0] < max_evaluations:
        improved = False
        inside = set(order)
        moves: list[list[int]] = []
        for k in by_value:
            if k not in inside:
                moves.append([k, *order])
        for k in reversed(order):
            moves.append([x for x in order if x != k])
        for pos, k in enumerate(order):
            if pos and p.conflicts[k] & inside:
                moves.append([k, *order[:pos], *order[pos + 1:]])
        for trial in moves:
            if count[0] >= max_evaluations:
                break
            ev, trial = evaluate(trial)
            if ev.key[0] != INVALID and ev.key < best.key:
                best, order, improved = ev, trial, True
                break
    return best if best.key[0] != INVALID else None


def _components(p: _Problem, optional: list[int], coupon: _Coupon | None, ub: dict[int, int],
                merge_all: bool) -> list[list[int]]:
    parent = {k: k for k in optional}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_line: dict[int, int] = {}
    for k in optional:
        for i in p.eligible[k]:
            if i in by_line:
                union(k, by_line[i])
            else:
                by_line[i] = k
    # optional rules on the lines of one live threshold or one multi-line unit rule are solved together
    for lines in p.coupling:
        held = [by_line[i] for i in lines if i in by_line]
        for k in held[1:]:
            union(held[0], k)
    if merge_all:
        for k in optional[1:]:
            union(optional[0], k)
    elif coupon is not None:
        cl = set(coupon.lines)
        touching = [k for k in optional if p.eligible[k] & cl]
        robust = False
        if coupon.kind in (CouponKind.THRESHOLD, CouponKind.NO_THRESHOLD):
            blockers = set()
            for k in p.rules:
                if not p.rules[k].with_coupons:
                    blockers |= p.eligible[k]
            low = sum(p.listed[i] for i in cl if i not in blockers) - sum(ub[k] for k in p.rules if p.eligible[k] & cl)
            robust = low >= max(coupon.amount, coupon.threshold)
        if not robust:
            for k in touching[1:]:
                union(touching[0], k)
    comps: dict[int, list[int]] = {}
    for k in optional:
        comps.setdefault(find(k), []).append(k)
    return [comps[r] for r in sorted(comps)]


def _solve_with_coupon(p: _Problem, forced: list[int], optional: list[int], ub: dict[int, int],
                       coupons: list[_Coupon], ship_threshold: bool, count: list[int], exact: list[bool],
                       max_evaluations: int) -> _Eval | None:
    coupon = coupons[0] if coupons else None
    comps = _components(p, optional, coupon, ub, merge_all=ship_threshold)
    subtotal = sum(p.listed)
    coupon_ub = _coupon_ub(p, coupons)
    ship_lb = 0 if p.ship_coupons else p.shipping
    # start with every group out (always a valid combination); groups are independent, so each is
    # solved once with the groups before it at their best and the ones after it out
    chosen_by_comp: list[list[int]] = [[] for _ in comps]
    forced_ub = sum(ub[k] for k in forced)

    def evaluate(all_chosen: list[int]) -> _Eval | None:
        best_here = None
        for assigned in _consumption_orders(p, forced + all_chosen, exact):
            ev = _evaluate(p, assigned, coupons)
            count[0] += 1
            if ev.key[0] != INVALID and (best_here is None or ev.key < best_here.key):
                best_here = ev
        return best_here

    for ci, comp in enumerate(comps):
        others = [k for cj, ch in enumerate(chosen_by_comp) if cj != ci for k in ch]
        others_ub = forced_ub + sum(ub[k] for k in others)
        comp_sorted = sorted(comp, key=lambda k: (-ub[k], p.rules[k].rank))
        suffix = [0] * (len(comp_sorted) + 1)
        for pos in range(len(comp_sorted) - 1, -1, -1):
            suffix[pos] = suffix[pos + 1] + ub[comp_sorted[pos]]
        best: list[tuple[_Eval, list[int]] | None] = [None]

        def dfs(pos: int, chosen: list[int], chosen_ub: int, comp_sorted=comp_sorted, suffix=suffix,
                others=others, others_ub=others_ub, best=best) -> None:
            if count[0] >= max_evaluations:
                exact[0] = False
                return
            if best[0] is not None:
                lb = max(0, subtotal - others_ub - chosen_ub - suffix[pos] - coupon_ub) + ship_lb
                if lb > best[0][0].total:
                    return
            if pos == len(comp_sorted):
                if count[0] >= max_evaluations:
                    exact[0] = False
                    return
                count[0] += 1  # a leaf, even one with no valid consumption order
                ev = evaluate(others + chosen)
                if ev is not None and (best[0] is None or ev.key < best[0][0].key):
                    best[0] = (ev, list(chosen))
                return
            k = comp_sorted[pos]
            # two conflicting rules that both cover only the same single line can never both keep it
            if len(p.eligible[k]) != 1 or not any(j in p.conflicts[k] and p.eligible[j] == p.eligible[k] for j in chosen):
                dfs(pos + 1, chosen + [k], chosen_ub + ub[k])
            dfs(pos + 1, chosen, chosen_ub)

        dfs(0, [], 0)
        if best[0] is None:
            return None
        chosen_by_comp[ci] = best[0][1]
    return evaluate([k for ch in chosen_by_comp for k in ch])


# ---- result ----------------------------------------------------------------------------------


def apply_promotions(cart: CartSnapshot, rules: RuleBook | Iterable[Rule]) -> PricingResult:
    """Price ``cart`` under ``rules`` (the active promotions) — the customer's best combination."""
    book = rules if isinstance(rules, RuleBook) else RuleBook(list(rules))
    p, not_applied, _ = _build(cart, book)
    ev, searched, exact = _search(p)
    if not exact:
        # the guard stopped the search: never return less than the fixed calculator chain would
        from .greedy import fixed_order_evaluation

        fixed = fixed_order_evaluation(p)
        if fixed.key < ev.key:
            ev = fixed
    return _result(p, ev, not_applied, searched, exact)


def _result(p: _Problem, ev: _Eval, not_applied: list[NotApplied], searched: int, exact: bool = True) -> PricingResult:
    cart = p.cart
    n = len(cart.lines)
    adjs: list[list[Adjustment]] = [[] for _ in range(n)]
    applied: list[Applied] = []
    applied_ids: set[int] = set()
    for k in sorted(set(ev.item_parts) | set(ev.order_parts) | set(ev.gifts), key=lambda k: p.rules[k].rank):
        r = p.rules[k]
        parts = {**ev.item_parts.get(k, {})}
        for i, d in ev.order_parts.get(k, {}).items():
            parts[i] = parts.get(i, 0) + d
        saving = sum(parts.values())
        if saving <= 0 and k not in ev.gifts:
            continue
        applied_ids.add(k)
        reason = ev.reasons.get(k, "")
        for i in sorted(parts):
            adjs[i].append(Adjustment(r.code, r.kind, i, from_fen(parts[i]), reason))
        applied.append(Applied(r.code, r.kind, from_fen(saving), tuple(sorted(parts) or ev.assigned.get(k, ())), reason,
                               units=ev.units.get(k, 0)))
    coupons_used = []
    if ev.coupon is not None:
        c = ev.coupon
        reason = f"优惠券 coupon {c.code}"
        for i in sorted(ev.coupon_parts):
            adjs[i].append(Adjustment(c.code, f"coupon_{c.kind}", i, from_fen(ev.coupon_parts[i]), reason))
        applied.append(Applied(c.code, f"coupon_{c.kind}", from_fen(sum(ev.coupon_parts.values())),
                               tuple(sorted(ev.coupon_parts)), reason))
        coupons_used.append(c.code)
    if ev.ship_coupon is not None:
        applied.append(Applied(ev.ship_coupon.code, "coupon_free_shipping", from_fen(ev.ship_discount), (),
                               "免运费 free shipping"))
        coupons_used.append(ev.ship_coupon.code)
    for i, d in sorted(ev.points_parts.items()):
        adjs[i].append(Adjustment("points", "points", i, from_fen(d), f"积分抵现 {ev.points_used} points"))
    # rules that were possible but are not part of the best combination
    for k in sorted(p.rules, key=lambda k: p.rules[k].code):
        if k in applied_ids:
            continue
        r = p.rules[k]
        alone_saving, alone_gift, alone_reason = _alone(p, k)
        if alone_saving <= 0 and alone_gift <= 0:
            not_applied.append(NotApplied(r.code, "condition_not_met", alone_reason or "condition not met"))
            continue
        rivals = sorted(p.rules[j].code for j in p.conflicts[k] | p.dominated.get(k, set()) if j in applied_ids)
        if rivals:
            why = f"does not combine with {', '.join(rivals)}" + (f" (group {r.group})" if r.group else "") + \
                  "; the applied combination saves you more"
            not_applied.append(NotApplied(r.code, "not_combinable", why))
        else:
            not_applied.append(NotApplied(r.code, "not_best", "a combination without it costs you less"))
    for c in p.coupons:
        if ev.coupon is None or c.code != ev.coupon.code:
            d, _ = _coupon_discount(c, ev.remaining, set(), p)
            if d <= 0 and c.kind == CouponKind.THRESHOLD:
                t = sum(ev.remaining[i] for i in c.lines)
                not_applied.append(NotApplied(c.code, "condition_not_met", f"spend {_yuan(max(0, c.threshold - t))} more"))
            else:
                not_applied.append(NotApplied(c.code, "not_best", "one discount coupon per order; another saves you more"))
    for c in p.ship_coupons:
        if ev.ship_coupon is None or c.code != ev.ship_coupon.code:
            why = "no shipping fee on this order" if p.shipping == 0 else "one free-shipping coupon per order"
            not_applied.append(NotApplied(c.code, "not_needed", why))
    priced = []
    for i, ln in enumerate(cart.lines):
        disc = p.listed[i] - ev.remaining[i]
        priced.append(PricedLine(sku=ln.sku, quantity=ln.quantity, unit_price=from_fen(p.price[i]),
                                 list_amount=from_fen(p.listed[i]), discount=from_fen(disc),
                                 amount=from_fen(ev.remaining[i]), points_value=from_fen(ev.points_parts.get(i, 0)),
                                 adjustments=tuple(adjs[i])))
    gifts = tuple(GiftLine(p.rules[k].code, sku, q, from_fen(v * q)) for k in sorted(ev.gifts, key=lambda k: p.rules[k].rank)
                  for sku, q, v in ev.gifts[k])
    subtotal = sum(p.listed)
    total = ev.total
    return PricingResult(
        lines=tuple(priced), subtotal=from_fen(subtotal), discount=from_fen(subtotal - ev.goods),
        shipping_fee=from_fen(p.shipping), shipping_discount=from_fen(ev.ship_discount), total=from_fen(total),
        points_used=ev.points_used, points_value=from_fen(ev.points_value), payable=from_fen(total - ev.points_value),
        applied=tuple(applied), not_applied=tuple(not_applied), coupons_used=tuple(coupons_used), gifts=gifts,
        hints=tuple(_hints(p, ev, applied_ids)), notes=ev.flash_notes, searched=searched, exact=exact,
    )


def _hints(p: _Problem, ev: _Eval, applied_ids: set[int]) -> list[Hint]:
    """凑单提示: the next threshold of a spend-based rule or coupon within reach."""
    out: list[tuple[int, int, str, Hint]] = []
    for k, r in p.rules.items():
        if r.kind not in ("amount_off", "spend_percent", "gift", "addon"):
            continue
        lines = p.eligible[k]
        if r.kind == "addon":
            lines = frozenset(i for i in lines if p.skus[i] not in r.addon_skus)
        basis = p.listed if r.list_basis else ev.net
        t = sum(basis[i] for i in lines)
        current = sum(ev.order_parts.get(k, {}).values()) if k in applied_ids else 0
        net_sum = sum(ev.net[i] for i in lines)
        steps: list[tuple[int, int, str]] = []
        if r.kind == "amount_off" and r.every:
            nxt = (t // r.every + 1) * r.every
            gain = (nxt // r.every) * (r.amount or 0)
            if r.max_discount is not None:
                gain = min(gain, r.max_discount)
            steps.append((nxt, gain, f"减{_yuan(gain)} ({_yuan(gain)} off)"))
        elif r.kind == "amount_off":
            steps += [(max(th, r.min_amount), v, f"减{_yuan(v)} ({_yuan(v)} off)") for th, v in r.ladder]
        elif r.kind == "spend_percent":
            steps += [(max(th, r.min_amount), rate_off(max(th, net_sum), bp), f"打{bp / 1000:g}折 ({bp / 100:g}% to pay)")
                      for th, bp in r.ladder]
        elif r.kind == "gift":
            steps.append((r.min_amount, r.gift_value, "送赠品 (free gift)"))
        elif r.kind == "addon":
            steps.append((r.min_amount, 0, "可加价购 (add-on deal unlocked)"))
        for th, gain, what in steps:
            if th > t and (gain > current or r.kind in ("gift", "addon")):
                add = th - t
                if add <= max(th // 2, 1):
                    msg = f"再买{_yuan(add)}可{what} — add {_yuan(add)} more"
                    out.append((add, -gain, r.code, Hint(r.code, from_fen(add), from_fen(max(0, gain - current)), msg)))
                break
    for c in p.coupons:
        if c.kind == CouponKind.THRESHOLD and (ev.coupon is None or ev.coupon.code != c.code):
            t = sum(ev.remaining[i] for i in c.lines)
            if t < c.threshold and c.threshold - t <= c.threshold // 2:
                add = c.threshold - t
                msg = f"再买{_yuan(add)}可用券减{_yuan(c.amount)} — add {_yuan(add)} more to use coupon {c.code}"
                out.append((add, -c.amount, c.code, Hint(c.code, from_fen(add), from_fen(c.amount), msg)))
    out.sort(key=lambda h: (h[0], h[1], h[2]))
    return [h[3] for h in out[:3]]


