"""Reads for planning: the series of a run (sales, lost demand, stock-out days, promotions, external
factors) as plain arrays for the pure engine, and the planning tables for the API."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db.models import Max, OuterRef, Q, Subquery, Sum

from mendian.catalog.models import Sku
from mendian.core.timeutil import local_date, local_tz
from mendian.inventory.models import LostDemand, StockLevel, StockMovement
from mendian.org.models import Location
from mendian.sales.models import SalesHistoryDay

from .domain import ReplenishmentParams
from .forecasting.classify import abc_classes
from .forecasting.engine import SeriesInput
from .models import (
    ExternalFactor,
    ForecastRun,
    PlanningSettings,
    PromotionPeriod,
    ReplenishmentParameter,
    SeriesForecast,
    StockPolicy,
)

Pair = tuple[int, int]  # (location_id, sku_id)


def default_as_of() -> dt.date:
    """The last day the sales history reaches, chain-wide (never after yesterday). Chain-wide, not per
    selection: a SKU that stopped selling must still be forecast from the same day as the rest."""
    last = SalesHistoryDay.objects.aggregate(m=Max("day"))["m"]
    yesterday = local_date() - dt.timedelta(days=1)
    return min(last, yesterday) if last else yesterday


def series_pairs(*, as_of: dt.date, history_days: int, location_ids: list[int] | None,
                 sku_ids: list[int] | None) -> list[Pair]:
    """Every (location, SKU) that sold in the window or holds stock at a store, sorted."""
    start = as_of - dt.timedelta(days=history_days - 1)
    qs = SalesHistoryDay.objects.filter(day__gte=start, day__lte=as_of)
    st = StockLevel.objects.filter(location__kind=Location.Kind.STORE, on_hand__gt=0)
    if location_ids is not None:
        qs, st = qs.filter(location_id__in=location_ids), st.filter(location_id__in=location_ids)
    if sku_ids is not None:
        qs, st = qs.filter(sku_id__in=sku_ids), st.filter(sku_id__in=sku_ids)
    pairs = set(qs.values_list("location_id", "sku_id").distinct())
    pairs |= set(st.values_list("location_id", "sku_id").distinct())
    return sorted(pairs)


def abc_by_location(pairs: list[Pair], *, as_of: dt.date, a_share: float = 0.8, b_share: float = 0.95) -> dict[Pair, str]:
    """ABC within each location by the last year's takings (``amount``)."""
    start = as_of - dt.timedelta(days=364)
    locs = sorted({p[0] for p in pairs})
    values: dict[int, dict[int, float]] = defaultdict(dict)
    rows = (SalesHistoryDay.objects.filter(day__gte=start, day__lte=as_of, location_id__in=locs)
            .values_list("location_id", "sku_id").annotate(v=Sum("amount")))
    for loc, sku, v in rows:
        values[loc][sku] = float(v or 0)
    wanted = set(pairs)
    out: dict[Pair, str] = {}
    for loc in locs:
        classes = abc_classes({s: values[loc].get(s, 0.0) for (lc, s) in wanted if lc == loc},
                              a_share=a_share, b_share=b_share)
        out.update({(loc, s): c for s, c in classes.items()})
    return out


def _local_day(at: dt.datetime) -> dt.date:
    return at.astimezone(local_tz()).date()


