"""Write use-cases of transfers: run and accept a plan, request, approve, ship, receive and cancel a
transfer order. Stock moves only through the inventory services (ship: sender → in transit;
receive: in transit → receiver, with short and damaged written off). Every state change is audited
and published to the outbox (``transfer.*``, partition = the sender's code)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from mendian.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, unknown_code
from mendian.core.timeutil import local_date
from mendian.inventory.services import LotTake, StockLine, stock_transfer_receive, stock_transfer_ship
from mendian.org.models import Location
from mendian.org.scope import Scope
from mendian.platform.audit import audit_record
from mendian.platform.batch import write_batch
from mendian.platform.outbox import outbox_publish

from . import selectors
from .models import TransferOrder, TransferOrderLine, TransferPlan, TransferPlanMove
from .planning.planner import plan_transfers
from .planning.problem import CostParams, TransferProblem
from .planning.routes import RoutePlan, RouteSite, RouteTask, minutes_of, plan_routes
from .planning.sourcing import SourcingLine, SourcingProposal, propose_sourcing

S = TransferOrder.Status
ACT_ROLES = frozenset({"hq", "region", "store_manager"})
PLAN_ROLES = frozenset({"hq", "region"})


# --- who may act --------------------------------------------------------------------------------

def _may_act_at(scope: Scope, location_id: int, roles: frozenset[str] = ACT_ROLES) -> bool:
    if scope.is_hq and scope.chain_wide:
        return True
    return scope.sees(location_id) and bool(roles & scope.roles_at.get(location_id, frozenset()))


def _require_at(scope: Scope, location_ids: Sequence[int], what: str, roles: frozenset[str] = ACT_ROLES) -> None:
    if not any(_may_act_at(scope, loc, roles) for loc in location_ids):
        raise PermissionDenied(f"your role may not {what} this transfer", code="forbidden")


# --- plans --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanParams:
    region: str | None = None
    cost_per_unit_km: Decimal = Decimal("0.005")
    road_factor: Decimal = Decimal("1.3")
    lane_fixed_cost: Decimal = Decimal("30")
    handling_per_unit: Decimal = Decimal("0.20")
    unmet_penalty_per_unit: Decimal = Decimal("60")
    max_distance_km: float = 150.0
    excluded_locations: tuple[str, ...] = ()
    excluded_skus: tuple[str, ...] = ()
    min_stock: int = 2
    lead_time_days: int = 7
    safety_days: int = 3
    time_limit: float = 2.0
    mip_seconds: float = 0.0  # > 0: also compute a MIP lower bound when the plan has ≤ 100 locations

    def as_json(self) -> dict:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, Decimal):
                d[k] = str(v)
            elif isinstance(v, tuple):
                d[k] = list(v)
        return d


def _plan_locations(scope: Scope, region: str | None) -> tuple[list[int] | None, int | None]:
    from mendian.org.models import Region
    from mendian.org.selectors import region_subtree_ids

    region_id = None
    ids: set[int] | None = None
    if region:
        subtree = region_subtree_ids(region)
        region_id = Region.objects.filter(code=region).values_list("pk", flat=True).first()
        ids = set(Location.objects.filter(region_id__in=subtree).values_list("pk", flat=True))
    if scope.location_ids is not None:
        if ids is None:
            ids = set(scope.location_ids)
        elif not ids <= set(scope.location_ids):
            raise NotFound(f"region {region} not found")
        if region_id is None:
            region_id = Location.objects.filter(pk__in=list(ids)).values_list("region_id", flat=True).first()
    return (None if ids is None else sorted(ids)), region_id


def transfer_plan_run(*, user, scope: Scope, params: PlanParams) -> TransferPlan:
    """Plan transfers for the chain (HQ) or a region (HQ, its regional director); the plan and its
    moves are stored as ``proposed`` with its figures."""
    if not (scope.is_hq and scope.chain_wide) and "region" not in scope.roles:
        raise PermissionDenied("only HQ and regional directors run transfer plans", code="forbidden")
    if not scope.chain_wide and not params.region and not scope.location_ids:
        raise PermissionDenied("no locations in your scope", code="forbidden")
    location_ids, region_id = _plan_locations(scope, params.region)
    excluded_loc = dict(Location.objects.filter(code__in=params.excluded_locations).values_list("code", "pk"))
    for code in params.excluded_locations:
        if code not in excluded_loc:
            raise unknown_code("excluded_locations", code)
    from mendian.catalog.models import Sku

    excluded_sku = dict(Sku.objects.filter(code__in=params.excluded_skus).values_list("code", "pk"))
    for code in params.excluded_skus:
        if code not in excluded_sku:
            raise unknown_code("excluded_skus", code)
    tp = selectors.TargetParams(min_stock=params.min_stock, lead_time_days=params.lead_time_days,
                                safety_days=params.safety_days)
    inp = selectors.planning_input(location_ids=location_ids, params=tp)
    costs = CostParams(cost_per_unit_km=params.cost_per_unit_km, road_factor=params.road_factor,
                       lane_fixed_cost=params.lane_fixed_cost, handling_per_unit=params.handling_per_unit,
                       unmet_penalty_per_unit=params.unmet_penalty_per_unit, max_distance_km=params.max_distance_km)
    figures: dict = {"locations": len(inp.sites), "positions": len(inp.positions)}
    moves = []
    if inp.sites and inp.positions:
        problem = TransferProblem.from_positions(inp.sites, inp.positions, pack_sizes=inp.pack_sizes, costs=costs,
                                                 excluded_locations=excluded_loc.values(),
                                                 excluded_skus=excluded_sku.values())
        res = plan_transfers(problem, time_limit=params.time_limit)
        moves = res.moves
        figures.update({"objective": res.cost.as_dict(), "lane_blind": res.lane_blind.as_dict(),
                        "saving": str(res.saving), "saving_pct": res.saving_pct, "need_units": res.need_units,
                        "met_units": res.met_units, "seconds": round(res.seconds, 3), "moves": len(res.moves),
                        "lanes": res.cost.lane_count})
        if params.mip_seconds > 0 and len(inp.sites) <= 100:
            from .planning.mip import mip_lower_bound

            bound = mip_lower_bound(problem, time_limit=params.mip_seconds)
            gap = float((res.cost.total - bound.bound) / res.cost.total * 100) if res.cost.total else 0.0
            figures.update({"mip_bound": str(bound.bound), "mip_gap_pct": round(gap, 2)})
    now = timezone.now()
    with transaction.atomic(), write_batch():
        plan = TransferPlan.objects.create(region_id=region_id, parameters=params.as_json(), figures=figures,
                                           created_by=user, created_at=now)
        TransferPlanMove.objects.bulk_create(
            [TransferPlanMove(plan=plan, from_location_id=m.from_id, to_location_id=m.to_id, sku_id=m.sku_id,
                              quantity=m.qty, packs=m.packs, distance_km=Decimal(str(m.distance_km))) for m in moves],
            batch_size=2000)
        audit_record(actor=user, action="transfer_plan.create", object_type="transfer_plan", object_ref=str(plan.pk),
                     after={"status": plan.status, "figures": figures})
        outbox_publish(topic="transfer.plan_created", payload={"plan": plan.pk, "moves": len(moves)})
    return plan


def _next_numbers(from_code: str, n: int) -> list[str]:
    prefix = f"TR{from_code}{local_date().strftime('%Y%m%d')}"
    last = (TransferOrder.objects.filter(number__startswith=prefix).order_by("-number")
            .values_list("number", flat=True).first())
    start = int(last[len(prefix):]) + 1 if last else 1
    return [f"{prefix}{start + i:04d}" for i in range(n)]


def _order_snapshot(order: TransferOrder, lines: Sequence[TransferOrderLine] | None = None) -> dict:
    lines = list(order.lines.select_related("sku")) if lines is None else lines
    return {"status": order.status, "from": order.from_location.code, "to": order.to_location.code,
            "lines": [{"sku": ln.sku.code, "quantity": ln.quantity, "shipped": ln.shipped,
                       "received": ln.received, "damaged": ln.damaged, "short": ln.short} for ln in lines]}


def _publish(order: TransferOrder, verb: str, user, before: dict | None, after: dict) -> None:
    audit_record(actor=user, action=f"transfer.{verb}", object_type="transfer_order", object_ref=order.number,
                 before=before, after=after)
    outbox_publish(topic=f"transfer.{verb}", payload={"number": order.number, **after},
                   partition=order.from_location.code)


def transfer_plan_accept(*, user, scope: Scope, plan_id: int) -> list[TransferOrder]:
    """Accept a proposed plan: its moves become approved transfer orders, one per lane (sender,
    receiver) with a line per SKU."""
    plan = selectors.plan_get(scope=scope, plan_id=plan_id)
    if plan is None:
        raise NotFound(f"transfer plan {plan_id} not found")
    if not (scope.is_hq and scope.chain_wide) and "region" not in scope.roles:
        raise PermissionDenied("only HQ and regional directors accept transfer plans", code="forbidden")
    now = timezone.now()
    with transaction.atomic(), write_batch():
        locked = TransferPlan.objects.select_for_update().get(pk=plan.pk)
        if locked.status != TransferPlan.Status.PROPOSED:
            raise Conflict(f"transfer plan {plan_id} is {locked.status}", code="invalid_state",
                           details={"status": locked.status})
        lanes: dict[tuple[int, int], list[TransferPlanMove]] = defaultdict(list)
        for m in locked.moves.select_related("from_location", "to_location", "sku").order_by("sku__code"):
            lanes[(m.from_location_id, m.to_location_id)].append(m)
        orders: list[TransferOrder] = []
        by_sender: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for key, ms in lanes.items():
            by_sender[ms[0].from_location.code].append(key)
        numbers: dict[tuple[int, int], str] = {}
        for code, keys in by_sender.items():
            for key, num in zip(sorted(keys), _next_numbers(code, len(keys)), strict=True):
                numbers[key] = num
        for key in sorted(lanes):
            ms = lanes[key]
            orders.append(TransferOrder(number=numbers[key], from_location=ms[0].from_location,
                                        to_location=ms[0].to_location, status=S.APPROVED, source=TransferOrder.Source.PLAN,
                                        plan=locked, distance_km=ms[0].distance_km, created_by=user, created_at=now,
                                        approved_at=now))
        TransferOrder.objects.bulk_create(orders)
        saved = {o.number: o for o in TransferOrder.objects.filter(number__in=[o.number for o in orders])
                 .select_related("from_location", "to_location")}
        lines = []
        for key in sorted(lanes):
            order = saved[numbers[key]]
            order_lines = [TransferOrderLine(order=order, line_no=i + 1, sku=m.sku, quantity=m.quantity)
                           for i, m in enumerate(lanes[key])]
            lines += order_lines
            _publish(order, "approved", user, None, _order_snapshot(order, order_lines) | {"plan": locked.pk})
        TransferOrderLine.objects.bulk_create(lines, batch_size=2000)
        locked.status = TransferPlan.Status.ACCEPTED
        locked.accepted_by = user
        locked.accepted_at = now
        locked.save(update_fields=["status", "accepted_by", "accepted_at"])
        audit_record(actor=user, action="transfer_plan.accept", object_type="transfer_plan", object_ref=str(locked.pk),
                     before={"status": TransferPlan.Status.PROPOSED},
                     after={"status": locked.status, "orders": len(orders)})
        outbox_publish(topic="transfer.plan_accepted", payload={"plan": locked.pk, "orders": [o.number for o in orders]})
    return [saved[numbers[k]] for k in sorted(lanes)]


# --- transfer orders ----------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestLine:
    sku_id: int
    quantity: int


def transfer_request(*, user, scope: Scope, from_location: Location, to_location: Location,
                     lines: Sequence[RequestLine], note: str = "") -> TransferOrder:
    """A transfer asked for by hand (a store short of stock, or a store offering stock): proposed."""
    if from_location.pk == to_location.pk:
        raise InvalidInput("a transfer moves stock between two different locations", code="same_location")
    for loc in (from_location, to_location):
        if loc.kind == Location.Kind.TRANSIT or loc.status != Location.Status.ACTIVE:
            raise InvalidInput(f"{loc.code} cannot send or receive transfers", code="invalid_location",
                               details={"location": loc.code})
    _require_at(scope, [from_location.pk, to_location.pk], "request")
    per_sku: dict[int, int] = {}
    for ln in lines:
        if ln.quantity <= 0:
            raise InvalidInput("quantities must be positive", code="invalid_quantity", details={"sku_id": ln.sku_id})
        if ln.sku_id in per_sku:
            raise InvalidInput("one line per SKU", code="duplicate_sku", details={"sku_id": ln.sku_id})
        per_sku[ln.sku_id] = ln.quantity
    if not per_sku:
        raise InvalidInput("a transfer needs at least one line", code="no_lines")
    with transaction.atomic(), write_batch():
        order = TransferOrder.objects.create(number=_next_numbers(from_location.code, 1)[0], from_location=from_location,
                                             to_location=to_location, status=S.PROPOSED, source=TransferOrder.Source.MANUAL,
                                             note=note, created_by=user, created_at=timezone.now())
        TransferOrderLine.objects.bulk_create([TransferOrderLine(order=order, line_no=i + 1, sku_id=s, quantity=q)
                                               for i, (s, q) in enumerate(per_sku.items())])
        _publish(order, "requested", user, None, _order_snapshot(order))
    return order


def _locked(number: str, scope: Scope) -> TransferOrder:
    order = selectors.transfer_get(scope=scope, number=number)
    if order is None:
        raise NotFound(f"transfer {number} not found")
    locked = (TransferOrder.objects.select_for_update(of=("self",)).select_related("from_location", "to_location")
              .get(pk=order.pk))
    return locked


def _require_status(order: TransferOrder, allowed: Sequence[str], action: str) -> None:
    if order.status not in allowed:
        raise Conflict(f"transfer {order.number} is {order.status}: it cannot be {action}", code="invalid_state",
                       details={"status": order.status})


def transfer_approve(*, user, scope: Scope, number: str) -> TransferOrder:
    """The sender (or HQ / its region) agrees to give: proposed → approved."""
    with transaction.atomic(), write_batch():
        order = _locked(number, scope)
        _require_at(scope, [order.from_location_id], "approve")
        _require_status(order, [S.PROPOSED], "approved")
        before = {"status": order.status}
        order.status, order.approved_at = S.APPROVED, timezone.now()
        order.save(update_fields=["status", "approved_at"])
        _publish(order, "approved", user, before, {"status": order.status})
    return order


def transfer_ship(*, user, scope: Scope, number: str) -> TransferOrder:
    """The sender ships: approved → shipped. Stock leaves the sender into the in-transit location
    through the ledger (all lines or none: 409 ``insufficient_stock`` naming the short lines)."""
    with transaction.atomic(), write_batch():
        order = _locked(number, scope)
        _require_at(scope, [order.from_location_id], "ship")
        _require_status(order, [S.APPROVED], "shipped")
        transit = selectors.transit_location_for(order.from_location)
        if transit is None:
            raise Conflict("the chain has no in-transit location", code="no_transit_location")
        lines = list(order.lines.select_related("sku"))
        takes = stock_transfer_ship(from_location_id=order.from_location_id, transit_location_id=transit.pk,
                                    lines=[StockLine(ln.sku_id, ln.quantity) for ln in lines], doc_ref=order.number,
                                    user_id=user.pk, doc_type="transfer")
        for ln in lines:
            ln.shipped = ln.quantity
        TransferOrderLine.objects.bulk_update(lines, ["shipped"])
        order.status, order.shipped_at, order.transit_location = S.SHIPPED, timezone.now(), transit
        order.shipment = [{"sku_id": t.sku_id, "lot_id": t.lot_id, "lot_code": t.lot_code, "quantity": t.quantity,
                           "unit_cost": str(t.unit_cost)} for t in takes]
        order.save(update_fields=["status", "shipped_at", "transit_location", "shipment"])
        _publish(order, "shipped", user, {"status": S.APPROVED}, _order_snapshot(order, lines))
    return order


@dataclass(frozen=True)
class ReceiptInput:
    sku_id: int
    received: int
    damaged: int = 0


@dataclass
class _LotSplit:
    received: dict = field(default_factory=dict)
    damaged: dict = field(default_factory=dict)


def _split_over_lots(takes: list[LotTake], per_sku: dict[int, ReceiptInput]) -> _LotSplit:
    """Counts per SKU spread over the lots shipped, in shipping order: received first, then damaged;
    what is left of a lot never arrived (short)."""
    out = _LotSplit()
    left = {s: [r.received, r.damaged] for s, r in per_sku.items()}
    for t in takes:
        r_left, d_left = left[t.sku_id]
        r = min(r_left, t.quantity)
        d = min(d_left, t.quantity - r)
        left[t.sku_id] = [r_left - r, d_left - d]
        key = (t.sku_id, t.lot_id)
        out.received[key] = out.received.get(key, 0) + r
        out.damaged[key] = out.damaged.get(key, 0) + d
    return out


def transfer_receive(*, user, scope: Scope, number: str, lines: Sequence[ReceiptInput] | None = None) -> TransferOrder:
    """The receiver books the goods in: shipped → received. ``lines`` give per SKU the good quantity
    received and the damaged one (default: everything shipped arrived good); the rest is short.
    Short and damaged units are written off at the in-transit location through the ledger."""
    with transaction.atomic(), write_batch():
        order = _locked(number, scope)
        _require_at(scope, [order.to_location_id], "receive")
        _require_status(order, [S.SHIPPED], "received")
        order_lines = list(order.lines.select_related("sku"))
        by_sku = {ln.sku_id: ln for ln in order_lines}
        per_sku: dict[int, ReceiptInput] = {}
        for r in lines or []:
            ln = by_sku.get(r.sku_id)
            if ln is None:
                raise InvalidInput("a SKU that is not on this transfer", code="not_on_transfer",
                                   details={"sku_id": r.sku_id})
            if r.received < 0 or r.damaged < 0 or r.received + r.damaged > ln.shipped:
                raise InvalidInput("received + damaged must be between 0 and what was shipped", code="over_receipt",
                                   details={"sku": ln.sku.code, "shipped": ln.shipped, "received": r.received,
                                            "damaged": r.damaged})
            per_sku[r.sku_id] = r
        for ln in order_lines:
            per_sku.setdefault(ln.sku_id, ReceiptInput(ln.sku_id, ln.shipped, 0))
        takes = [LotTake(t["sku_id"], t["lot_id"], t["lot_code"], t["quantity"], Decimal(t["unit_cost"]))
                 for t in order.shipment]
        split = _split_over_lots(takes, per_sku)
        stock_transfer_receive(transit_location_id=order.transit_location_id, to_location_id=order.to_location_id,
                               takes=takes, received=split.received, damaged=split.damaged, doc_ref=order.number,
                               user_id=user.pk, doc_type="transfer")
        for ln in order_lines:
            r = per_sku[ln.sku_id]
            ln.received, ln.damaged, ln.short = r.received, r.damaged, ln.shipped - r.received - r.damaged
        TransferOrderLine.objects.bulk_update(order_lines, ["received", "damaged", "short"])
        order.status, order.received_at = S.RECEIVED, timezone.now()
        order.save(update_fields=["status", "received_at"])
        _publish(order, "received", user, {"status": S.SHIPPED}, _order_snapshot(order, order_lines))
    return order


def transfer_cancel(*, user, scope: Scope, number: str) -> TransferOrder:
    """Cancel before shipping (either end, or HQ / its region); goods on the road cannot be cancelled."""
    with transaction.atomic(), write_batch():
        order = _locked(number, scope)
        _require_at(scope, [order.from_location_id, order.to_location_id], "cancel")
        _require_status(order, [S.PROPOSED, S.APPROVED], "cancelled")
        before = {"status": order.status}
        order.status, order.cancelled_at = S.CANCELLED, timezone.now()
        order.save(update_fields=["status", "cancelled_at"])
        _publish(order, "cancelled", user, before, {"status": order.status})
    return order


# --- routes and sourcing (computed, nothing stored) -------------------------------------------------

@dataclass(frozen=True)
class DayRoutes:
    day: dt.date
    depot: Location | None
    plan: RoutePlan
    locations: dict[int, Location]
    transfers: int


def transfer_routes_for_day(*, scope: Scope, day: dt.date, depot_code: str | None = None,
                            vehicle_capacity: int = 30, time_limit: float = 3.0) -> DayRoutes:
    """Vehicle routes for the transfers shipped on ``day`` that the caller may see."""
    orders = selectors.shipped_on(scope=scope, day=day)
    locs: dict[int, Location] = {}
    for o in orders:
        locs[o.from_location_id] = o.from_location
        locs[o.to_location_id] = o.to_location
    depot = selectors.depot_for(list(locs.values()), depot_code)
    if depot_code and depot is None:
        raise unknown_code("depot", depot_code)
    if depot is None or not orders:
        return DayRoutes(day, depot, RoutePlan([], 0.0, 0, 0.0, 0, [o.number for o in orders]), locs, len(orders))
    locs[depot.pk] = depot
    sites = [RouteSite(loc.pk, float(loc.latitude), float(loc.longitude), minutes_of(loc.opens_at),
                       minutes_of(loc.closes_at)) for loc in locs.values() if loc.latitude is not None]
    tasks = [RouteTask(o.number, o.from_location_id, o.to_location_id, selectors.cases_of(o)) for o in orders]
    plan = plan_routes(sites=sites, depot_id=depot.pk, tasks=tasks, vehicle_capacity=vehicle_capacity,
                       time_limit=time_limit)
    return DayRoutes(day, depot, plan, locs, len(orders))


def sourcing_propose(*, scope: Scope, location: Location, lines: Sequence[RequestLine],
                     max_distance_km: float = 150.0) -> tuple[SourcingProposal, dict[int, int]]:
    """For an order ``location`` cannot fill: the shortfall per SKU (ordered − available there) and
    the best other locations to ship it from (their excess, cheapest lanes first)."""
    if not scope.sees(location.pk):
        raise NotFound(f"location {location.code} not found")
    sku_ids = [ln.sku_id for ln in lines]
    here = selectors.available_at(location_id=location.pk, sku_ids=sku_ids)
    short = {ln.sku_id: ln.quantity - max(0, here.get(ln.sku_id, 0)) for ln in lines}
    short = {s: q for s, q in short.items() if q > 0}
    tp = selectors.TargetParams()
    inp = selectors.planning_input(location_ids=None, params=tp, sku_ids=list(short))
    sites = inp.sites
    if not any(s.id == location.pk for s in sites) and location.latitude is not None:
        from .planning.problem import Site

        sites = [*sites, Site(location.pk, float(location.latitude), float(location.longitude), location.kind)]
    available = {(p.location_id, p.sku_id): p.excess for p in inp.positions if p.excess > 0}
    proposal = propose_sourcing(sites=sites, target_id=location.pk,
                                lines=[SourcingLine(s, q) for s, q in short.items()], available=available,
                                pack_sizes=inp.pack_sizes, costs=CostParams(max_distance_km=max_distance_km))
    return proposal, short
