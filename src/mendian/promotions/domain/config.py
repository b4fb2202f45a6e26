"""Promotion rules as configuration: JSON-shaped dicts (what the console and API store) to ``Rule``.

Pure: shape and value checks raise ``ValueError`` with a message naming the field; the service maps
it to a 422.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from .model import Benefit, BundleItem, Condition, CouponInput, CouponKind, Gift, Kind, Rule, Scope, Tier


def _dec(v: Any, field: str) -> Decimal:
    if isinstance(v, float):
        raise ValueError(f"{field}: give money and rates as strings, not floats")
    try:
        d = Decimal(str(v))
    except (InvalidOperation, ValueError) as e:
        raise ValueError(f"{field}: not a number: {v!r}") from e
    if d < 0:
        raise ValueError(f"{field}: must not be negative")
    return d


def _rate(v: Any, field: str) -> Decimal:
    d = _dec(v, field)
    if d > 1 or d * 10000 != (d * 10000).to_integral_value():
        raise ValueError(f"{field}: a rate to pay between 0 and 1 (0.8 = 八折), at most 4 decimals")
    return d


def _set(v: Any, field: str) -> frozenset[str]:
    if v is None:
        return frozenset()
    if not isinstance(v, list | tuple | set | frozenset) or not all(isinstance(x, str) for x in v):
        raise ValueError(f"{field}: a list of codes")
    return frozenset(v)


def scope_from_dict(d: dict | None) -> Scope:
    d = d or {}
    return Scope(skus=_set(d.get("skus"), "scope.skus"), categories=_set(d.get("categories"), "scope.categories"),
                 brands=_set(d.get("brands"), "scope.brands"), exclude_skus=_set(d.get("exclude_skus"), "scope.exclude_skus"),
                 exclude_categories=_set(d.get("exclude_categories"), "scope.exclude_categories"),
                 exclude_brands=_set(d.get("exclude_brands"), "scope.exclude_brands"))


def _time(v: str, field: str) -> dt.time:
    try:
        return dt.time.fromisoformat(v)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{field}: a time like 17:00") from e


def condition_from_dict(d: dict | None, *, starts_at: dt.datetime | None = None,
                        ends_at: dt.datetime | None = None) -> Condition:
    d = d or {}
    hours = None
    if d.get("hours"):
        h = d["hours"]
        if not isinstance(h, list | tuple) or len(h) != 2:
            raise ValueError("condition.hours: [from, to], e.g. [\"17:00\", \"19:00\"]")
        hours = (_time(h[0], "condition.hours"), _time(h[1], "condition.hours"))
    weekdays = d.get("weekdays") or []
    if not all(isinstance(w, int) and 0 <= w <= 6 for w in weekdays):
        raise ValueError("condition.weekdays: integers 0 (Monday) to 6 (Sunday)")
    limit = d.get("per_member_limit")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError("condition.per_member_limit: a positive integer")
    min_qty = d.get("min_qty", 0)
    if not isinstance(min_qty, int) or min_qty < 0:
        raise ValueError("condition.min_qty: a non-negative integer")
    return Condition(
        scope=scope_from_dict(d.get("scope")), min_amount=_dec(d.get("min_amount", "0"), "condition.min_amount"),
        min_qty=min_qty, tiers=_set(d.get("tiers"), "condition.tiers"),
        members_only=bool(d.get("members_only", False)), new_member_only=bool(d.get("new_member_only", False)),
        first_order_only=bool(d.get("first_order_only", False)), channels=_set(d.get("channels"), "condition.channels"),
        stores=_set(d.get("stores"), "condition.stores"), regions=_set(d.get("regions"), "condition.regions"),
        starts_at=starts_at, ends_at=ends_at, weekdays=frozenset(weekdays), hours=hours, per_member_limit=limit,
    )


def benefit_from_dict(kind: Kind, d: dict | None, *, quota_left: int | None = None,
                      per_member_units: int | None = None) -> Benefit:
    d = d or {}
    price = _dec(d["price"], "benefit.price") if d.get("price") is not None else None
    rate = _rate(d["rate"], "benefit.rate") if d.get("rate") is not None else None
    if kind == Kind.SPECIAL_PRICE and price is None and rate is None:
        raise ValueError("benefit: a special price needs price or rate")
    if kind == Kind.NTH_ITEM and rate is None:
        raise ValueError("benefit.rate: the rate of the Nth unit (0.5 = half price)")
    if kind in (Kind.ADDON, Kind.BUNDLE) and price is None:
        raise ValueError("benefit.price: required")
    tiers = []
    for i, t in enumerate(d.get("tiers") or []):
        if kind == Kind.AMOUNT_OFF:
            tiers.append(Tier(_dec(t["threshold"], f"benefit.tiers[{i}].threshold"), _dec(t["amount"], f"benefit.tiers[{i}].amount")))
        else:
            tiers.append(Tier(_dec(t["threshold"], f"benefit.tiers[{i}].threshold"), _rate(t["rate"], f"benefit.tiers[{i}].rate")))
    every = _dec(d["every"], "benefit.every") if d.get("every") is not None else None
    amount = _dec(d["amount"], "benefit.amount") if d.get("amount") is not None else None
    if kind == Kind.AMOUNT_OFF and not tiers and not (every and amount):
        raise ValueError("benefit: 满减 needs tiers [{threshold, amount}] or every + amount")
    if kind in (Kind.SPEND_PERCENT, Kind.QTY_PERCENT) and not tiers:
        raise ValueError("benefit.tiers: [{threshold, rate}] required")
    gifts = tuple(Gift(g["sku"], int(g.get("quantity", 1)), _dec(g.get("value", "0"), "benefit.gifts.value"))
                  for g in d.get("gifts") or [])
    if kind == Kind.GIFT and not gifts:
        raise ValueError("benefit.gifts: at least one gift")
    items = tuple(BundleItem(i["sku"], int(i.get("quantity", 1))) for i in d.get("items") or [])
    if kind == Kind.BUNDLE and len(items) < 1:
        raise ValueError("benefit.items: the SKUs of the bundle")
    if kind == Kind.ADDON and not d.get("addon_skus"):
        raise ValueError("benefit.addon_skus: the add-on SKUs")
    if kind == Kind.TIER_PRICE and not (d.get("tier_rates") or d.get("tier_prices")):
        raise ValueError("benefit: a tier price needs tier_rates or tier_prices")
    return Benefit(
        price=price, rate=rate, quota_left=quota_left, per_member_units=per_member_units,
        tier_rates={t: _rate(v, f"benefit.tier_rates.{t}") for t, v in (d.get("tier_rates") or {}).items()},
        tier_prices={t: {s: _dec(p, f"benefit.tier_prices.{t}.{s}") for s, p in m.items()}
                     for t, m in (d.get("tier_prices") or {}).items()},
        tiers=tuple(tiers), every=every, amount=amount,
        max_discount=_dec(d["max_discount"], "benefit.max_discount") if d.get("max_discount") is not None else None,
        n=int(d.get("n", 2)), x=int(d.get("x", 1)), y=int(d.get("y", 1)), gifts=gifts, repeat=bool(d.get("repeat", False)),
        addon_skus=_set(d.get("addon_skus"), "benefit.addon_skus"), max_units=int(d.get("max_units", 1)), items=items,
        max_sets=d.get("max_sets"),
    )


def rule_from_config(*, code: str, kind: str, name: str = "", condition: dict | None = None,
                     benefit: dict | None = None, exclusive_group: str = "", priority: int = 0,
                     combines_with_coupons: bool = True, combines_with_member_price: bool = True,
                     combines_with_points: bool = True, threshold_basis: str = "net",
                     starts_at: dt.datetime | None = None, ends_at: dt.datetime | None = None,
                     budget_left: Decimal | None = None, quota_left: int | None = None,
                     per_member_units: int | None = None) -> Rule:
    try:
        k = Kind(kind)
    except ValueError as e:
        raise ValueError(f"kind: one of {', '.join(x.value for x in Kind)}") from e
    if threshold_basis not in ("net", "list"):
        raise ValueError("threshold_basis: net or list")
    return Rule(code=code, kind=k, name=name, condition=condition_from_dict(condition, starts_at=starts_at, ends_at=ends_at),
                benefit=benefit_from_dict(k, benefit, quota_left=quota_left, per_member_units=per_member_units),
                exclusive_group=exclusive_group, priority=priority, combines_with_coupons=combines_with_coupons,
                combines_with_member_price=combines_with_member_price, combines_with_points=combines_with_points,
                threshold_basis=threshold_basis, budget_left=budget_left)


def coupon_from_dict(d: dict) -> CouponInput:
    try:
        kind = CouponKind(d.get("kind", ""))
    except ValueError as e:
        raise ValueError(f"coupons.kind: one of {', '.join(x.value for x in CouponKind)}") from e
    return CouponInput(
        code=str(d["code"]), kind=kind, amount=_dec(d.get("amount", "0"), "coupons.amount"),
        threshold=_dec(d.get("threshold", "0"), "coupons.threshold"),
        rate=_rate(d["rate"], "coupons.rate") if d.get("rate") is not None else None,
        cap=_dec(d["cap"], "coupons.cap") if d.get("cap") is not None else None, item_sku=d.get("item_sku", ""),
        scope=scope_from_dict(d.get("scope")), channels=_set(d.get("channels"), "coupons.channels"),
        stores=_set(d.get("stores"), "coupons.stores"), regions=_set(d.get("regions"), "coupons.regions"),
    )
