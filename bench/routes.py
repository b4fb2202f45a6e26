"""Benchmark of the transfer routes (issue 5): 50, 200 and 500 transfer tasks in a city of about
100 stores around Kunming, one depot (the city's warehouse), vehicles of 30 cases, a 12-hour shift,
30 km/h and 10 minutes per stop, stores open 08:00–22:00. Prints distance and vehicles against one
depot round trip per transfer, and solve time. The last line is one JSON object.

    .venv/bin/python bench/routes.py [--tasks 50,200,500] [--limits 5,5,30]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mendian.transfers.planning.routes import RouteSite, RouteTask, plan_routes  # noqa: E402

KUNMING = (25.0406, 102.7123)


def city(stores: int, seed: int) -> list[RouteSite]:
    rng = np.random.default_rng(seed)
    lat = KUNMING[0] + rng.normal(0, 1, stores) * 9 / 111.0
    lon = KUNMING[1] + rng.normal(0, 1, stores) * 9 / (111.0 * np.cos(np.radians(KUNMING[0])))
    sites = [RouteSite(0, KUNMING[0] + 0.08, KUNMING[1] - 0.08)]  # the warehouse, the depot
    sites += [RouteSite(i + 1, float(lat[i]), float(lon[i]), opens_min=8 * 60, closes_min=22 * 60) for i in range(stores)]
    return sites


def tasks_for(n: int, stores: int, seed: int) -> list[RouteTask]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        a, b = rng.choice(stores, size=2, replace=False) + 1
        out.append(RouteTask(f"TR{k:04d}", int(a), int(b), int(rng.integers(1, 7))))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", default="50,200,500")
    ap.add_argument("--limits", default="5,5,30", help="time limit per run, seconds")
    ap.add_argument("--stores", type=int, default=100)
    ap.add_argument("--capacity", type=int, default=30)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--first-solution", default=None, help="an OR-Tools FirstSolutionStrategy name (default: auto)")
    args = ap.parse_args()
    sites = city(args.stores, args.seed)
    runs = []
    for n, limit in zip([int(x) for x in args.tasks.split(",")], [float(x) for x in args.limits.split(",")], strict=True):
        tasks = tasks_for(n, args.stores, args.seed + n)
        t, c = time.perf_counter(), time.process_time()
        plan = plan_routes(sites=sites, depot_id=0, tasks=tasks, vehicle_capacity=args.capacity, time_limit=limit,
                           first_solution=args.first_solution)
        wall = time.perf_counter() - t
        cpu = time.process_time() - c
        run = {"tasks": n, "seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "distance_km": round(plan.distance_km, 1),
               "naive_km": round(plan.naive_km, 1), "vehicles": plan.vehicles, "naive_trips": plan.naive_trips,
               "ratio": round(plan.distance_ratio, 3), "dropped": len(plan.dropped)}
        runs.append(run)
        print(f"{n:4d} tasks: {plan.distance_km:8.1f} km with {plan.vehicles} vehicles vs naive {plan.naive_km:8.1f} km "
              f"in {plan.naive_trips} trips → {plan.distance_ratio:.3f} of the distance; {wall:.1f} s wall, {cpu:.1f} s CPU "
              f"(limit {limit:.0f} s), dropped {len(plan.dropped)}", flush=True)
    print(json.dumps({"runs": runs}))


if __name__ == "__main__":
    main()
