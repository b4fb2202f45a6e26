"""Transfers API: plans, transfer orders (调拨单), the day's routes and customer-driven sourcing.

A store manager sees and acts on transfers that touch their store (404 for any other); HQ and
regional directors within their scope. Plans are for HQ and regional directors."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from mendian.core.errors import NotFound, unknown_code
from mendian.core.timeutil import local_date
from mendian.org.models import Location
from mendian.org.scope import Scope, user_scope
from mendian.platform.idempotency import MissingIdempotencyKey, idempotent_create
from mendian.platform.schemas import ErrorOut

from . import selectors, services
from .models import TransferOrder, TransferPlan
from .schemas import (
    PlanAcceptOut,
    PlanIn,
    PlanOut,
    ReceiveIn,
    RoutesOut,
    SourcingIn,
    SourcingOut,
    TransferIn,
    TransferListOut,
    TransferOut,
)

router = Router(tags=["transfers"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _key(request: HttpRequest, required: bool = True) -> str | None:
    key = request.headers.get("Idempotency-Key") or None
    if required and not key:
        raise MissingIdempotencyKey()
    return key


def _loc_ref(loc: Location | None) -> dict | None:
    if loc is None:
        return None
    return {"code": loc.code, "name": loc.name,
            "latitude": float(loc.latitude) if loc.latitude is not None else None,
            "longitude": float(loc.longitude) if loc.longitude is not None else None}


def transfer_out(o: TransferOrder) -> dict:
    return {
        "number": o.number, "status": o.status, "source": o.source, "plan": o.plan_id,
        "from_location": _loc_ref(o.from_location), "to_location": _loc_ref(o.to_location),
        "distance_km": float(o.distance_km) if o.distance_km is not None else None, "note": o.note,
        "created_at": o.created_at, "approved_at": o.approved_at, "shipped_at": o.shipped_at,
        "received_at": o.received_at, "cancelled_at": o.cancelled_at,
        "lines": [{"line": ln.line_no, "sku": ln.sku.code, "sku_name": ln.sku.name, "quantity": ln.quantity,
                   "shipped": ln.shipped, "received": ln.received, "damaged": ln.damaged, "short": ln.short}
                  for ln in o.lines.all()],
    }


def plan_out(plan: TransferPlan, *, limit: int = 500, offset: int = 0) -> dict:
    moves, count = selectors.plan_moves(plan, limit=limit, offset=offset)
    return {
        "id": plan.pk, "status": plan.status, "region": plan.region.code if plan.region_id else None,
        "parameters": plan.parameters, "figures": plan.figures, "created_at": plan.created_at,
        "accepted_at": plan.accepted_at, "moves_count": count,
        "moves": [{"from_location": m.from_location.code, "to_location": m.to_location.code, "sku": m.sku.code,
                   "quantity": m.quantity, "packs": m.packs, "distance_km": float(m.distance_km)} for m in moves],
        "orders": list(plan.orders.order_by("number").values_list("number", flat=True)),
    }


def _location(code: str, field: str) -> Location:
    loc = Location.objects.filter(code=code).first()
    if loc is None:
        raise unknown_code(field, code)
    return loc


def _sku_ids(codes: list[str], field: str = "sku") -> dict[str, int]:
    from mendian.catalog.models import Sku

    found = dict(Sku.objects.filter(code__in=set(codes)).values_list("code", "pk"))
    for c in codes:
        if c not in found:
            raise unknown_code(field, c)
    return found


def _reload(scope: Scope, number: str) -> dict:
    order = selectors.transfer_get(scope=scope, number=number)
    if order is None:  # pragma: no cover - just written
        raise NotFound(f"transfer {number} not found")
    return transfer_out(order)


# --- plans ------------------------------------------------------------------------------------------

@router.post("/transfer-plans", response={201: PlanOut, **ERRORS}, summary="Run a transfer plan")
def plan_run(request: HttpRequest, payload: PlanIn):
    """Plans the transfers of the chain (HQ) or a region (HQ, its regional director) from current
    balances, lost demand and stock targets; stored as `proposed` with its figures (objective
    broken down, the lane-blind plan, the saving, need met). Header `Idempotency-Key` required."""
    key = _key(request)
    scope = user_scope(request.user)
    params = services.PlanParams(
        region=payload.region, cost_per_unit_km=payload.cost_per_unit_km, road_factor=payload.road_factor,
        lane_fixed_cost=payload.lane_fixed_cost, handling_per_unit=payload.handling_per_unit,
        unmet_penalty_per_unit=payload.unmet_penalty_per_unit, max_distance_km=payload.max_distance_km,
        excluded_locations=tuple(payload.excluded_locations), excluded_skus=tuple(payload.excluded_skus),
        min_stock=payload.min_stock, lead_time_days=payload.lead_time_days, safety_days=payload.safety_days,
        time_limit=payload.time_limit, mip_seconds=payload.mip_seconds)

    def create():
        plan = services.transfer_plan_run(user=request.user, scope=scope, params=params)
        return 201, plan_out(plan)

    stored = idempotent_create(user_id=request.user.pk, scope="transfer_plan", key=key,
                               payload=payload.model_dump(mode="json"), create=create)
    return Status(stored.status, stored.body)


@router.get("/transfer-plans/{plan_id}", response={200: PlanOut, **ERRORS})
def plan_get(request: HttpRequest, plan_id: int, limit: int = 500, offset: int = 0):
    plan = selectors.plan_get(scope=user_scope(request.user), plan_id=plan_id)
    if plan is None:
        raise NotFound(f"transfer plan {plan_id} not found")
    return plan_out(plan, limit=max(1, min(limit, 5000)), offset=max(0, offset))


@router.post("/transfer-plans/{plan_id}/accept", response={200: PlanAcceptOut, **ERRORS})
def plan_accept(request: HttpRequest, plan_id: int):
    """The plan's moves become approved transfer orders, one per lane (sender, receiver)."""
    orders = services.transfer_plan_accept(user=request.user, scope=user_scope(request.user), plan_id=plan_id)
    return {"plan": plan_id, "status": TransferPlan.Status.ACCEPTED, "orders": [o.number for o in orders]}


