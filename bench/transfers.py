"""Benchmark of the transfer planner (issue 5).

Generates chains of 300, 1,000 and 3,000 stores clustered around real cities of south-west China
with a few warehouses, 500 SKUs with shortages and excesses and mixed pack sizes; plans each with a
3 s budget (and again with 30 s, the "same planner given more time" reference); prints solve time,
objective, lane-blind objective, units of need met vs meetable, and — for a city-sized instance — the
gap to a HiGHS MIP lower bound. The last line is one JSON object.

    .venv/bin/python bench/transfers.py [--sizes 300,1000,3000] [--skus 500] [--budget 2.5]
        [--long 30] [--mip-seconds 120] [--city-stores 70]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mendian.transfers.planning.mip import mip_lower_bound  # noqa: E402
from mendian.transfers.planning.planner import meetable_units, plan_transfers  # noqa: E402
from mendian.transfers.planning.problem import CostParams, TransferProblem  # noqa: E402

# (name, lat, lon, weight): cities of Yunnan, Guizhou, Sichuan, Chongqing, Guangxi
CITIES = [
    ("Kunming", 25.0406, 102.7123, 10), ("Qujing", 25.4900, 103.7961, 3), ("Yuxi", 24.3505, 102.5439, 3),
    ("Dali", 25.6065, 100.2676, 3), ("Lijiang", 26.8721, 100.2299, 2), ("Chuxiong", 25.0451, 101.5281, 2),
    ("Mengzi", 23.3963, 103.3749, 2), ("Zhaotong", 27.3382, 103.7172, 2), ("Baoshan", 25.1120, 99.1618, 1),
    ("Guiyang", 26.6470, 106.6302, 8), ("Zunyi", 27.7254, 106.9272, 4), ("Anshun", 26.2531, 105.9476, 2),
    ("Chengdu", 30.5728, 104.0668, 14), ("Mianyang", 31.4675, 104.6796, 3), ("Leshan", 29.5521, 103.7656, 2),
    ("Yibin", 28.7513, 104.6417, 2), ("Chongqing", 29.5630, 106.5516, 14), ("Nanning", 22.8170, 108.3665, 8),
    ("Liuzhou", 24.3264, 109.4281, 3), ("Guilin", 25.2736, 110.2900, 3),
]
WAREHOUSE_CITIES = ["Kunming", "Dali", "Guiyang", "Chengdu", "Chongqing", "Nanning", "Qujing", "Zunyi"]

COSTS = CostParams()  # ¥0.005 per unit·km, road factor 1.3, ¥30 per lane, ¥0.20 handling, ¥60 unmet, 150 km


def cities_for(stores: int) -> list:
    """A chain grows out of its home province: 300 stores in Yunnan, 1,000 with Guizhou, 3,000 across
    the south-west."""
    if stores <= 400:
        return CITIES[:9]
    if stores <= 1500:
        return CITIES[:12]
    return CITIES


def generate(stores: int, skus: int, seed: int, *, cities=None, warehouses: int | None = None) -> TransferProblem:
    rng = np.random.default_rng(seed)
    cities = cities or cities_for(stores)
    w = np.array([c[3] for c in cities], dtype=float)
    city_of = rng.choice(len(cities), size=stores, p=w / w.sum())
    clat = np.array([c[1] for c in cities])[city_of]
    clon = np.array([c[2] for c in cities])[city_of]
    spread_km = np.array([3 + 1.2 * c[3] for c in cities])[city_of]  # bigger cities sprawl more
    lat = clat + rng.normal(0, 1, stores) * spread_km / 111.0
    lon = clon + rng.normal(0, 1, stores) * spread_km / (111.0 * np.cos(np.radians(clat)))
    names = [c[0] for c in cities]
    wh_names = [n for n in WAREHOUSE_CITIES if n in names][: warehouses if warehouses is not None else 8]
    wh_lat = np.array([cities[names.index(n)][1] + 0.08 for n in wh_names])
    wh_lon = np.array([cities[names.index(n)][2] - 0.08 for n in wh_names])
    n_loc = stores + len(wh_names)
    lat_all = np.concatenate((lat, wh_lat))
    lon_all = np.concatenate((lon, wh_lon))
    is_wh = np.zeros(n_loc, dtype=bool)
    is_wh[stores:] = True
    # SKU popularity and pack sizes: most SKUs move by the piece, some by inner packs or cases
    packs = rng.choice([1, 1, 1, 1, 2, 6, 12], size=skus)
    popularity = rng.gamma(1.2, 1.0, size=skus)
    popularity /= popularity.mean()
    # stores differ: some are chronically overstocked (slow stores), some run short (busy ones)
    over_factor = rng.lognormal(0.0, 0.6, stores)
    short_factor = rng.lognormal(0.0, 0.4, stores)
    rows_loc, rows_sku, rows_need, rows_exc = [], [], [], []
    for s in range(skus):
        pop = popularity[s]
        short = rng.random(stores) < np.minimum(0.5, 0.05 * pop * short_factor)
        over = (~short) & (rng.random(stores) < np.minimum(0.6, 0.10 * pop * over_factor))
        n_short = int(short.sum())
        n_over = int(over.sum())
        need = np.ceil(rng.gamma(1.5, 4.0 * pop, n_short)).astype(np.int64) + 1
        exc = np.ceil(rng.gamma(1.5, 6.0 * pop, n_over)).astype(np.int64) + packs[s]
        rows_loc += [np.nonzero(short)[0], np.nonzero(over)[0]]
        rows_sku += [np.full(n_short, s), np.full(n_over, s)]
        rows_need += [need, np.zeros(n_over, dtype=np.int64)]
        rows_exc += [np.zeros(n_short, dtype=np.int64), exc]
        wh_has = rng.random(len(wh_names)) < 0.6  # a DC stocks most of the assortment
        if wh_has.any():
            k = int(wh_has.sum())
            rows_loc.append(stores + np.nonzero(wh_has)[0])
            rows_sku.append(np.full(k, s))
            rows_need.append(np.zeros(k, dtype=np.int64))
            rows_exc.append(np.ceil(rng.gamma(2.0, 25.0 * pop, k)).astype(np.int64) + packs[s])
    return TransferProblem(
        loc_ids=np.arange(1, n_loc + 1, dtype=np.int64), lat=lat_all, lon=lon_all, is_warehouse=is_wh,
        pos_loc=np.concatenate(rows_loc).astype(np.int64), pos_sku=np.concatenate(rows_sku).astype(np.int64) + 1,
        pos_need=np.concatenate(rows_need).astype(np.int64), pos_excess=np.concatenate(rows_exc).astype(np.int64),
        pack_sizes={s + 1: int(packs[s]) for s in range(skus)}, costs=COSTS,
    )


def city_instance(stores: int, skus: int, seed: int) -> TransferProblem:
    """About ``stores`` stores around Kunming with one warehouse."""
    return generate(stores, skus, seed, cities=[CITIES[0]], warehouses=1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="300,1000,3000")
    ap.add_argument("--skus", type=int, default=500)
    ap.add_argument("--budget", type=float, default=2.5, help="planner time limit, seconds")
    ap.add_argument("--long", type=float, default=30.0, help="time limit of the reference run")
    ap.add_argument("--mip-seconds", type=float, default=120.0)
    ap.add_argument("--city-stores", type=int, default=70)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=2, help="2: the lane-blind comparison plan runs in a second process")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="cpu: time limits in CPU seconds (a machine shared with other jobs)")
    args = ap.parse_args()
    runs = []
    for n in [int(x) for x in args.sizes.split(",") if x]:
        prob = generate(n, args.skus, args.seed + n)
        load = os.getloadavg()[0]
        t, c0, k0 = time.perf_counter(), time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
        res = plan_transfers(prob, time_limit=args.budget, workers=args.workers, clock=args.clock)
        wall = time.perf_counter() - t
        cpu_main = time.process_time() - c0
        k1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_child = (k1.ru_utime + k1.ru_stime) - (k0.ru_utime + k0.ru_stime)
        long_res = plan_transfers(prob, time_limit=args.long, workers=args.workers, clock=args.clock) if args.long > 0 else res
        meetable = meetable_units(prob)
        moved = res.cost.total - res.cost.unmet_penalty
        moved_blind = res.lane_blind.total - res.lane_blind.unmet_penalty
        run = {"stores": n, "skus": args.skus, "seconds": round(wall, 3), "objective": str(res.cost.total),
               "cpu_main_s": round(cpu_main, 2), "cpu_lane_blind_process_s": round(cpu_child, 2),
               "load_avg": round(load, 1),
               "transfer_cost": str(moved), "lane_blind_transfer_cost": str(moved_blind),
               "transfer_cost_saving_pct": round(float((moved_blind - moved) / moved_blind * 100), 2) if moved_blind else 0.0,
               "lane_blind_objective": str(res.lane_blind.total), "objective_30s": str(long_res.cost.total),
               "need_units": res.need_units, "met_units": res.met_units, "meetable_units": meetable,
               "saving_pct": res.saving_pct, "lanes": res.cost.lane_count, "lane_blind_lanes": res.lane_blind.lane_count,
               "moves": len(res.moves), "candidate_arcs": res.candidate_arcs, "rounds": res.rounds,
               "vs_30s_pct": round(float((res.cost.total - long_res.cost.total) / long_res.cost.total * 100), 2)}
        runs.append(run)
        print(f"{n:5d} stores × {args.skus} SKUs: {wall:.2f} s wall (CPU: planner {cpu_main:.2f} s, lane-blind "
              f"process {cpu_child:.2f} s; load average {load:.1f}), objective ¥{res.cost.total} "
              f"(transport {res.cost.transport}, lanes {res.cost.lanes} [{res.cost.lane_count}], "
              f"handling {res.cost.handling}, unmet {res.cost.unmet_penalty}); lane-blind ¥{res.lane_blind.total} "
              f"[{res.lane_blind.lane_count} lanes] → saving {res.saving_pct}% (transfer cost without the penalty of "
              f"unmeetable need: {run['transfer_cost_saving_pct']}%); {args.long:.0f} s run ¥{long_res.cost.total} "
              f"({run['vs_30s_pct']}% above); need {res.need_units}, met {res.met_units}, meetable {meetable}; "
              f"{res.candidate_arcs} arcs, {res.rounds} rounds", flush=True)
    city = None
    if args.mip_seconds > 0:
        prob = city_instance(args.city_stores, args.skus, args.seed)
        res = plan_transfers(prob, time_limit=args.budget, clock=args.clock)
        bound = mip_lower_bound(prob, time_limit=args.mip_seconds)
        gap = float((res.cost.total - bound.bound) / res.cost.total * 100) if res.cost.total else 0.0
        city = {"stores": args.city_stores, "skus": args.skus, "objective": str(res.cost.total),
                "mip_bound": str(bound.bound), "mip_incumbent": str(bound.incumbent) if bound.incumbent is not None else None,
                "gap_pct": round(gap, 2), "mip_seconds": round(bound.seconds, 1), "planner_seconds": round(res.seconds, 3),
                "lane_blind_objective": str(res.lane_blind.total)}
        print(f"city of {args.city_stores} stores × {args.skus} SKUs: planner ¥{res.cost.total} in {res.seconds:.2f} s; "
              f"MIP lower bound ¥{bound.bound} after {bound.seconds:.0f} s (MIP incumbent {bound.incumbent}) → gap {gap:.2f}%",
              flush=True)
    print(json.dumps({"runs": runs, "city_mip": city}))


if __name__ == "__main__":
    main()