def load_series(pairs: list[Pair], *, as_of: dt.date, history_days: int, horizon: int) -> list[SeriesInput]:
    """Build the engine's inputs for ``pairs`` (one chunk): a few queries for the whole chunk."""
    if not pairs:
        return []
    start = as_of - dt.timedelta(days=history_days - 1)
    n, total = history_days, history_days + horizon
    locs = sorted({p[0] for p in pairs})
    skus = sorted({p[1] for p in pairs})
    wanted = set(pairs)
    sales: dict[Pair, np.ndarray] = {}
    first: dict[Pair, int] = {}
    for loc, sku, day, q in (SalesHistoryDay.objects
                             .filter(location_id__in=locs, sku_id__in=skus, day__gte=start, day__lte=as_of)
                             .values_list("location_id", "sku_id", "day", "quantity")):
        key = (loc, sku)
        if key not in wanted:
            continue
        arr = sales.setdefault(key, np.zeros(n))
        i = (day - start).days
        arr[i] += q
        first[key] = min(first.get(key, i), i)
    lost: dict[Pair, np.ndarray] = {}
    since = dt.datetime.combine(start, dt.time(), tzinfo=local_tz())
    for loc, sku, q, at in (LostDemand.objects.filter(location_id__in=locs, sku_id__in=skus, created_at__gte=since)
                            .values_list("location_id", "sku_id", "quantity", "created_at")):
        i = (_local_day(at) - start).days
        if (loc, sku) in wanted and 0 <= i < n:
            lost.setdefault((loc, sku), np.zeros(n))[i] += q
    stockout = _stockout_days(locs, skus, wanted, start=start, n=n)
    promo = promotion_days(locs, skus, wanted, start=start, total=total)
    factors = factor_series(locs, start=start, total=total)
    out = []
    for key in pairs:
        y = sales.get(key, np.zeros(n))
        # a series starts at its first sale (a SKU listed last month has no two-year history of zeros)
        f = first.get(key, 0)
        cut = slice(f, None)
        out.append(SeriesInput(
            key=key, start=start + dt.timedelta(days=f), sales=y[cut],
            lost=lost[key][cut] if key in lost else None,
            stockout=stockout[key][cut] if key in stockout else None,
            promo=promo[key][f:] if key in promo else None,
            factors={name: arr[f:] for name, arr in factors.get(key[0], {}).items()},
        ))
    return out


def _stockout_days(locs: list[int], skus: list[int], wanted: set[Pair], *, start: dt.date, n: int) -> dict[Pair, np.ndarray]:
    """Days with no stock all day (opening and closing on hand ≤ 0), from the stock ledger. Days before a
    pair's first movement are unknown, not stock-outs."""
    since = dt.datetime.combine(start, dt.time(), tzinfo=local_tz())
    base = StockMovement.objects.filter(location_id__in=locs, sku_id__in=skus).exclude(on_hand_delta=0)
    opening = {(lc, s): v for lc, s, v in base.filter(created_at__lt=since).values_list("location_id", "sku_id")
               .annotate(v=Sum("on_hand_delta"))}
    deltas: dict[Pair, np.ndarray] = {}
    first: dict[Pair, int] = {}
    for loc, sku, d, at in base.filter(created_at__gte=since).values_list("location_id", "sku_id", "on_hand_delta",
                                                                           "created_at"):
        key = (loc, sku)
        if key not in wanted:
            continue
        i = (_local_day(at) - start).days
        if 0 <= i < n:
            deltas.setdefault(key, np.zeros(n))[i] += d
            first[key] = min(first.get(key, i), i)
    out: dict[Pair, np.ndarray] = {}
    for key in wanted:
        if key not in deltas and key not in opening:
            continue
        d = deltas.get(key, np.zeros(n))
        close = opening.get(key, 0) + np.cumsum(d)
        open_ = np.concatenate([[opening.get(key, 0)], close[:-1]])
        so = (open_ <= 0) & (close <= 0)
        if key not in opening:  # unknown before the first movement
            so[: first.get(key, 0) + 1] = False
        if so.any():
            out[key] = so
    return out


def promotion_days(locs: list[int], skus: list[int], wanted: set[Pair], *, start: dt.date, total: int) -> dict[Pair, np.ndarray]:
    """The promotion calendar as booleans per day. Today read from ``PromotionPeriod`` (the plug-in
    point): when the promotions app publishes its calendar, this is the one function to change."""
    end = start + dt.timedelta(days=total - 1)
    out: dict[Pair, np.ndarray] = {}
    rows = (PromotionPeriod.objects.filter(sku_id__in=skus, starts_on__lte=end, ends_on__gte=start)
            .filter(Q(location_id__in=locs) | Q(location__isnull=True))
            .values_list("location_id", "sku_id", "starts_on", "ends_on"))
    for loc, sku, s, e in rows:
        targets = [(loc, sku)] if loc is not None else [(lc, sku) for lc in locs]
        i0, i1 = max(0, (s - start).days), min(total - 1, (e - start).days)
        for key in targets:
            if key in wanted:
                out.setdefault(key, np.zeros(total, bool))[i0:i1 + 1] = True
    return out


