"""Vehicle routes for shipped transfers (pure, OR-Tools routing)."""

from __future__ import annotations

from mendian.transfers.planning.routes import RouteSite, RouteTask, plan_routes

KM = 1 / 111.195
LAT, LON = 25.0, 102.7


def s(i: int, north: float, east: float = 0.0, **kw) -> RouteSite:
    return RouteSite(i, LAT + north * KM, LON + east * KM, **kw)


def _check_route_rules(plan, tasks, capacity):
    seen = {}
    for r in plan.routes:
        assert r.stops[0].action == "start" and r.stops[-1].action == "end"
        load = 0
        for pos, st in enumerate(r.stops):
            if st.action == "pickup":
                load += next(t.load for t in tasks if t.ref == st.task_ref)
                seen.setdefault(st.task_ref, {})["pickup"] = (r.vehicle, pos)
            elif st.action == "delivery":
                load -= next(t.load for t in tasks if t.ref == st.task_ref)
                seen.setdefault(st.task_ref, {})["delivery"] = (r.vehicle, pos)
            assert 0 <= load <= capacity
            assert st.load_after == load
    for ref, where in seen.items():
        assert where["pickup"][0] == where["delivery"][0], ref  # same vehicle
        assert where["pickup"][1] < where["delivery"][1], ref   # pickup first
    return seen


def test_every_pickup_comes_before_its_delivery_on_one_vehicle_within_capacity():
    sites = [s(0, 0), s(1, 5), s(2, 6), s(3, -4), s(4, -5), s(5, 2, 3), s(6, 3, 4)]
    tasks = [RouteTask("T1", 1, 2, 4), RouteTask("T2", 3, 4, 4), RouteTask("T3", 5, 6, 4), RouteTask("T4", 2, 3, 3)]
    plan = plan_routes(sites=sites, depot_id=0, tasks=tasks, vehicle_capacity=5, time_limit=1)
    seen = _check_route_rules(plan, tasks, 5)
    assert set(seen) == {"T1", "T2", "T3", "T4"} and plan.dropped == []
    assert plan.distance_km < plan.naive_km
    assert plan.naive_trips == 4


def test_merged_routes_use_fewer_vehicles_and_less_distance_than_one_trip_per_transfer():
    sites = [s(0, 0)] + [s(i, 10 + i * 0.3, i * 0.2) for i in range(1, 11)]
    tasks = [RouteTask(f"T{i}", i, i + 1, 1) for i in range(1, 10)]
    plan = plan_routes(sites=sites, depot_id=0, tasks=tasks, vehicle_capacity=20, time_limit=1)
    _check_route_rules(plan, tasks, 20)
    assert plan.vehicles == 1
    assert plan.distance_km < 0.25 * plan.naive_km


def test_opening_hours_are_time_windows():
    # the receiver opens at 14:00: the delivery cannot happen earlier
    sites = [s(0, 0), s(1, 3), s(2, 6, opens_min=14 * 60, closes_min=20 * 60)]
    plan = plan_routes(sites=sites, depot_id=0, tasks=[RouteTask("T1", 1, 2, 1)], vehicle_capacity=10, time_limit=1)
    delivery = next(st for r in plan.routes for st in r.stops if st.action == "delivery")
    pickup = next(st for r in plan.routes for st in r.stops if st.action == "pickup")
    assert delivery.arrive_min >= 14 * 60
    assert pickup.arrive_min >= 7 * 60


def test_a_load_above_the_vehicle_capacity_is_dropped_and_reported():
    sites = [s(0, 0), s(1, 3), s(2, 6)]
    tasks = [RouteTask("BIG", 1, 2, 50), RouteTask("OK", 1, 2, 5)]
    plan = plan_routes(sites=sites, depot_id=0, tasks=tasks, vehicle_capacity=10, time_limit=1)
    assert plan.dropped == ["BIG"]
    assert [st.task_ref for r in plan.routes for st in r.stops if st.task_ref] == ["OK", "OK"]


def test_a_window_that_cannot_be_met_drops_the_task():
    sites = [s(0, 0), s(1, 3), s(2, 6, opens_min=22 * 60, closes_min=23 * 60)]
    plan = plan_routes(sites=sites, depot_id=0, tasks=[RouteTask("LATE", 1, 2, 1)], vehicle_capacity=10, time_limit=1)
    assert plan.dropped == ["LATE"] and plan.routes == []
