"""Reads of the transfers context: the planner's input (balances, lost demand, stock targets),
transfer orders and plans within a user's scope, and what a page needs to draw routes."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from mendian.catalog.models import Sku
from mendian.inventory.models import LostDemand, StockLevel, StockMovement
from mendian.org.models import Location
from mendian.org.scope import Scope

from .models import TransferOrder, TransferPlan
from .planning.problem import Position, Site, need_and_excess

Pair = tuple[int, int]


@dataclass(frozen=True)
class StockTarget:
    """What a (location, SKU) should hold: below ``safety_stock`` it needs stock; above
    ``reorder_point`` (lead-time demand + safety stock) it has stock to give."""

    safety_stock: int
    reorder_point: int


@dataclass(frozen=True)
class TargetParams:
    min_stock: int = 2            # per-location minimum where no safety stock exists yet
    history_days: int = 28        # sales history for the fallback estimate
    lead_time_days: int = 7
    safety_days: int = 3
    lost_demand_days: int = 7


def stock_targets(*, location_ids: list[int], sku_ids: list[int], params: TargetParams) -> dict[Pair, StockTarget]:
    """Safety stock and reorder point per (location, SKU).

    THE PLUG: the planning context's stock policies (issue 4: safety stock from forecasts) are used
    wherever they exist (``mendian.planning.selectors.stock_policies_for``). Elsewhere the fallback is
    a per-location minimum (``min_stock``), raised to ``safety_days`` of the average daily sales of the
    last ``history_days`` (from the stock ledger), with ``lead_time_days`` of sales on top as the
    reorder point. Warehouses sell nothing: their target is the minimum.
    """
    targets: dict[Pair, StockTarget] = {}
    since = timezone.now() - dt.timedelta(days=params.history_days)
    sold = (StockMovement.objects.filter(location_id__in=location_ids, sku_id__in=sku_ids, reason="sale",
                                         created_at__gte=since)
            .values_list("location_id", "sku_id").annotate(q=Sum("on_hand_delta")))
    daily = {(lc, s): max(0, -(q or 0)) / params.history_days for lc, s, q in sold}
    for key, per_day in daily.items():
        ss = max(params.min_stock, math.ceil(per_day * params.safety_days))
        targets[key] = StockTarget(ss, ss + math.ceil(per_day * params.lead_time_days))
    try:
        from mendian.planning.selectors import stock_policies_for
    except ImportError:  # pragma: no cover - the planning context is optional
        return targets
    for key, pol in stock_policies_for(location_ids, sku_ids).items():
        targets[key] = StockTarget(int(pol.safety_stock), max(int(pol.reorder_point), int(pol.safety_stock)))
    return targets


@dataclass
class PlanningInput:
    sites: list[Site]
    positions: list[Position]
    pack_sizes: dict[int, int]
    codes: dict[int, str]        # location id -> code
    sku_codes: dict[int, str]


def planning_input(*, location_ids: Iterable[int] | None, params: TargetParams,
                   sku_ids: Iterable[int] | None = None) -> PlanningInput:
    """Sites (active stores and warehouses with coordinates) and each (location, SKU)'s need and
    excess from the balances (available = on hand − reserved, summed over lots), recent lost demand
    and the stock targets. Reads only."""
    locs = Location.objects.filter(status=Location.Status.ACTIVE, kind__in=[Location.Kind.STORE, Location.Kind.WAREHOUSE],
                                   latitude__isnull=False, longitude__isnull=False)
    if location_ids is not None:
        locs = locs.filter(pk__in=list(location_ids))
    loc_rows = list(locs.values_list("pk", "code", "kind", "latitude", "longitude"))
    ids = [r[0] for r in loc_rows]
    kinds = {r[0]: r[2] for r in loc_rows}
    sites = [Site(id=pk, lat=float(la), lon=float(lo), kind=kind) for pk, _c, kind, la, lo in loc_rows]
    levels = StockLevel.objects.filter(location_id__in=ids)
    lost_q = LostDemand.objects.filter(location_id__in=ids,
                                       created_at__gte=timezone.now() - dt.timedelta(days=params.lost_demand_days))
    if sku_ids is not None:
        sku_ids = list(sku_ids)
        levels = levels.filter(sku_id__in=sku_ids)
        lost_q = lost_q.filter(sku_id__in=sku_ids)
    avail = {(lc, s): (oh or 0) - (rs or 0) for lc, s, oh, rs in
             levels.values_list("location_id", "sku_id").annotate(oh=Sum("on_hand"), rs=Sum("reserved"))}
    lost = {(lc, s): q or 0 for lc, s, q in lost_q.values_list("location_id", "sku_id").annotate(q=Sum("quantity"))}
    skus = sorted({s for _, s in avail} | {s for _, s in lost})
    targets = stock_targets(location_ids=ids, sku_ids=skus, params=params)
    positions: list[Position] = []
    for key in set(avail) | set(lost):
        lc, s = key
        t = targets.get(key)
        if t is None:
            t = StockTarget(0, 0) if kinds[lc] == Location.Kind.WAREHOUSE else StockTarget(params.min_stock, params.min_stock)
        need, excess = need_and_excess(available=avail.get(key, 0), safety_stock=t.safety_stock,
                                       lead_time_demand=t.reorder_point - t.safety_stock, lost_demand=lost.get(key, 0))
        if need or excess:
            positions.append(Position(lc, s, need=need, excess=excess))
    sku_rows = Sku.objects.filter(pk__in=skus).values_list("pk", "code", "pack_size")
    return PlanningInput(sites=sites, positions=positions, pack_sizes={pk: max(1, p or 1) for pk, _c, p in sku_rows},
                         codes={r[0]: r[1] for r in loc_rows}, sku_codes={pk: c for pk, c, _p in sku_rows})


def available_to_give(*, location_ids: Iterable[int], sku_ids: Iterable[int], params: TargetParams) -> dict[Pair, int]:
    """What each location could give of each SKU without going short itself (its excess)."""
    inp = planning_input(location_ids=location_ids, params=params, sku_ids=sku_ids)
    return {(p.location_id, p.sku_id): p.excess for p in inp.positions if p.excess > 0}


def available_at(*, location_id: int, sku_ids: Iterable[int]) -> dict[int, int]:
    rows = (StockLevel.objects.filter(location_id=location_id, sku_id__in=list(sku_ids)).values_list("sku_id")
            .annotate(oh=Sum("on_hand"), rs=Sum("reserved")))
    return {s: (oh or 0) - (rs or 0) for s, oh, rs in rows}


# --- transfer orders and plans in scope -----------------------------------------------------------

def _touching(qs: QuerySet, scope: Scope) -> QuerySet:
    if scope.location_ids is None:
        return qs
    ids = list(scope.location_ids)
    return qs.filter(Q(from_location_id__in=ids) | Q(to_location_id__in=ids))


def transfer_list(*, scope: Scope, status: str | None = None, location_id: int | None = None,
                  limit: int = 50, offset: int = 0) -> tuple[list[TransferOrder], int]:
    """Transfers that touch a location in the caller's scope (sender or receiver), newest first."""
    qs = _touching(TransferOrder.objects.all(), scope)
    if status:
        qs = qs.filter(status=status)
    if location_id is not None:
        qs = qs.filter(Q(from_location_id=location_id) | Q(to_location_id=location_id))
    count = qs.count()
    rows = list(qs.select_related("from_location", "to_location", "plan")
                .prefetch_related("lines__sku").order_by("-created_at", "-id")[offset: offset + limit])
    return rows, count


