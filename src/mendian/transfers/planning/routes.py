"""Vehicle routes for the day's shipped transfers: a pickup-and-delivery problem with vehicle
capacity (cases or volume), a depot where vehicles start and end, time windows from the locations'
opening hours and a shift length, solved with OR-Tools routing under a time limit.

Each transfer is one task: pick up its load at the sender, deliver it to the receiver, on the same
vehicle, pickup first. The objective is distance plus a fixed cost per vehicle used, so fewer
vehicles come first. The comparison is the naive plan: one depot round trip per transfer
(depot → sender → receiver → depot). Tasks that cannot be served (a window that cannot be met, a
load above the capacity) are dropped and reported, never silently lost.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .problem import EARTH_RADIUS_KM


@dataclass(frozen=True)
class RouteSite:
    id: int
    lat: float
    lon: float
    opens_min: int | None = None   # minutes after midnight; None: always open
    closes_min: int | None = None


@dataclass(frozen=True)
class RouteTask:
    ref: str          # the transfer order number
    pickup_id: int
    delivery_id: int
    load: int         # cases (or volume units), ≥ 1


@dataclass(frozen=True)
class RouteStop:
    location_id: int
    lat: float
    lon: float
    action: str               # "start", "pickup", "delivery", "end"
    task_ref: str | None
    arrive_min: int
    load_after: int


@dataclass(frozen=True)
class VehicleRoute:
    vehicle: int
    stops: list[RouteStop]
    distance_km: float
    duration_min: int


@dataclass(frozen=True)
class RoutePlan:
    routes: list[VehicleRoute]
    distance_km: float
    vehicles: int
    naive_km: float
    naive_trips: int
    dropped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    status: str = ""

    @property
    def distance_ratio(self) -> float:
        return self.distance_km / self.naive_km if self.naive_km else 0.0


def _km_matrix(lat: np.ndarray, lon: np.ndarray, road_factor: float) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    dphi = la[:, None] - la[None, :]
    dl = lo[:, None] - lo[None, :]
    a = np.sin(dphi / 2) ** 2 + np.cos(la)[:, None] * np.cos(la)[None, :] * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1))) * road_factor


def plan_routes(*, sites: Sequence[RouteSite], depot_id: int, tasks: Sequence[RouteTask], vehicle_capacity: int,
                max_vehicles: int | None = None, speed_kmh: float = 30.0, service_min: int = 10,
                shift_start_min: int = 7 * 60, shift_end_min: int = 19 * 60, road_factor: float = 1.3,
                distance_km: Mapping[tuple[int, int], float] | None = None, vehicle_fixed_km: float = 200.0,
                time_limit: float = 5.0, first_solution: str | None = None) -> RoutePlan:
    """Plan the routes; ``vehicle_fixed_km`` is what one more vehicle costs, in km of driving.
    ``first_solution``: an OR-Tools first-solution strategy name (default: parallel cheapest
    insertion; above 200 tasks it considers only insertions next to a node's nearest neighbours)."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    t0 = time.perf_counter()
    by_id = {s.id: s for s in sites}
    tasks = list(tasks)
    served = [t for t in tasks if t.load <= vehicle_capacity and t.pickup_id in by_id and t.delivery_id in by_id]
    dropped = [t.ref for t in tasks if t not in served]
    depot = by_id[depot_id]
    # nodes: 0 = depot, then a pickup node and a delivery node per task
    node_site = [depot] + [by_id[x] for t in served for x in (t.pickup_id, t.delivery_id)]
    lat = np.array([s.lat for s in node_site], dtype=float)
    lon = np.array([s.lon for s in node_site], dtype=float)
    km = _km_matrix(lat, lon, road_factor)
    if distance_km:
        for i, a in enumerate(node_site):
            for j, b in enumerate(node_site):
                v = distance_km.get((a.id, b.id))
                if v is not None:
                    km[i, j] = v
    naive = sum(km[0, 2 * k + 1] + km[2 * k + 1, 2 * k + 2] + km[2 * k + 2, 0] for k in range(len(served)))
    if not served:
        return RoutePlan([], 0.0, 0, 0.0, 0, dropped, time.perf_counter() - t0, "no tasks")
    n = len(node_site)
    meters = np.rint(km * 1000).astype(np.int64)
    minutes = np.ceil(km / speed_kmh * 60).astype(np.int64)
    service = np.full(n, service_min, dtype=np.int64)
    service[0] = 0
    travel_plus_service = minutes + service[:, None]
    fleet = max_vehicles or _fleet_bound(served, minutes, service_min, shift_end_min - shift_start_min, vehicle_capacity)
    manager = pywrapcp.RoutingIndexManager(n, fleet, 0)
    routing = pywrapcp.RoutingModel(manager)
    dist_cb = routing.RegisterTransitMatrix(meters.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)
    routing.SetFixedCostOfAllVehicles(int(vehicle_fixed_km * 1000))
    demand = [0] + [x for t in served for x in (t.load, -t.load)]
    dem_cb = routing.RegisterUnaryTransitVector(demand)
    routing.AddDimensionWithVehicleCapacity(dem_cb, 0, [vehicle_capacity] * fleet, True, "load")
    time_cb = routing.RegisterTransitMatrix(travel_plus_service.tolist())
    routing.AddDimension(time_cb, 24 * 60, shift_end_min, False, "time")
    tdim = routing.GetDimensionOrDie("time")
    for v in range(fleet):
        tdim.CumulVar(routing.Start(v)).SetRange(shift_start_min, shift_end_min)
        tdim.CumulVar(routing.End(v)).SetRange(shift_start_min, shift_end_min)
    for node in range(1, n):
        s = node_site[node]
        lo = max(shift_start_min, s.opens_min if s.opens_min is not None else 0)
        hi = min(shift_end_min, s.closes_min if s.closes_min is not None else 24 * 60)
        idx = manager.NodeToIndex(node)
        if lo <= hi:
            tdim.CumulVar(idx).SetRange(lo, hi)
        else:
            tdim.CumulVar(idx).SetRange(shift_start_min, shift_start_min)  # cannot be met: will be dropped
    drop_penalty = int(10 * (vehicle_fixed_km + float(km.max()) * 4) * 1000)
    for k in range(len(served)):
        p, d = manager.NodeToIndex(2 * k + 1), manager.NodeToIndex(2 * k + 2)
        routing.AddPickupAndDelivery(p, d)
        routing.solver().Add(routing.VehicleVar(p) == routing.VehicleVar(d))
        routing.solver().Add(tdim.CumulVar(p) <= tdim.CumulVar(d))
        routing.AddDisjunction([p, d], drop_penalty, 2)
    params = pywrapcp.DefaultRoutingSearchParameters()
    strategy = first_solution or "PARALLEL_CHEAPEST_INSERTION"
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, strategy)
    if len(served) > 200:
        # insertion positions only next to the nearest nodes: the first route of 500 tasks in a few
        # seconds instead of most of the budget (its full scan is quadratic in the nodes)
        gci = params.global_cheapest_insertion_first_solution_parameters
        gci.neighbors_ratio = max(0.05, 60.0 / n)
        gci.min_neighbors = 30
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    remaining = max(0.5, time_limit - (time.perf_counter() - t0) - 0.3)
    params.time_limit.FromMilliseconds(int(remaining * 1000))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return RoutePlan([], 0.0, 0, round(naive, 3), len(served), dropped + [t.ref for t in served],
                         time.perf_counter() - t0, "no solution")
    routes: list[VehicleRoute] = []
    ldim = routing.GetDimensionOrDie("load")
    seen: set[int] = set()
    for v in range(fleet):
        idx = routing.Start(v)
        if routing.IsEnd(solution.Value(routing.NextVar(idx))):
            continue
        stops: list[RouteStop] = []
        dist = 0.0
        while True:
            node = manager.IndexToNode(idx)
            s = node_site[node]
            if routing.IsEnd(idx):
                action, ref = "end", None
            elif node == 0:
                action, ref = "start", None
            else:
                k = (node - 1) // 2
                action, ref = ("pickup" if node % 2 == 1 else "delivery"), served[k].ref
                seen.add(k)
            after = int(solution.Value(ldim.CumulVar(idx))) + (demand[node] if action in ("pickup", "delivery") else 0)
            stops.append(RouteStop(s.id, s.lat, s.lon, action, ref, int(solution.Value(tdim.CumulVar(idx))), after))
            if routing.IsEnd(idx):
                break
            nxt = solution.Value(routing.NextVar(idx))
            dist += km[node, manager.IndexToNode(nxt)]
            idx = nxt
        routes.append(VehicleRoute(len(routes) + 1, stops, round(dist, 3), stops[-1].arrive_min - stops[0].arrive_min))
    dropped += [served[k].ref for k in range(len(served)) if k not in seen]
    total = sum(r.distance_km for r in routes)
    return RoutePlan(routes=routes, distance_km=round(total, 3), vehicles=len(routes), naive_km=round(naive, 3),
                     naive_trips=len(served), dropped=dropped, seconds=time.perf_counter() - t0,
                     status=routing.status() and str(routing.status()) or "")


def _fleet_bound(served: Sequence[RouteTask], minutes: np.ndarray, service_min: int, shift_min: int,
                 capacity: int) -> int:
    """Vehicles the model offers: one per task is exact but makes the model (two nodes per vehicle)
    and every insertion heuristic scan hundreds of empty vehicles; instead twice a lower bound on the
    vehicles needed (driving each pickup → delivery leg plus two stops, over the shift; loads over
    the capacity) plus a few, never more than the tasks. Fewer vehicles than needed would drop tasks
    (penalised, reported): the caller may pass ``max_vehicles``."""
    k = np.arange(len(served))
    legs = minutes[2 * k + 1, 2 * k + 2] + 2 * service_min
    time_lb = float(legs.sum()) / max(1, shift_min)
    load_lb = sum(t.load for t in served) / max(1, capacity)
    return int(min(len(served), np.ceil(2 * max(time_lb, load_lb)) + 3))


def minutes_of(t) -> int | None:
    """A ``datetime.time`` (opening hours) as minutes after midnight."""
    return None if t is None else t.hour * 60 + t.minute


__all__ = ["RouteSite", "RouteTask", "RouteStop", "VehicleRoute", "RoutePlan", "plan_routes", "minutes_of"]
