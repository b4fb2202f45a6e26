"""Effect monitoring (issue 3): what a promotion took and what it brought, and its self-pause.

For a period of whole local days ``[start, end]``:

- orders and discount cost: its ``PromotionUsage`` rows of the period (exact Decimal);
- units: the quantity, net of refunds, on the covered lines of those orders;
- sales: the covered SKUs' sales in the covered stores, from the daily rollups (``SalesDaySku``: net of
  refunds, every channel and customer, imported history included);
- baseline: the same sales over the ``W = ceil(days / 7)`` whole weeks just before ``start``. Each day
  of the period expects the mean of its own weekday over those W weeks, so a promotion that runs Friday
  to Sunday is measured against Fridays to Sundays; ``expected`` is their sum (the baseline scaled to
  the period's length, weekday by weekday);
- incremental sales = sales − expected; uplift = incremental ÷ expected; discount cost per incremental
  yuan = discount ÷ incremental, None when incremental ≤ 0 (the discount bought no extra sales).

Covered: the condition's scope (SKUs, categories anywhere on the path, brands, minus exclusions), the
items of a bundle, the add-on SKUs of an add-on deal; in the condition's stores and regions. The
channel and member conditions are not applied to the sales (imported history knows neither).

The merchant's threshold (``Promotion.max_cost_per_incremental``) pauses an active promotion (job
``promotions.effect_watch``, audited through ``promotion_set_status``) once it has run
``pause_min_days`` whole days and taken ``pause_min_orders`` orders since its last activation, when its
cost per incremental yuan passes the threshold, or when it spent discount with no incremental sales.
A spent budget ends a promotion in ``promotion_usage_record`` already.

The arithmetic (``effect_window``, ``effect_figures``, ``pause_verdict``) is plain functions on plain
values; ``promotion_effect_get`` reads the database; ``promotions_effect_watch`` writes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from mendian.core.errors import InvalidInput, MendianError
from mendian.core.timeutil import local_date, local_tz

from .models import Promotion, PromotionUsage

WEEK = 7
MAX_DAYS = 366
RATIO = Decimal("0.0001")
FEN = Decimal("0.01")
ZERO = Decimal("0.00")
DEFAULT_DAYS = 28

log = logging.getLogger(__name__)


def _money(v: Decimal) -> Decimal:
    return Decimal(v).quantize(FEN, rounding=ROUND_HALF_UP)


def _ratio(num: Decimal, den: Decimal) -> Decimal | None:
    if den <= 0:
        return None
    return (Decimal(num) / Decimal(den)).quantize(RATIO, rounding=ROUND_HALF_UP)


# --- the arithmetic (pure) -----------------------------------------------------------------------------

@dataclass(frozen=True)
class EffectWindow:
    """Whole local days ``start``..``end`` (inclusive) and the whole weeks just before them."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return max((self.end - self.start).days + 1, 0)

    @property
    def weeks(self) -> int:
        return -(-self.days // WEEK)

    @property
    def baseline_start(self) -> dt.date:
        return self.start - dt.timedelta(days=WEEK * self.weeks)

    @property
    def baseline_end(self) -> dt.date:
        return self.start - dt.timedelta(days=1)


def effect_window(start: dt.date, end: dt.date) -> EffectWindow:
    return EffectWindow(start=start, end=end)


@dataclass(frozen=True)
class EffectDay:
    offset: int              # 0 = the first day of the period
    day: dt.date
    sales: Decimal           # covered-SKU sales that day
    baseline: Decimal        # the mean of the same weekday over the baseline weeks (half-up to the fen)
    orders: int
    discount: Decimal


@dataclass(frozen=True)
class EffectFigures:
    window: EffectWindow
    orders: int
    units: int                          # on the covered lines of the promotion's orders
    discount: Decimal
    sales: Decimal                      # covered-SKU sales in the period
    quantity: int                       # covered-SKU units sold in the period (every order)
    baseline_sales: Decimal             # covered-SKU sales over the whole baseline weeks
    expected_sales: Decimal             # the baseline scaled to the period, weekday by weekday
    incremental_sales: Decimal
    uplift: Decimal | None              # incremental ÷ expected (None without a baseline)
    cost_per_incremental: Decimal | None  # discount ÷ incremental (None when incremental ≤ 0)
    series: tuple[EffectDay, ...]

    @property
    def no_incremental(self) -> bool:
        return self.incremental_sales <= 0


def effect_figures(window: EffectWindow, *, sales: Mapping[dt.date, Decimal],
                   quantity: Mapping[dt.date, int] | None = None, orders: Mapping[dt.date, int] | None = None,
                   discount: Mapping[dt.date, Decimal] | None = None, units: int = 0) -> EffectFigures:
    """The effect figures of ``window`` from daily covered-SKU ``sales`` (period and baseline days; a
    missing day sold nothing) and the promotion's daily ``orders`` and ``discount``. Days outside the
    window and its baseline weeks are ignored."""
    quantity = quantity or {}
    orders = orders or {}
    discount = discount or {}
    w = window.weeks
    series = []
    expected_sum = Decimal(0)
    for i in range(window.days):
        day = window.start + dt.timedelta(days=i)
        same_weekday = [window.baseline_start + dt.timedelta(days=i % WEEK + WEEK * k) for k in range(w)]
        base = sum((Decimal(sales.get(d, 0)) for d in same_weekday), Decimal(0))
        expected_sum += base
        series.append(EffectDay(offset=i, day=day, sales=_money(Decimal(sales.get(day, 0))),
                                baseline=_money(base / w), orders=int(orders.get(day, 0)),
                                discount=_money(Decimal(discount.get(day, 0)))))
    in_period = [window.start + dt.timedelta(days=i) for i in range(window.days)]
    in_baseline = [window.baseline_start + dt.timedelta(days=i) for i in range(WEEK * w)]
    total = _money(sum((Decimal(sales.get(d, 0)) for d in in_period), Decimal(0)))
    expected = _money(expected_sum / w) if w else ZERO
    cost = _money(sum((Decimal(discount.get(d, 0)) for d in in_period), Decimal(0)))
    incremental = total - expected
    return EffectFigures(
        window=window, orders=sum(int(orders.get(d, 0)) for d in in_period), units=int(units), discount=cost,
        sales=total, quantity=sum(int(quantity.get(d, 0)) for d in in_period),
        baseline_sales=_money(sum((Decimal(sales.get(d, 0)) for d in in_baseline), Decimal(0))),
        expected_sales=expected, incremental_sales=incremental, uplift=_ratio(incremental, expected),
        cost_per_incremental=_ratio(cost, incremental) if incremental > 0 else None, series=tuple(series))


@dataclass(frozen=True)
class PauseVerdict:
    pause: bool
    code: str    # no_threshold | too_early | no_discount | no_incremental | over_threshold | under_threshold
    reason: str  # zh-Hans and English, with the figures (kept on the promotion and in the audit log)


def pause_verdict(f: EffectFigures, *, max_cost: Decimal | None, min_days: int, min_orders: int,
                  days_active: int, orders_active: int) -> PauseVerdict:
    """Whether a promotion with these figures pauses itself. ``days_active`` / ``orders_active``: whole
    days run and orders taken since its last activation (the minimums before it is judged)."""
    if max_cost is None:
        return PauseVerdict(False, "no_threshold", "")
    if days_active < min_days or orders_active < min_orders:
        return PauseVerdict(False, "too_early", f"等待最少天数与订单数 / waiting: {days_active}/{min_days} days, "
                                                f"{orders_active}/{min_orders} orders")
    span = f"{f.window.start.isoformat()}…{f.window.end.isoformat()}"
    if f.discount <= 0:
        return PauseVerdict(False, "no_discount", "")
    if f.no_incremental:
        return PauseVerdict(True, "no_incremental",
                            f"优惠 ¥{f.discount} 没有带来增量销售 / discount ¥{f.discount} brought no incremental sales "
                            f"(sales ¥{f.sales} vs expected ¥{f.expected_sales}, {span})")
    if f.cost_per_incremental is not None and f.cost_per_incremental > max_cost:
        return PauseVerdict(True, "over_threshold",
                            f"每增量销售元的优惠成本 {f.cost_per_incremental} 超过阈值 {max_cost} / discount cost per "
                            f"incremental yuan {f.cost_per_incremental} passed the threshold {max_cost} "
                            f"(discount ¥{f.discount}, incremental sales ¥{f.incremental_sales}, {span})")
    return PauseVerdict(False, "under_threshold", "")


# --- reads ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Coverage:
    """What a promotion covers, as filters on rollup rows and order lines (``sku__…`` lookups)."""

    skus: Q
    locations: Q
    everything: bool
    description: dict[str, list[str]]


def _codes(v: Any) -> list[str]:
    return sorted({x for x in v if isinstance(x, str)}) if isinstance(v, list | tuple) else []


def promotion_coverage(p: Promotion) -> Coverage:
    """The covered SKUs and stores of a promotion, read from its configuration JSON."""
    from mendian.org.models import Region

    from .selectors import category_paths

    cond = p.condition if isinstance(p.condition, dict) else {}
    benefit = p.benefit if isinstance(p.benefit, dict) else {}
    scope = cond.get("scope") if isinstance(cond.get("scope"), dict) else {}
    skus, categories, brands = _codes(scope.get("skus")), _codes(scope.get("categories")), _codes(scope.get("brands"))
    if p.kind == Promotion.KindChoice.BUNDLE:
        skus = _codes([i.get("sku") for i in benefit.get("items") or [] if isinstance(i, dict)])
        categories, brands = [], []
    elif p.kind == Promotion.KindChoice.ADDON:
        skus, categories, brands = _codes(benefit.get("addon_skus")), [], []
    ex_skus, ex_categories = _codes(scope.get("exclude_skus")), _codes(scope.get("exclude_categories"))
    ex_brands = _codes(scope.get("exclude_brands"))
    paths = category_paths() if categories or ex_categories else {}

    def under(codes: list[str]) -> list[int]:
        return [cid for cid, path in paths.items() if not set(codes).isdisjoint(path)]

    parts = ([Q(sku__code__in=skus)] if skus else []) + \
        ([Q(sku__product__category_id__in=under(categories))] if categories else []) + \
        ([Q(sku__product__brand__code__in=brands)] if brands else [])
    q = reduce(or_, parts) if parts else Q()
    if ex_skus:
        q &= ~Q(sku__code__in=ex_skus)
    if ex_categories:
        q &= ~Q(sku__product__category_id__in=under(ex_categories))
    if ex_brands:
        q &= ~Q(sku__product__brand__code__in=ex_brands)
    stores, regions = _codes(cond.get("stores")), _codes(cond.get("regions"))
    loc = Q()
    if stores:
        loc &= Q(location__code__in=stores)
    if regions:
        tree = {rid: (parent, code) for rid, parent, code in Region.objects.values_list("id", "parent_id", "code")}
        ids = []
        for rid in tree:
            cur, seen = rid, set()
            while cur is not None and cur not in seen:
                seen.add(cur)
                if tree[cur][1] in regions:
                    ids.append(rid)
                    break
                cur = tree[cur][0]
        loc &= Q(location__region_id__in=ids)
    description = {k: v for k, v in (("skus", skus), ("categories", categories), ("brands", brands),
                                     ("exclude_skus", ex_skus), ("exclude_categories", ex_categories),
                                     ("exclude_brands", ex_brands), ("stores", stores), ("regions", regions)) if v}
    return Coverage(skus=q, locations=loc, everything=not (skus or categories or brands), description=description)


def _day_start(d: dt.date) -> dt.datetime:
    return dt.datetime.combine(d, dt.time(), tzinfo=local_tz())


def promotion_default_window(p: Promotion, *, today: dt.date | None = None) -> EffectWindow:
    """From the promotion's start (its ``starts_at``, else its first order, else the last 28 days) to
    today or the day it ends, at most 366 days."""
    today = today or local_date()
    end = today
    if p.ends_at is not None:
        end = min(end, local_date(p.ends_at - dt.timedelta(microseconds=1)))
    if p.starts_at is not None:
        start = local_date(p.starts_at)
    else:
        first = PromotionUsage.objects.filter(promotion=p).order_by("created_at").values_list("created_at",
                                                                                             flat=True).first()
        start = local_date(first) if first else end - dt.timedelta(days=DEFAULT_DAYS - 1)
    return EffectWindow(start=max(start, end - dt.timedelta(days=MAX_DAYS - 1)), end=end)


def effect_window_checked(start: dt.date, end: dt.date) -> EffectWindow:
    """A window asked for by a person: 422 when it is back to front or longer than 366 days."""
    if end < start:
        raise InvalidInput("to: on or after from", code="invalid_period", details={"field": "to"})
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(f"the period is at most {MAX_DAYS} days", code="invalid_period", details={"field": "from"})
    return EffectWindow(start=start, end=end)


@dataclass(frozen=True)
class PromotionEffect:
    promotion: Promotion
    figures: EffectFigures
    coverage: Coverage
    budget_left: Decimal | None
    days_active: int
    orders_active: int
    verdict: PauseVerdict


def judged_since(p: Promotion) -> dt.datetime:
    """The auto-pause minimums count from the later of the last activation and the start."""
    marks = [m for m in (p.activated_at, p.starts_at) if m is not None]
    return max(marks) if marks else p.created_at


def _whole_days_after(mark: dt.datetime, end: dt.date) -> int:
    local = mark.astimezone(local_tz())
    first = local.date() if local.time() == dt.time() else local.date() + dt.timedelta(days=1)
    return max((end - first).days + 1, 0)


def promotion_effect_get(*, promotion: Promotion, window: EffectWindow | None = None,
                         today: dt.date | None = None) -> PromotionEffect:
    """The effect of a promotion over ``window`` (default: ``promotion_default_window``). Four queries
    after the coverage: the rollups (period and baseline), the usage per day, the units on covered
    lines, the orders since the last activation. ``days_active`` counts whole days up to yesterday."""
    from mendian.analytics.models import SalesDaySku
    from mendian.sales.models import OrderLine

    p = promotion
    window = window or promotion_default_window(p, today=today)
    cov = promotion_coverage(p)
    sales: dict[dt.date, Decimal] = {}
    quantity: dict[dt.date, int] = {}
    orders: dict[dt.date, int] = {}
    discount: dict[dt.date, Decimal] = {}
    units = 0
    since = judged_since(p)
    orders_active = 0
    if window.days:
        rows = (SalesDaySku.objects.filter(day__gte=window.baseline_start, day__lte=window.end)
                .filter(cov.skus, cov.locations).values("day").annotate(a=Sum("amount"), q=Sum("quantity")))
        for r in rows:
            sales[r["day"]] = r["a"] or ZERO
            quantity[r["day"]] = int(r["q"] or 0)
        lo, hi = _day_start(window.start), _day_start(window.end + dt.timedelta(days=1))
        usage = PromotionUsage.objects.filter(promotion=p, created_at__gte=lo, created_at__lt=hi)
        for r in (usage.annotate(d=TruncDate("created_at", tzinfo=local_tz())).values("d")
                  .annotate(n=Count("id"), s=Sum("discount"))):
            orders[r["d"]] = r["n"]
            discount[r["d"]] = r["s"] or ZERO
        units = int(OrderLine.objects.filter(order__number__in=usage.values("order_ref"))
                    .filter(cov.skus).aggregate(u=Sum(F("quantity") - F("refunded_qty")))["u"] or 0)
        orders_active = PromotionUsage.objects.filter(promotion=p, created_at__gte=since, created_at__lt=hi).count()
    f = effect_figures(window, sales=sales, quantity=quantity, orders=orders, discount=discount, units=units)
    days_active = _whole_days_after(since, min(window.end, (today or local_date()) - dt.timedelta(days=1)))
    verdict = pause_verdict(f, max_cost=p.max_cost_per_incremental, min_days=p.pause_min_days,
                            min_orders=p.pause_min_orders, days_active=days_active, orders_active=orders_active)
    return PromotionEffect(promotion=p, figures=f, coverage=cov,
                           budget_left=None if p.budget is None else p.budget - p.budget_used,
                           days_active=days_active, orders_active=orders_active, verdict=verdict)


# --- the self-pause (job promotions.effect_watch) --------------------------------------------------------

MONITOR = "effect-monitor"


def promotions_effect_watch(*, now: dt.datetime | None = None) -> list[str]:
    """Pause every active promotion whose threshold its figures pass, judged on whole days (up to
    yesterday). The codes paused. A promotion another process changed meanwhile is left alone."""
    from .services import promotion_set_status

    now = now or timezone.now()
    yesterday = local_date(now) - dt.timedelta(days=1)
    paused = []
    for p in Promotion.objects.filter(status=Promotion.Status.ACTIVE, max_cost_per_incremental__isnull=False):
        window = promotion_default_window(p, today=yesterday)
        if window.days == 0:
            continue
        effect = promotion_effect_get(promotion=p, window=window, today=local_date(now))
        if not effect.verdict.pause:
            continue
        try:
            promotion_set_status(actor=MONITOR, code=p.code, status=Promotion.Status.PAUSED,
                                 reason=effect.verdict.reason[:300])
        except MendianError as e:  # ended or paused meanwhile
            log.info("effect watch: %s not paused: %s", p.code, e)
            continue
        paused.append(p.code)
    return paused
