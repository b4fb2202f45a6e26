"""Reads: active promotions as a cached RuleBook, member usage, catalog facts for a cart snapshot."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

from django.db.models import Count, Max, Q, Sum

from mendian.catalog.models import Category, Sku, StorePrice
from mendian.org.models import Location, Region

from .domain import Rule, RuleBook
from .domain.config import rule_from_config
from .models import Promotion, PromotionUsage

_cache_lock = threading.Lock()
_cache: dict[str, tuple[tuple, RuleBook]] = {}


def promotion_to_rule(p: Promotion) -> Rule:
    quota_left = None if p.quota_total is None else p.quota_total - p.quota_used
    budget_left = None if p.budget is None else p.budget - p.budget_used
    return rule_from_config(
        code=p.code, kind=p.kind, name=p.name, condition=p.condition, benefit=p.benefit,
        exclusive_group=p.exclusive_group, priority=p.priority, combines_with_coupons=p.combines_with_coupons,
        combines_with_member_price=p.combines_with_member_price, combines_with_points=p.combines_with_points,
        threshold_basis=p.threshold_basis, starts_at=p.starts_at, ends_at=p.ends_at, budget_left=budget_left,
        quota_left=quota_left if p.kind in ("special_price", "gift") else None,
        per_member_units=p.per_member_units,
    )


def active_promotions_qs(at: dt.datetime):
    return Promotion.objects.filter(status=Promotion.Status.ACTIVE).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=at))


def active_rulebook(*, at: dt.datetime) -> RuleBook:
    """The active promotions, prepared once and cached in-process. One aggregate query tells whether
    the cache is current (a changed rule, a new rule, or a moved quota or budget counter)."""
    qs = active_promotions_qs(at)
    version = tuple(qs.aggregate(n=Count("id"), u=Max("updated_at"), q=Sum("quota_used"), b=Sum("budget_used")).values())
    with _cache_lock:
        hit = _cache.get("active")
        if hit is not None and hit[0] == version:
            return hit[1]
    book = RuleBook([promotion_to_rule(p) for p in qs])
    with _cache_lock:
        _cache["active"] = (version, book)
    return book


def member_promotion_usage(*, member_code: str) -> tuple[dict[str, int], dict[str, int]]:
    """(orders per promotion code, flash units per promotion code) for a member."""
    if not member_code:
        return {}, {}
    uses: dict[str, int] = {}
    units: dict[str, int] = {}
    for code, n, u in (PromotionUsage.objects.filter(member_code=member_code)
                       .values_list("promotion__code").annotate(n=Count("id"), u=Sum("units"))):
        uses[code] = n
        units[code] = int(u or 0)
    return uses, units


def _paths(rows: list[tuple[int, int | None, str]]) -> dict[int, tuple[str, ...]]:
    """id -> codes from the root down, for a tree given as (id, parent id, code) rows (cycles cut)."""
    parents = {i: parent for i, parent, _ in rows}
    codes = {i: code for i, _, code in rows}
    out: dict[int, tuple[str, ...]] = {}
    for cid in codes:
        path, cur, seen = [], cid, set()
        while cur is not None and cur not in seen and cur in codes:
            seen.add(cur)
            path.append(codes[cur])
            cur = parents.get(cur)
        out[cid] = tuple(reversed(path))
    return out


def category_paths() -> dict[int, tuple[str, ...]]:
    """Category id -> category codes from the root down (one query)."""
    return _paths(list(Category.objects.values_list("id", "parent_id", "code")))


def region_path(location: Location) -> tuple[str, ...]:
    """The codes of the location's region and its ancestors, root first (one query)."""
    if location.region_id is None:
        return ()
    return _paths(list(Region.objects.values_list("id", "parent_id", "code"))).get(location.region_id, ())


def skus_for_cart(codes: list[str]) -> dict[str, Sku]:
    return {s.code: s for s in Sku.objects.select_related("product", "product__brand").filter(code__in=codes)}


def store_prices(*, location_id: int, sku_ids: list[int], at: dt.datetime) -> dict[int, Decimal]:
    """The store price valid at ``at`` per SKU id (the latest valid_from wins)."""
    out: dict[int, tuple[dt.datetime, Decimal]] = {}
    rows = StorePrice.objects.filter(location_id=location_id, sku_id__in=sku_ids, valid_from__lte=at).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=at)).values_list("sku_id", "valid_from", "price")
    for sku_id, vf, price in rows:
        if sku_id not in out or vf > out[sku_id][0]:
            out[sku_id] = (vf, price)
    return {k: v[1] for k, v in out.items()}


def promotion_list(*, status: str | None, limit: int, offset: int) -> tuple[list[Promotion], int]:
    qs = Promotion.objects.all()
    if status:
        qs = qs.filter(status=status)
    return list(qs[offset:offset + limit]), qs.count()
