"""Benefits: what one rule gives on the lines it covers, in integer fen.

Each function takes the covered lines' state and returns a ``Give``: the discount per covered line
(already capped at what the line still owes), gifts, and a short reason. Pure and side-effect free.
"""

from __future__ import annotations

from dataclasses import dataclass

from .fen import RATE_ONE, allocate_fen, div_half_up, rate_off


@dataclass(frozen=True)
class PRule:
    """A rule prepared for the inner loop: money in fen, rates in basis points."""

    idx: int
    code: str
    kind: str
    rank: tuple
    group: str
    priority: int
    with_coupons: bool
    with_member_price: bool
    with_points: bool
    list_basis: bool
    budget: int | None
    # benefit
    price: int | None
    rate: int | None
    quota: int | None               # units (special price) or gift sets (gift)
    tier_rates: dict                # tier -> bp
    tier_prices: dict               # tier -> {sku: fen}
    ladder: tuple                   # ((threshold fen or qty, value fen or bp), ...) ascending
    every: int | None
    amount: int | None
    max_discount: int | None
    n: int
    x: int
    y: int
    gifts: tuple                    # ((sku, qty, value fen), ...)
    gift_value: int                 # per set
    repeat: bool
    addon_skus: frozenset
    max_units: int
    bundle: tuple                   # ((sku, qty), ...)
    max_sets: int | None
    min_amount: int
    min_qty: int
    threshold_kind: bool            # does a lower base price risk losing this rule's benefit?


@dataclass
class Give:
    parts: dict[int, int]           # line index -> discount fen
    gifts: tuple = ()               # ((sku, qty, value fen), ...)
    gift_value: int = 0
    reason: str = ""
    short: int = 0                  # fen (or units) missing to reach the first threshold, when not met


def _cap_parts(parts: dict[int, int], remaining: list[int], budget: int | None) -> dict[int, int]:
    capped = {i: min(d, remaining[i]) for i, d in parts.items() if d > 0}
    total = sum(capped.values())
    if budget is not None and total > budget:
        idxs = sorted(capped)
        shares = allocate_fen(budget, [capped[i] for i in idxs])
        capped = dict(zip(idxs, shares, strict=True))
    return {i: d for i, d in capped.items() if d > 0}


def _spread(total: int, lines: list[int], remaining: list[int], budget: int | None) -> dict[int, int]:
    if budget is not None:
        total = min(total, budget)
    avail = [remaining[i] for i in lines]
    total = min(total, sum(avail))
    if total <= 0:
        return {}
    return {i: d for i, d in zip(lines, allocate_fen(total, avail), strict=True) if d > 0}