# --- transfer orders -------------------------------------------------------------------------------

class TransferFilters(Schema):
    status: str | None = None
    location: str | None = None
    limit: int = 50
    offset: int = 0


@router.get("/transfers", response={200: TransferListOut, **ERRORS})
def transfer_list(request: HttpRequest, filters: Query[TransferFilters]):
    """Transfers that touch a location in your scope (filters: status, location)."""
    scope = user_scope(request.user)
    location_id = None
    if filters.location:
        loc = Location.objects.filter(code=filters.location).values_list("pk", flat=True).first()
        if loc is None or not scope.sees(loc):
            return {"items": [], "count": 0}
        location_id = loc
    rows, count = selectors.transfer_list(scope=scope, status=filters.status, location_id=location_id,
                                          limit=max(1, min(filters.limit, 500)), offset=max(0, filters.offset))
    return {"items": [transfer_out(o) for o in rows], "count": count}


@router.post("/transfers", response={201: TransferOut, **ERRORS}, summary="Request a transfer by hand")
def transfer_create(request: HttpRequest, payload: TransferIn):
    """A store asks for stock from another location (or offers its own): `proposed`, to be approved
    by the sender (or HQ / the region). Header `Idempotency-Key` required."""
    key = _key(request)
    scope = user_scope(request.user)
    src = _location(payload.from_location, "from_location")
    dst = _location(payload.to_location, "to_location")
    if not scope.sees(src.pk) and not scope.sees(dst.pk):
        raise NotFound("no transfer end in your scope", code="not_found")
    skus = _sku_ids([ln.sku for ln in payload.lines])
    lines = [services.RequestLine(skus[ln.sku], ln.quantity) for ln in payload.lines]

    def create():
        order = services.transfer_request(user=request.user, scope=scope, from_location=src, to_location=dst,
                                          lines=lines, note=payload.note)
        return 201, _reload(scope, order.number)

    stored = idempotent_create(user_id=request.user.pk, scope="transfer", key=key,
                               payload=payload.model_dump(mode="json"), create=create)
    return Status(stored.status, stored.body)


@router.get("/transfers/{number}", response={200: TransferOut, **ERRORS})
def transfer_get(request: HttpRequest, number: str):
    order = selectors.transfer_get(scope=user_scope(request.user), number=number)
    if order is None:
        raise NotFound(f"transfer {number} not found")
    return transfer_out(order)


@router.post("/transfers/{number}/approve", response={200: TransferOut, **ERRORS})
def transfer_approve(request: HttpRequest, number: str):
    scope = user_scope(request.user)
    services.transfer_approve(user=request.user, scope=scope, number=number)
    return _reload(scope, number)


@router.post("/transfers/{number}/ship", response={200: TransferOut, **ERRORS})
def transfer_ship(request: HttpRequest, number: str):
    """Goods leave the sender into the in-transit location (409 `insufficient_stock` when short)."""
    scope = user_scope(request.user)
    services.transfer_ship(user=request.user, scope=scope, number=number)
    return _reload(scope, number)