def transfer_get(*, scope: Scope, number: str) -> TransferOrder | None:
    qs = _touching(TransferOrder.objects.filter(number=number), scope)
    return qs.select_related("from_location", "to_location", "transit_location", "plan").prefetch_related("lines__sku").first()


def plan_visible(scope: Scope, plan: TransferPlan) -> bool:
    """HQ sees every plan; a regional director the plans of a region they oversee (wholly in scope)."""
    if scope.chain_wide:
        return True
    if plan.region_id is None or "region" not in scope.roles:
        return False
    from mendian.org.selectors import region_subtree_ids

    locs = set(Location.objects.filter(region_id__in=region_subtree_ids(plan.region.code)).values_list("pk", flat=True))
    return bool(locs) and locs <= set(scope.location_ids or ())


def plan_get(*, scope: Scope, plan_id: int) -> TransferPlan | None:
    plan = TransferPlan.objects.filter(pk=plan_id).select_related("region").first()
    if plan is None or not plan_visible(scope, plan):
        return None
    return plan


def plan_moves(plan: TransferPlan, *, limit: int = 500, offset: int = 0) -> tuple[list, int]:
    qs = plan.moves.select_related("from_location", "to_location", "sku").order_by("from_location__code",
                                                                                  "to_location__code", "sku__code")
    return list(qs[offset: offset + limit]), qs.count()


def shipped_on(*, scope: Scope, day: dt.date) -> list[TransferOrder]:
    """Transfers shipped on ``day`` (local date) that touch the caller's scope, with their lines."""
    from mendian.core.timeutil import local_tz

    start = dt.datetime.combine(day, dt.time.min, tzinfo=local_tz())
    qs = _touching(TransferOrder.objects.filter(shipped_at__gte=start, shipped_at__lt=start + dt.timedelta(days=1),
                                                status__in=[TransferOrder.Status.SHIPPED, TransferOrder.Status.RECEIVED]),
                   scope)
    return list(qs.select_related("from_location", "to_location").prefetch_related("lines__sku").order_by("number"))


def depot_for(locations: list[Location], depot_code: str | None = None) -> Location | None:
    """The warehouse the day's vehicles start from: the one named, else the nearest warehouse to the
    middle of the day's stops."""
    whs = Location.objects.filter(kind=Location.Kind.WAREHOUSE, status=Location.Status.ACTIVE,
                                  latitude__isnull=False, longitude__isnull=False)
    if depot_code:
        return whs.filter(code=depot_code).first()
    pts = [(float(x.latitude), float(x.longitude)) for x in locations if x.latitude is not None]
    if not pts:
        return whs.order_by("code").first()
    lat = sum(p[0] for p in pts) / len(pts)
    lon = sum(p[1] for p in pts) / len(pts)
    return min(whs, key=lambda w: (float(w.latitude) - lat) ** 2 + (float(w.longitude) - lon) ** 2, default=None)


def transit_location_for(sender: Location) -> Location | None:
    """The in-transit location goods travel through: one of the sender's region, else the chain's."""
    qs = Location.objects.filter(kind=Location.Kind.TRANSIT, status=Location.Status.ACTIVE)
    return qs.filter(region_id=sender.region_id).order_by("code").first() or qs.order_by("code").first()


def cases_of(order: TransferOrder) -> int:
    """Cases a transfer fills in a vehicle: per line, whole purchasing packs (at least one)."""
    total = 0
    for ln in order.lines.all():
        qty = ln.shipped or ln.quantity
        total += max(1, -(-qty // max(1, ln.sku.pack_size)))
    return total


def lines_by_order(orders: list[TransferOrder]) -> dict[int, list]:
    out: dict[int, list] = defaultdict(list)
    for o in orders:
        out[o.pk] = list(o.lines.all())
    return out