def factor_series(locs: list[int], *, start: dt.date, total: int) -> dict[int, dict[str, np.ndarray]]:
    """External factors per location: the location's city's series, else the chain-wide one (city '')."""
    end = start + dt.timedelta(days=total - 1)
    cities = dict(Location.objects.filter(pk__in=locs).values_list("pk", "city"))
    wanted_cities = set(cities.values()) | {""}
    by: dict[tuple[str, str], np.ndarray] = {}
    for name, city, day, value in (ExternalFactor.objects.filter(day__gte=start, day__lte=end, city__in=wanted_cities)
                                   .values_list("name", "city", "day", "value")):
        by.setdefault((name, city), np.full(total, np.nan))[(day - start).days] = value
    names = {k[0] for k in by}
    out: dict[int, dict[str, np.ndarray]] = {}
    for loc, city in cities.items():
        series = {}
        for name in names:
            arr = by.get((name, city))
            if arr is None:
                arr = by.get((name, ""))
            if arr is not None:
                series[name] = arr
        out[loc] = series
    return out


# --- parameters ------------------------------------------------------------------------------------

class ParamLookup:
    """Lead time / review period for (location, SKU): the most specific ``ReplenishmentParameter`` row,
    else the SKU's preferred supplier (purchasing), else the defaults."""

    def __init__(self) -> None:
        self.rows: dict[tuple[int | None, int | None], ReplenishmentParameter] = {
            (r.location_id, r.sku_id): r for r in ReplenishmentParameter.objects.all()}
        self._suppliers: dict | None = None

    def _supplier(self, sku_id: int):
        if self._suppliers is None:
            from mendian.purchasing.models import SupplierSku
            from mendian.purchasing.selectors import supplier_params_for

            self._suppliers = supplier_params_for(SupplierSku.objects.values_list("sku_id", flat=True).distinct())
        return self._suppliers.get(sku_id)

    def get(self, location_id: int, sku_id: int) -> ReplenishmentParams:
        for key, src in (((location_id, sku_id), "location_sku"), ((None, sku_id), "sku"), ((location_id, None), "location")):
            r = self.rows.get(key)
            if r is not None:
                return ReplenishmentParams(float(r.lead_time_days), float(r.lead_time_std_days),
                                           float(r.review_period_days), source=f"{src}:{r.source}")
        sp = self._supplier(sku_id)
        if sp is not None:
            return ReplenishmentParams(float(sp.lead_time_days), float(sp.lead_time_std_days),
                                       float(sp.review_period_days),
                                       source=f"supplier:{sp.supplier_code}" + (":measured" if sp.measured else ""))
        return ReplenishmentParams()


def service_levels() -> dict[str, float]:
    return PlanningSettings.current().service_levels()


# --- API reads -------------------------------------------------------------------------------------

def latest_series_forecasts(*, location_ids: Iterable[int] | None, sku_id: int | None = None):
    """The newest result per (location, SKU) from finished runs (a correlated subquery on the
    (location, sku, run) index)."""
    newest = (SeriesForecast.objects.filter(location_id=OuterRef("location_id"), sku_id=OuterRef("sku_id"),
                                            run__status=ForecastRun.Status.DONE)
              .order_by("-run_id").values("run_id")[:1])
    qs = SeriesForecast.objects.filter(run__status=ForecastRun.Status.DONE)
    if location_ids is not None:
        qs = qs.filter(location_id__in=list(location_ids))
    if sku_id is not None:
        qs = qs.filter(sku_id=sku_id)
    return (qs.filter(run_id=Subquery(newest)).select_related("location", "sku")
            .order_by("location__code", "sku__code"))


def days_since_last_sale(location_id: int, *, as_of: dt.date) -> dict[int, int]:
    rows = (SalesHistoryDay.objects.filter(location_id=location_id, quantity__gt=0, day__lte=as_of)
            .values_list("sku_id").annotate(m=Max("day")))
    return {sku: (as_of - day).days for sku, day in rows}


def on_hand_by_sku(location_id: int) -> dict[int, int]:
    return {sku: int(q or 0) for sku, q in StockLevel.objects.filter(location_id=location_id)
            .values_list("sku_id").annotate(q=Sum("on_hand"))}


