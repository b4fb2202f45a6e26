#!/usr/bin/env python
"""Forecast throughput and accuracy: N daily series × 2 years, forecast plus rolling-origin CV.

    .venv/bin/python bench/forecast.py                       # 10,000 synthetic series, n_jobs 1 vs 2
    .venv/bin/python bench/forecast.py --series 2000 --sample 400 --drivers-sample 400
    .venv/bin/python bench/forecast.py --demo                # + the demo chain through the database

What it does:
1. generates the synthetic chain (``mendian.planning.forecasting.synthetic``: weekly pattern, yearly
   swing, Chinese holiday peaks with the moved working weekends, promotions, temperature-sensitive
   SKUs, 35% intermittent slow movers, stock-out days) — ``--series`` series of ``--days`` days, ending
   2026-09-30, with the true demand of the next 28 days kept aside;
2. times the engine on a ``--sample`` of series in one process and in a pool of 2 processes, then runs
   the whole set with ``--n-jobs`` processes: classification, driver estimation, 2-window rolling-origin
   CV (the model is chosen on window 1 and scored on window 2, which the choice did not see), the final
   fit and the 28-day forecast. Wall and CPU seconds (this process + its children) are printed: the
   machine's 2 cores may be shared, and CPU seconds show what the work costs;
3. accuracy on the scored window: WAPE, MASE and bias of the chosen models against seasonal naive, and
   the two other ways to choose (the class champion alone; each series' own best on window 1);
4. the drivers: the same scored-window WAPE with each driver's multiplier removed, on a sample at two
   forecast origins (end of February: Spring Festival in the window; end of September: Mid-Autumn and
   the eve of National Day), with the opt-in ``yearly`` driver switched on to measure it too;
5. (``--demo``) seeds a demo chain into a fresh SQLite database in a temporary folder and runs a
   forecast run through the services (database reads, chunked saves, stock policies);
6. the last line is one JSON object: ``series``, ``seconds``, ``wape``, ``wape_snaive`` and more.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from mendian.planning.forecasting.engine import (  # noqa: E402
    ALL_DRIVERS,
    ForecastConfig,
    aggregate,
    chunked,
    run_chunks,
)
from mendian.planning.forecasting.synthetic import make_chain  # noqa: E402


def cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime


def timed(inputs, cfg, n_jobs, chunk):
    w0, c0 = time.perf_counter(), cpu_seconds()
    res = run_chunks(chunked(inputs, chunk), cfg, n_jobs=n_jobs)
    return res, time.perf_counter() - w0, cpu_seconds() - c0


def chain_for(series: int, days: int, seed: int, end: dt.date, horizon: int):
    skus = min(200, series)
    stores = max(1, -(-series // skus))
    return make_chain(stores=stores, skus=skus, days=days, horizon=horizon, seed=seed, end=end)[:series]


def demo_run(args) -> dict:
    """Seed a demo chain into a temporary SQLite database and run a forecast through the services."""
    var = Path(tempfile.mkdtemp(prefix="mendian-forecast-bench-"))
    os.environ["MENDIAN_VAR_DIR"] = str(var)
    os.environ["DATABASE_URL"] = f"sqlite:///{var}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mendian.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from mendian.demo.generate import demo_chain_seed
    from mendian.planning import services

    call_command("migrate", verbosity=0)
    t = time.perf_counter()
    demo_chain_seed(stores=args.demo_stores, skus=args.demo_skus, days=args.demo_days, seed=42, var_dir=var,
                    with_orders=False)
    seeded = time.perf_counter() - t
    run = services.forecast_run_create(horizon=args.horizon, n_jobs=args.n_jobs, history_days=args.demo_days)
    w0, c0 = time.perf_counter(), cpu_seconds()
    run = services.forecast_run_execute(run_id=run.pk, n_jobs=args.n_jobs)
    wall, cpu = time.perf_counter() - w0, cpu_seconds() - c0
    s = run.summary
    return {"stores": args.demo_stores, "skus": args.demo_skus, "days": args.demo_days, "seed_seconds": round(seeded, 1),
            "series": s.get("series"), "seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
            "series_per_second": round(s.get("series", 0) / wall, 2), "wape": s.get("wape"),
            "wape_snaive": s.get("wape_snaive"), "mase": s.get("mase"), "mase_snaive": s.get("mase_snaive"),
            "bias": s.get("bias"), "models": s.get("models"), "classes": s.get("classes"), "abc": s.get("abc"),
            "drivers": s.get("drivers")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--horizon", type=int, default=28)
    ap.add_argument("--n-windows", type=int, default=2)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=250)
    ap.add_argument("--sample", type=int, default=1000, help="series for the n_jobs 1 vs 2 timing")
    ap.add_argument("--drivers-sample", type=int, default=1000, help="series for the driver study (0: skip)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--demo", action="store_true", help="also run a seeded demo chain through the database")
    ap.add_argument("--skip-main", action="store_true", help="only the driver study (and --demo)")
    ap.add_argument("--demo-stores", type=int, default=10)
    ap.add_argument("--demo-skus", type=int, default=300)
    ap.add_argument("--demo-days", type=int, default=400)
    args = ap.parse_args()

    cfg = ForecastConfig(horizon=args.horizon, n_windows=args.n_windows)
    end = dt.date(2026, 9, 30)
    t = time.perf_counter()
    chain = chain_for(args.series, args.days, args.seed, end, args.horizon)
    inputs = [c.inp for c in chain]
    print(f"generated {len(inputs)} series × {args.days} days in {time.perf_counter() - t:.1f} s", flush=True)

    out: dict = {"series": len(inputs), "days": args.days, "horizon": args.horizon, "n_windows": args.n_windows}
    if args.skip_main:
        inputs = []
    sample = inputs[:: max(1, len(inputs) // args.sample)][: args.sample] if inputs else []
    for n_jobs in ((1, 2) if inputs else ()):
        _, wall, cpu = timed(sample, cfg, n_jobs, args.chunk)
        out[f"sample_series_per_second_n_jobs_{n_jobs}"] = round(len(sample) / wall, 2)
        out[f"sample_cpu_ms_per_series_n_jobs_{n_jobs}"] = round(1000 * cpu / len(sample), 1)
        print(f"sample of {len(sample)}: n_jobs={n_jobs}: {len(sample) / wall:.1f} series/s "
              f"(wall {wall:.1f} s, CPU {cpu:.1f} s)", flush=True)

    if not inputs:
        return after_main(args, out, end)
    res, wall, cpu = timed(inputs, cfg, args.n_jobs, args.chunk)
    agg = aggregate(res)
    print(f"all {len(inputs)} series, n_jobs={args.n_jobs}: {wall:.1f} s wall, {cpu:.1f} s CPU, "
          f"{len(inputs) / wall:.1f} series/s", flush=True)
    print(f"scored window (not seen by the choice): WAPE {agg['wape']} vs seasonal naive {agg['wape_snaive']} "
          f"({100 * (1 - agg['wape'] / agg['wape_snaive']):.1f}% lower); MASE {agg['mase']} vs {agg['mase_snaive']}; "
          f"bias {agg['bias']} vs {agg['bias_snaive']}", flush=True)
    print(f"choice: class champion unless beaten by 15% {agg['wape']}, class champion alone {agg['wape_champion']}, "
          f"each series' own best on window 1 {agg['wape_best_in_selection']}", flush=True)
    print(f"models {agg['models']}  classes {agg['classes']}", flush=True)
    out.update(seconds=round(wall, 1), cpu_seconds=round(cpu, 1), series_per_second=round(len(inputs) / wall, 2),
               n_jobs=args.n_jobs, wape=agg["wape"], wape_snaive=agg["wape_snaive"], mase=agg["mase"],
               mase_snaive=agg["mase_snaive"], bias=agg["bias"], bias_snaive=agg["bias_snaive"],
               wape_champion_only=agg["wape_champion"], wape_own_best=agg["wape_best_in_selection"],
               models=agg["models"], classes=agg["classes"])
    after_main(args, out, end)


def after_main(args, out: dict, end: dt.date) -> None:
    if args.drivers_sample:
        study = {}
        for origin in (dt.date(2026, 2, 28), end):
            sub = chain_for(args.drivers_sample, args.days, args.seed + 1, origin, args.horizon)
            r = aggregate(run_chunks(chunked([c.inp for c in sub], args.chunk),
                                     ForecastConfig(horizon=args.horizon, n_windows=args.n_windows, drivers=ALL_DRIVERS),
                                     n_jobs=args.n_jobs))
            study[origin.isoformat()] = {"wape": r["wape"], "wape_snaive": r["wape_snaive"], "bias": r["bias"],
                                         "drivers": r["drivers"], "by_pattern": r["drivers_by_pattern"]}
            print(f"drivers, origin {origin}: " + ", ".join(
                f"{g} {d['wape_without']}→{d['wape_with']} ({d['series']} series)" for g, d in sorted(r["drivers"].items())),
                flush=True)
            for pattern, table in r["drivers_by_pattern"].items():
                print(f"    {pattern}: " + ", ".join(f"{g} {d['wape_without']}→{d['wape_with']} ({d['series']})"
                                                  for g, d in sorted(table.items())), flush=True)
        out["drivers"] = study

    if args.demo:
        demo = demo_run(args)
        print(f"demo chain ({demo['stores']} stores × {demo['skus']} SKUs, {demo['days']} days): {demo['series']} series "
              f"in {demo['seconds']} s ({demo['series_per_second']} series/s); WAPE {demo['wape']} vs seasonal naive "
              f"{demo['wape_snaive']}", flush=True)
        out["demo"] = demo
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