@router.post("/transfers/{number}/receive", response={200: TransferOut, **ERRORS})
def transfer_receive(request: HttpRequest, number: str, payload: ReceiveIn | None = None):
    """Book the goods in; `lines` give per SKU the good quantity received and the damaged one
    (default: all shipped arrived good). What is neither is short."""
    scope = user_scope(request.user)
    order = selectors.transfer_get(scope=scope, number=number)
    if order is None:
        raise NotFound(f"transfer {number} not found")
    lines = None
    if payload is not None and payload.lines is not None:
        codes = {ln.sku.code: ln.sku_id for ln in order.lines.all()}
        lines = []
        for ln in payload.lines:
            if ln.sku not in codes:
                raise unknown_code("sku", ln.sku)
            lines.append(services.ReceiptInput(codes[ln.sku], ln.received, ln.damaged))
    services.transfer_receive(user=request.user, scope=scope, number=number, lines=lines)
    return _reload(scope, number)


@router.post("/transfers/{number}/cancel", response={200: TransferOut, **ERRORS})
def transfer_cancel(request: HttpRequest, number: str):
    scope = user_scope(request.user)
    services.transfer_cancel(user=request.user, scope=scope, number=number)
    return _reload(scope, number)


# --- routes and sourcing ----------------------------------------------------------------------------

def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def routes_out(r: services.DayRoutes) -> dict:
    p = r.plan
    return {
        "date": r.day, "depot": _loc_ref(r.depot), "transfers": r.transfers, "vehicles": p.vehicles,
        "distance_km": round(p.distance_km, 3), "naive_km": round(p.naive_km, 3), "naive_trips": p.naive_trips,
        "distance_ratio": round(p.distance_ratio, 4), "dropped": p.dropped, "seconds": round(p.seconds, 3),
        "routes": [{"vehicle": v.vehicle, "distance_km": v.distance_km, "duration_min": v.duration_min,
                    "stops": [{"location": r.locations[s.location_id].code, "name": r.locations[s.location_id].name,
                               "latitude": s.lat, "longitude": s.lon, "action": s.action, "transfer": s.task_ref,
                               "arrive": _hhmm(s.arrive_min), "load_after": s.load_after} for s in v.stops]}
                   for v in p.routes],
    }


@router.get("/routes", response={200: RoutesOut, **ERRORS})
def routes(request: HttpRequest, date: dt.date | None = None, depot: str | None = None, capacity: int = 30,
           time_limit: float = 3.0):
    """Vehicle routes for the transfers shipped on `date` (default today) that you may see: pickups
    and deliveries, vehicle capacity in cases, time windows from opening hours; with the naive plan
    (one depot round trip per transfer) for comparison. Stops carry coordinates for a map."""
    day = date or local_date()
    result = services.transfer_routes_for_day(scope=user_scope(request.user), day=day, depot_code=depot,
                                              vehicle_capacity=max(1, min(capacity, 100_000)),
                                              time_limit=max(0.5, min(time_limit, 30.0)))
    return routes_out(result)


@router.post("/sourcing", response={200: SourcingOut, **ERRORS})
def sourcing(request: HttpRequest, payload: SourcingIn):
    """For an order `location` cannot fill: the shortfall per SKU and the best other locations to
    ship from (one source holding every line beats several: each lane has a fixed cost)."""
    scope = user_scope(request.user)
    loc = _location(payload.location, "location")
    if not scope.sees(loc.pk):
        raise NotFound(f"location {payload.location} not found")
    skus = _sku_ids([ln.sku for ln in payload.lines])
    code_of = {v: k for k, v in skus.items()}
    proposal, short = services.sourcing_propose(scope=scope, location=loc, max_distance_km=payload.max_distance_km,
                                                lines=[services.RequestLine(skus[ln.sku], ln.quantity) for ln in payload.lines])
    locs = {x.pk: x for x in Location.objects.filter(pk__in={o.from_id for o in proposal.options})}
    return {"location": loc.code, "shortfall": {code_of[s]: q for s, q in short.items()},
            "sources": [locs[i].code for i in proposal.sources],
            "options": [{"from_location": _loc_ref(locs[o.from_id]), "sku": code_of[o.sku_id], "quantity": o.quantity,
                         "distance_km": o.distance_km} for o in proposal.options],
            "covered_units": proposal.covered_units, "short_units": proposal.short_units, "cost": str(proposal.cost)}