def sku_prices(sku_ids: Iterable[int]) -> dict[int, tuple[str, Decimal]]:
    return {pk: (code, price) for pk, code, price in Sku.objects.filter(pk__in=list(sku_ids))
            .values_list("pk", "code", "list_price")}


# --- for other contexts (transfers, purchasing) ------------------------------------------------------

def safety_stock_for(location_ids: Iterable[int], sku_ids: Iterable[int]) -> dict[Pair, int]:
    """Current safety stock per (location_id, sku_id) from the latest forecast run; pairs without a
    policy are absent (callers choose their own fallback)."""
    return {(lc, s): ss for lc, s, ss in StockPolicy.objects.filter(
        location_id__in=list(location_ids), sku_id__in=list(sku_ids)).values_list("location_id", "sku_id", "safety_stock")}


@dataclass(frozen=True)
class PolicyFigures:
    safety_stock: int
    reorder_point: int
    order_up_to: int
    service_level: float
    abc: str


def stock_policies_for(location_ids: Iterable[int], sku_ids: Iterable[int]) -> dict[Pair, PolicyFigures]:
    """Safety stock, reorder point and order-up-to level per (location_id, sku_id)."""
    rows = StockPolicy.objects.filter(location_id__in=list(location_ids), sku_id__in=list(sku_ids)).values_list(
        "location_id", "sku_id", "safety_stock", "reorder_point", "order_up_to", "service_level", "abc")
    return {(lc, s): PolicyFigures(ss, rop, out, sl, abc) for lc, s, ss, rop, out, sl, abc in rows}


def reorder_points_for(location_ids: Iterable[int], sku_ids: Iterable[int]) -> dict[Pair, int]:
    return {k: v.reorder_point for k, v in stock_policies_for(location_ids, sku_ids).items()}


def slow_movers(location_id: int, *, as_of: dt.date | None = None, rules=None) -> tuple[dt.date, list[dict]]:
    """Flagged SKUs at a location: weeks of cover from the latest forecast (or the last 90 days' sales
    when the SKU has none), days since last sale, a markdown proposal and the transfer-out quantity."""
    from .domain import SlowMoverInput, SlowMoverRules, assess_slow_mover

    rules = rules or SlowMoverRules()
    as_of = as_of or default_as_of()
    on_hand = {s: q for s, q in on_hand_by_sku(location_id).items() if q > 0}
    last = days_since_last_sale(location_id, as_of=as_of)
    fc = {f.sku_id: f for f in latest_series_forecasts(location_ids=[location_id]).filter(sku_id__in=list(on_hand))}
    recent_start = as_of - dt.timedelta(days=89)
    recent = {s: float(q or 0) / 90 for s, q in SalesHistoryDay.objects.filter(
        location_id=location_id, day__gte=recent_start, day__lte=as_of, sku_id__in=list(on_hand))
        .values_list("sku_id").annotate(q=Sum("quantity"))}
    policies = {s: out for s, out in StockPolicy.objects.filter(location_id=location_id, sku_id__in=list(on_hand))
                .values_list("sku_id", "order_up_to")}
    prices = sku_prices(on_hand)
    items = []
    for sku_id, qty in sorted(on_hand.items(), key=lambda kv: prices[kv[0]][0]):
        f = fc.get(sku_id)
        mean = (sum(f.forecast) / len(f.forecast)) if f and f.forecast else recent.get(sku_id, 0.0)
        a = assess_slow_mover(SlowMoverInput(on_hand=qty, mean_daily=mean, days_since_last_sale=last.get(sku_id),
                                             list_price=prices[sku_id][1], order_up_to=policies.get(sku_id)), rules)
        if not a.flags:
            continue
        expl = dict(a.explanation)
        expl["demand_source"] = f"forecast run {f.run_id}" if f else "mean daily sales over the last 90 days"
        items.append({"sku": prices[sku_id][0], "on_hand": qty, "mean_daily": round(mean, 4),
                      "weeks_of_cover": a.weeks_of_cover, "days_since_last_sale": last.get(sku_id),
                      "flags": list(a.flags), "markdown_pct": str(a.markdown_pct),
                      "list_price": str(prices[sku_id][1]), "proposed_price": str(a.proposed_price),
                      "transfer_out_qty": a.transfer_out_qty, "explanation": expl})
    return as_of, items