def _yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def order_benefit(r: PRule, lines: list[int], qty: list[int], puq: list[int], unit_prices: list[tuple],
                  net: list[int], listed: list[int], remaining: list[int], skus: list[str]) -> Give:
    """The discount of order-layer rule ``r`` on ``lines``.

    ``net``: the lines' amounts after item prices; ``listed``: at regular prices; ``remaining``: what
    each line still owes after the order rules computed before this one (the cap);
    ``unit_prices[i]``: ((units, unit price fen), ...) segments of line i after item prices.
    """
    kind = r.kind
    if kind == "addon":
        base_lines = [i for i in lines if skus[i] not in r.addon_skus]
    else:
        base_lines = lines
    basis = listed if r.list_basis else net
    t_amount = sum(basis[i] for i in base_lines)
    t_qty = sum(qty[i] if puq[i] == 1 else 1 for i in base_lines)
    if t_amount < r.min_amount:
        return Give({}, reason=f"spend {_yuan(r.min_amount - t_amount)} more", short=r.min_amount - t_amount)
    if t_qty < r.min_qty:
        return Give({}, reason=f"buy {r.min_qty - t_qty} more", short=0)

    if kind == "amount_off":
        if r.every:
            times = t_amount // r.every
            off = times * (r.amount or 0)
            if r.max_discount is not None:
                off = min(off, r.max_discount)
            if off <= 0:
                return Give({}, reason=f"spend {_yuan(r.every - t_amount)} more", short=r.every - t_amount)
            return Give(_spread(off, lines, remaining, r.budget), reason=f"每满{_yuan(r.every)}减{_yuan(r.amount or 0)} ×{times}")
        met = [v for th, v in r.ladder if t_amount >= th]
        if not met:
            th0 = r.ladder[0][0] if r.ladder else 0
            return Give({}, reason=f"spend {_yuan(th0 - t_amount)} more", short=th0 - t_amount)
        th = max(th for th, _ in r.ladder if t_amount >= th)
        return Give(_spread(met[-1], lines, remaining, r.budget), reason=f"满{_yuan(th)}减{_yuan(met[-1])}")

    if kind in ("spend_percent", "qty_percent"):
        t = t_amount if kind == "spend_percent" else t_qty
        met = [(th, v) for th, v in r.ladder if t >= th]
        if not met:
            th0 = r.ladder[0][0] if r.ladder else 0
            if kind == "spend_percent":
                return Give({}, reason=f"spend {_yuan(th0 - t)} more", short=th0 - t)
            return Give({}, reason=f"buy {th0 - t} more", short=0)
        th, bp = met[-1]
        off = rate_off(sum(net[i] for i in lines), bp)
        label = f"满{_yuan(th)}" if kind == "spend_percent" else f"满{th}件"
        return Give(_spread(off, lines, remaining, r.budget), reason=f"{label}打{bp / 1000:g}折")

    if kind in ("nth_item", "buy_x_get_y"):
        units = []
        for i in lines:
            for count, price in unit_prices[i]:
                units.extend([(price, i)] * count)
        units.sort(key=lambda u: (-u[0], u[1]))
        parts: dict[int, int] = {}
        if kind == "nth_item":
            bp = r.rate if r.rate is not None else RATE_ONE
            for pos in range(r.n - 1, len(units), r.n):
                price, i = units[pos]
                parts[i] = parts.get(i, 0) + rate_off(price, bp)
            reason = f"第{r.n}件{bp / 1000:g}折"
        else:
            size = r.x + r.y
            for start in range(0, len(units) - size + 1, size):
                for price, i in units[start + r.x:start + size]:
                    parts[i] = parts.get(i, 0) + price
            reason = f"买{r.x}送{r.y}"
        if not any(parts.values()):
            need = (r.n if kind == "nth_item" else r.x + r.y) - len(units)
            return Give({}, reason=f"buy {max(need, 1)} more")
        return Give(_cap_parts(parts, remaining, r.budget), reason=reason)

    if kind == "gift":
        sets = 1
        if r.repeat:
            if r.min_amount:
                sets = t_amount // r.min_amount
            elif r.min_qty:
                sets = t_qty // r.min_qty
        if r.quota is not None:
            sets = min(sets, r.quota)
        if sets <= 0:
            return Give({}, reason="gift stock for this promotion is used up")
        gifts = tuple((sku, q * sets, v) for sku, q, v in r.gifts)
        return Give({}, gifts=gifts, gift_value=r.gift_value * sets, reason=f"赠品 gift ×{sets}")

    if kind == "addon":
        if not base_lines:
            return Give({}, reason="buy something else first")
        units = []
        for i in lines:
            if skus[i] in r.addon_skus:
                for count, price in unit_prices[i]:
                    units.extend([(price - (r.price or 0), i)] * count)
        units.sort(key=lambda u: (-u[0], u[1]))
        parts = {}
        for saving, i in units[: r.max_units]:
            if saving > 0:
                parts[i] = parts.get(i, 0) + saving
        if not parts:
            return Give({}, reason="add the add-on item to the cart")
        return Give(_cap_parts(parts, remaining, r.budget), reason=f"加价购 {_yuan(r.price or 0)}")

    if kind == "bundle":
        # units per SKU in line order, with their prices
        pool: dict[str, list[tuple[int, int]]] = {}
        for i in lines:
            for count, price in unit_prices[i]:
                pool.setdefault(skus[i], []).extend([(price, i)] * count)
        sets = min((len(pool.get(sku, ())) // q for sku, q in r.bundle), default=0)
        if r.max_sets is not None:
            sets = min(sets, r.max_sets)
        if sets <= 0:
            missing = [sku for sku, q in r.bundle if len(pool.get(sku, ())) < q]
            return Give({}, reason="add " + ", ".join(missing) + " for the bundle price")
        parts = {}
        for s in range(sets):
            taken: list[tuple[int, int]] = []
            for sku, q in r.bundle:
                taken.extend(pool[sku][s * q:(s + 1) * q])
            set_price = sum(p for p, _ in taken)
            off = set_price - (r.price or 0)
            if off <= 0:
                continue
            for (_, i), d in zip(taken, allocate_fen(off, [p for p, _ in taken]), strict=True):
                parts[i] = parts.get(i, 0) + d
        if not parts:
            return Give({}, reason="the bundle price is not lower than the items' prices")
        return Give(_cap_parts(parts, remaining, r.budget), reason=f"套餐 {_yuan(r.price or 0)} ×{sets}")
    raise ValueError(f"not an order rule: {kind}")


def item_price(r: PRule, sku: str, price: int, tier: str) -> int:
    """The unit price (per price unit) after item rule ``r``; never higher than ``price``."""
    if r.kind == "special_price":
        new = price
        if r.price is not None:
            new = min(new, r.price)
        if r.rate is not None:
            new = min(new, div_half_up(price * r.rate, RATE_ONE))
        return new
    # tier price
    new = price
    p = r.tier_prices.get(tier, {}).get(sku)
    if p is not None:
        new = min(new, p)
    bp = r.tier_rates.get(tier)
    if bp is not None:
        new = min(new, div_half_up(price * bp, RATE_ONE))
    return new
