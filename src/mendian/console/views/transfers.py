"""Console pages for cross-store transfers (调拨): the transfers touching the user's stores, one
transfer with its actions (approve, ship, receive with damaged units, cancel), a store's shortages
against its stock targets, running and accepting a transfer plan (HQ, regional directors), and the
day's vehicle routes as a list per vehicle and a map. Every write goes through
``mendian.transfers.services``; reads through ``mendian.transfers.selectors``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from mendian.catalog.models import Sku
from mendian.core.errors import InvalidInput, MendianError
from mendian.core.timeutil import local_date
from mendian.org.models import Location
from mendian.transfers import selectors as tsel
from mendian.transfers import services as tsvc
from mendian.transfers.models import TransferOrder, TransferPlan

from ..access import console_view, location_or_404, visible_locations
from ..nav import StoreTask, register_store_task
from ..render import page

S = TransferOrder.Status
PER_PAGE = 50


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _store_for(request: HttpRequest) -> Location | None:
    code = request.GET.get("store") or request.POST.get("store")
    if code:
        return location_or_404(request, code)
    p = request.persona
    if p.home_store is not None:
        return p.home_store
    return visible_locations(request, kind=Location.Kind.STORE).first()


def _can_plan(request: HttpRequest) -> bool:
    scope = request.persona.scope
    return (scope.is_hq and scope.chain_wide) or "region" in scope.roles


# --- the list and one transfer ----------------------------------------------------------------------

@console_view
def transfer_list(request: HttpRequest) -> HttpResponse:
    scope = request.persona.scope
    store = location_or_404(request, request.GET["store"]) if request.GET.get("store") else None
    status = request.GET.get("status") or ""
    page_no = max(_int(request.GET.get("page"), 1), 1)
    rows, count = tsel.transfer_list(scope=scope, status=status or None, location_id=store.pk if store else None,
                                     limit=PER_PAGE, offset=(page_no - 1) * PER_PAGE)
    for o in rows:
        o.units = sum(ln.quantity for ln in o.lines.all())
    return page(request, "console/transfers/list.html", {
        "rows": rows, "count": count, "store": store, "status": status, "statuses": S.choices, "page_no": page_no,
        "has_next": page_no * PER_PAGE < count, "stores": visible_locations(request, kind=Location.Kind.STORE),
        "can_plan": _can_plan(request),
    }, nav="transfers")


def _actions(request: HttpRequest, order: TransferOrder) -> dict[str, bool]:
    scope = request.persona.scope
    at_sender = tsvc._may_act_at(scope, order.from_location_id)
    at_receiver = tsvc._may_act_at(scope, order.to_location_id)
    return {
        "approve": order.status == S.PROPOSED and at_sender,
        "ship": order.status == S.APPROVED and at_sender,
        "receive": order.status == S.SHIPPED and at_receiver,
        "cancel": order.status in (S.PROPOSED, S.APPROVED) and (at_sender or at_receiver),
    }


def _order_or_404(request: HttpRequest, number: str) -> TransferOrder:
    order = tsel.transfer_get(scope=request.persona.scope, number=number)
    if order is None:
        raise Http404("no such transfer")
    return order


@console_view
def transfer_detail(request: HttpRequest, number: str) -> HttpResponse:
    order = _order_or_404(request, number)
    return page(request, "console/transfers/detail.html", {
        "o": order, "lines": list(order.lines.all()), "actions": _actions(request, order),
    }, nav="transfers")


@console_view
@require_POST
def transfer_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    order = _order_or_404(request, number)
    kw = {"user": request.user, "scope": request.persona.scope, "number": order.number}
    done = {"approve": _("Transfer %(n)s approved."), "ship": _("Transfer %(n)s shipped."),
            "receive": _("Transfer %(n)s received."), "cancel": _("Transfer %(n)s cancelled.")}
    if action not in done:
        raise Http404("no such action")
    try:
        if action == "approve":
            tsvc.transfer_approve(**kw)
        elif action == "ship":
            tsvc.transfer_ship(**kw)
        elif action == "cancel":
            tsvc.transfer_cancel(**kw)
        else:
            receipts = []
            for ln in order.lines.all():
                received = request.POST.get(f"received_{ln.sku_id}")
                damaged = request.POST.get(f"damaged_{ln.sku_id}")
                if received is None and damaged is None:
                    continue
                r, d = _int(received, -1), _int(damaged or 0, -1)
                if r < 0 or d < 0:
                    raise InvalidInput(_("Quantities must be whole numbers of 0 or more."), code="invalid_quantity")
                receipts.append(tsvc.ReceiptInput(ln.sku_id, r, d))
            tsvc.transfer_receive(**kw, lines=receipts)
    except MendianError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done[action] % {"n": order.number})
    return redirect(reverse("console:transfer", args=[order.number]))


# --- a store's shortages ----------------------------------------------------------------------------

@console_view
def shortages(request: HttpRequest) -> HttpResponse:
    store = _store_for(request)
    if store is None:
        raise Http404("no store")
    params = tsel.TargetParams()
    inp = tsel.planning_input(location_ids=[store.pk], params=params)
    needy = sorted((p for p in inp.positions if p.need > 0), key=lambda p: (-p.need, inp.sku_codes.get(p.sku_id, "")))
    sku_ids = [p.sku_id for p in needy]
    targets = tsel.stock_targets(location_ids=[store.pk], sku_ids=sku_ids, params=params)
    avail = tsel.available_at(location_id=store.pk, sku_ids=sku_ids)
    skus = Sku.objects.in_bulk(sku_ids)
    default = tsel.StockTarget(params.min_stock, params.min_stock)
    rows = [{"sku": skus[p.sku_id], "available": avail.get(p.sku_id, 0), "need": p.need,
             "target": targets.get((store.pk, p.sku_id), default)} for p in needy if p.sku_id in skus]
    incoming = [o for o in tsel.transfer_list(scope=request.persona.scope, location_id=store.pk, limit=200)[0]
                if o.to_location_id == store.pk and o.status in (S.PROPOSED, S.APPROVED, S.SHIPPED)]
    return page(request, "console/transfers/shortages.html", {
        "store": store, "rows": rows, "incoming": incoming, "params": params,
        "stores": visible_locations(request, kind=Location.Kind.STORE),
    }, nav="transfers")


# --- plans --------------------------------------------------------------------------------------------

def _plan_params(request: HttpRequest) -> tsvc.PlanParams:
    post = request.POST

    def dec(name: str, default: Decimal) -> Decimal:
        raw = (post.get(name) or "").strip()
        if not raw:
            return default
        try:
            v = Decimal(raw)
        except InvalidOperation:
            raise InvalidInput(_("%(f)s must be a number") % {"f": name}, code="invalid_number") from None
        if v < 0:
            raise InvalidInput(_("%(f)s must not be negative") % {"f": name}, code="invalid_number")
        return v

    def codes(name: str) -> tuple[str, ...]:
        return tuple(c.strip() for c in (post.get(name) or "").replace("\n", ",").split(",") if c.strip())

    d = tsvc.PlanParams()
    return tsvc.PlanParams(
        region=(post.get("region") or "").strip() or None,
        cost_per_unit_km=dec("cost_per_unit_km", d.cost_per_unit_km),
        lane_fixed_cost=dec("lane_fixed_cost", d.lane_fixed_cost),
        handling_per_unit=dec("handling_per_unit", d.handling_per_unit),
        unmet_penalty_per_unit=dec("unmet_penalty_per_unit", d.unmet_penalty_per_unit),
        max_distance_km=float(dec("max_distance_km", Decimal(str(d.max_distance_km)))),
        excluded_locations=codes("excluded_locations"), excluded_skus=codes("excluded_skus"),
        time_limit=min(float(dec("time_limit", Decimal(str(d.time_limit)))), 30.0),
        mip_seconds=min(float(dec("mip_seconds", Decimal("0"))), 60.0),
    )


@console_view
def plans(request: HttpRequest) -> HttpResponse:
    if not _can_plan(request):
        raise Http404("no such page")
    scope = request.persona.scope
    if request.method == "POST":
        try:
            plan = tsvc.transfer_plan_run(user=request.user, scope=scope, params=_plan_params(request))
        except MendianError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Plan %(id)s computed.") % {"id": plan.pk})
            return redirect(reverse("console:transfer_plan", args=[plan.pk]))
    recent = [p for p in TransferPlan.objects.select_related("region").order_by("-created_at", "-id")[:50]
              if tsel.plan_visible(scope, p)][:15]
    from mendian.org.models import Region

    region_code = request.persona.home_region.code if request.persona.home_region else ""
    return page(request, "console/transfers/plans.html", {
        "recent": recent, "defaults": tsvc.PlanParams(), "regions": Region.objects.order_by("code"),
        "region_code": region_code, "chain_wide": scope.chain_wide,
    }, nav="transfers")


@console_view
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = tsel.plan_get(scope=request.persona.scope, plan_id=plan_id)
    if plan is None:
        raise Http404("no such plan")
    if request.method == "POST":
        try:
            orders = tsvc.transfer_plan_accept(user=request.user, scope=request.persona.scope, plan_id=plan.pk)
        except MendianError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Plan accepted: %(n)s transfers approved.") % {"n": len(orders)})
        return redirect(reverse("console:transfer_plan", args=[plan.pk]))
    moves, count = tsel.plan_moves(plan, limit=500)
    f = plan.figures or {}
    return page(request, "console/transfers/plan.html", {
        "plan": plan, "moves": moves, "move_count": count, "f": f, "obj": f.get("objective") or {},
        "blind": f.get("lane_blind") or {}, "orders": list(plan.orders.select_related("from_location", "to_location")
                                                           .order_by("number")[:200]),
    }, nav="transfers")


# --- routes for a day ------------------------------------------------------------------------------

COLOURS = ["#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4", "#ea7ccc"]


@console_view
def routes(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("day") or ""
    try:
        day = dt.date.fromisoformat(raw) if raw else local_date()
    except ValueError:
        raise Http404("bad day") from None
    depot = (request.GET.get("depot") or "").strip() or None
    capacity = min(max(_int(request.GET.get("capacity"), 30), 1), 1000)
    error = None
    result = None
    try:
        result = tsvc.transfer_routes_for_day(scope=request.persona.scope, day=day, depot_code=depot,
                                              vehicle_capacity=capacity, time_limit=2.0)
    except MendianError as exc:
        error = str(exc)
    chart: dict = {"sites": [], "routes": []}
    vehicles = []
    if result is not None:
        locs = result.locations
        used = set()
        for n, r in enumerate(result.plan.routes):
            colour = COLOURS[n % len(COLOURS)]
            stops = [{"code": locs[s.location_id].code if s.location_id in locs else "?", "action": s.action,
                      "task": s.task_ref or "", "arrive": f"{s.arrive_min // 60:02d}:{s.arrive_min % 60:02d}",
                      "load": s.load_after, "lon": s.lon, "lat": s.lat} for s in r.stops]
            used.update(s.location_id for s in r.stops)
            vehicles.append({"n": n + 1, "colour": colour, "stops": stops, "km": round(r.distance_km, 1),
                             "minutes": r.duration_min})
            chart["routes"].append({"name": _("Vehicle %(n)s") % {"n": n + 1}, "colour": colour,
                                    "coords": [[s.lon, s.lat] for s in r.stops]})
        for loc in locs.values():
            if loc.latitude is None:
                continue
            is_depot = result.depot is not None and loc.pk == result.depot.pk
            chart["sites"].append({"name": loc.code, "value": [float(loc.longitude), float(loc.latitude)],
                                   "depot": is_depot})
    return page(request, "console/transfers/routes.html", {
        "day": day, "result": result, "error": error, "vehicles": vehicles, "depot": depot or "",
        "capacity": capacity, "chart": chart,
        "ratio": round(result.plan.distance_ratio, 3) if result and result.plan.naive_km else None,
    }, nav="transfers")


# --- the store dashboard's tasks -----------------------------------------------------------------------

def _store_tasks(store: Location) -> list[StoreTask]:
    base = reverse("console:transfers")
    to_receive = TransferOrder.objects.filter(to_location=store, status=S.SHIPPED).count()
    to_ship = TransferOrder.objects.filter(from_location=store, status__in=[S.PROPOSED, S.APPROVED]).count()
    return [StoreTask(gettext_lazy("Transfers to receive"), to_receive, f"{base}?store={store.code}&status=shipped"),
            StoreTask(gettext_lazy("Transfers to send"), to_ship, f"{base}?store={store.code}&status=approved")]


register_store_task(_store_tasks)

urlpatterns = [
    path("transfers/", transfer_list, name="transfers"),
    path("transfers/shortages/", shortages, name="transfer_shortages"),
    path("transfers/plans/", plans, name="transfer_plans"),
    path("transfers/plans/<int:plan_id>/", plan_detail, name="transfer_plan"),
    path("transfers/routes/", routes, name="transfer_routes"),
    path("transfers/<str:number>/", transfer_detail, name="transfer"),
    path("transfers/<str:number>/<str:action>/", transfer_action, name="transfer_action"),
]
