"""Forecasts for batches of daily series: rolling-origin cross-validation, model choice, the horizon.

For each batch (a chunk of a run):

1. censored demand is imputed for fitting and masked for scoring (``censor``);
2. the series is classified (``classify``): smooth/erratic series compete among SeasonalNaive, a
   restricted ETS (statsforecast ``AutoETS(model="ANA")``: additive error, no trend, additive weekly
   season — one fit instead of the full search's 30) and Theta; intermittent/lumpy ones among
   SeasonalNaive, CrostonOptimized, ADIDA, IMAPA and TSB;
3. drivers (``drivers``) are estimated and divided out of the history; forecasts are multiplied back;
4. rolling-origin cross-validation over ``n_windows`` windows of ``horizon`` days, step = horizon.
   The model is chosen on the earlier windows and *scored on the last one*, which the choice did not
   see. Choice: the class champion of the batch (lowest mean scaled error of its class) unless the
   series' own best model beats it by ``selection_margin`` — choosing per series on a single window
   alone over-fits the window (measured in ``bench/forecast.py``);
5. the chosen model is refitted on the whole history and forecasts ``horizon`` days.

``run_chunks`` runs batches on any executor with ``submit`` → future (``concurrent.futures``
process pool, ``dask.distributed.Client``, Ray's ``ray.util.multiprocessing.Pool``-backed executor),
because ``forecast_batch`` is a pure, picklable function of plain data.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import classify
from .censor import censor_demand
from .drivers import DriverData, DriverEffects, estimate_effects, holiday_codes, yearly_shape
from .metrics import mase_scale

SMOOTH_MODELS = ("SeasonalNaive", "ETS", "Theta")
INTERMITTENT_MODELS = ("SeasonalNaive", "CrostonOptimized", "ADIDA", "IMAPA", "TSB")
ALL_DRIVERS = frozenset({"holidays", "promotions", "factors", "yearly"})
# "yearly" (last year's shape over the horizon) is opt-in: it removed the bias but did not lower WAPE
# on the synthetic chain (docs/benchmarks.md)
DEFAULT_DRIVERS = frozenset({"holidays", "promotions", "factors"})
SHORT_MODEL = "Mean28"


@dataclass(frozen=True)
class ForecastConfig:
    horizon: int = 28
    n_windows: int = 2
    season: int = 7
    selection_margin: float = 0.15
    drivers: frozenset[str] = DEFAULT_DRIVERS
    selection: str = "champion"  # "champion" (class champion unless beaten by the margin) | "series" | a model name
    history_days: int | None = None  # use only the last N days (None: all)
    fit_days: int | None = 364  # models see the last N days of the cleaned history (drivers use all of it)


@dataclass
class SeriesInput:
    key: Hashable
    start: dt.date
    sales: np.ndarray  # daily net sales, history (length n), ending the day before the forecast starts
    lost: np.ndarray | None = None
    stockout: np.ndarray | None = None
    promo: np.ndarray | None = None  # bool, length n + horizon
    factors: dict[str, np.ndarray] = field(default_factory=dict)  # float with nan, length n + horizon


@dataclass
class SeriesResult:
    key: Hashable
    demand_class: str
    adi: float | None
    cv2: float | None
    xyz: str
    xyz_cv: float | None
    model: str
    forecast: list[float]
    mase: float | None = None
    wape: float | None = None
    bias: float | None = None
    snaive_mase: float | None = None
    snaive_wape: float | None = None
    snaive_bias: float | None = None
    sigma: float = 0.0  # RMSE of daily forecast errors of the chosen model over the CV windows
    mean_daily: float = 0.0  # mean uncensored daily demand over the last 90 days
    history_days: int = 0
    censored_days: int = 0
    holdout: dict = field(default_factory=dict)  # sums on the scored window: for run-level aggregates
    candidates: dict = field(default_factory=dict)  # model -> scaled error on the selection windows
    drivers: dict = field(default_factory=dict)  # effects and the holdout error without each driver
    note: str = ""


def _make_model(name: str, season: int):
    from statsforecast.models import (
        ADIDA,
        IMAPA,
        TSB,
        AutoETS,
        CrostonOptimized,
        SeasonalNaive,
        Theta,
    )

    return {
        "SeasonalNaive": lambda: SeasonalNaive(season_length=season),
        "ETS": lambda: AutoETS(model="ANA", season_length=season, alias="ETS"),
        "Theta": lambda: Theta(season_length=season),
        "CrostonOptimized": lambda: CrostonOptimized(),
        "ADIDA": lambda: ADIDA(),
        "IMAPA": lambda: IMAPA(),
        "TSB": lambda: TSB(alpha_d=0.1, alpha_p=0.1),
    }[name]()


def _long_frame(ys: list[np.ndarray], ids: list[int]) -> pd.DataFrame:
    lens = [len(y) for y in ys]
    return pd.DataFrame({
        "unique_id": np.repeat(np.asarray(ids), lens),
        "ds": np.concatenate([np.arange(-n, 0) for n in lens]),  # every series ends at ds = -1
        "y": np.concatenate(ys).astype(float),
    })


def _statsforecast(models: list[str], season: int):
    from statsforecast import StatsForecast

    return StatsForecast(models=[_make_model(m, season) for m in models], freq=1, n_jobs=1)


@dataclass
class _Prepared:
    inp: SeriesInput
    y: np.ndarray
    observed: np.ndarray
    censored: np.ndarray
    pattern: classify.DemandPattern
    xyz: tuple[str, float | None]
    data: DriverData


def _prepare(inp: SeriesInput, cfg: ForecastConfig) -> _Prepared:
    sales = np.asarray(inp.sales, float)
    n_all = len(sales)
    cut = 0 if cfg.history_days is None else max(0, n_all - cfg.history_days)
    start = inp.start + dt.timedelta(days=cut)

    def tail(a: np.ndarray | None, extra: int = 0) -> np.ndarray | None:
        return None if a is None else np.asarray(a)[cut:n_all + extra]

    cs = censor_demand(sales[cut:], lost=tail(inp.lost), stockout=tail(inp.stockout), season=cfg.season)
    n = len(cs.y)
    last_year = slice(max(0, n - 365), n)
    pattern = classify.demand_pattern(cs.observed[last_year], cs.censored[last_year])
    xyz = classify.xyz_class(cs.observed[last_year], cs.censored[last_year])
    h = cfg.horizon
    data = DriverData(
        y=cs.y, censored=cs.censored, start=start,
        holidays=holiday_codes(start, n + h) if "holidays" in cfg.drivers else None,
        promo=(tail(inp.promo, h).astype(bool) if inp.promo is not None and "promotions" in cfg.drivers else None),
        factors=({k: tail(v, h).astype(float) for k, v in inp.factors.items()} if "factors" in cfg.drivers else {}),
    )
    return _Prepared(inp, cs.y, cs.observed, cs.censored, pattern, xyz, data)


def _mean_daily(p: _Prepared) -> float:
    obs = p.observed[-90:][~p.censored[-90:]]
    return float(obs.mean()) if len(obs) else 0.0


def _short_result(p: _Prepared, cfg: ForecastConfig) -> SeriesResult:
    n = len(p.y)
    recent = p.y[-28:] if n else np.zeros(1)
    level = float(recent.mean()) if len(recent) else 0.0
    sigma = float(recent.std()) if len(recent) > 1 else level ** 0.5
    return SeriesResult(
        key=p.inp.key, demand_class=p.pattern.demand_class, adi=p.pattern.adi, cv2=p.pattern.cv2,
        xyz=p.xyz[0], xyz_cv=p.xyz[1], model=SHORT_MODEL, forecast=[round(level, 4)] * cfg.horizon,
        sigma=round(max(sigma, 0.0), 4), mean_daily=round(_mean_daily(p), 4), history_days=n,
        censored_days=int(p.censored.sum()),
        note=f"history of {n} days is too short for {cfg.n_windows} cross-validation windows of {cfg.horizon} days: "
             "forecast = mean of the last 28 days",
    )


def forecast_batch(inputs: list[SeriesInput], cfg: ForecastConfig = ForecastConfig()) -> list[SeriesResult]:
    """Classify, cross-validate, choose and forecast every series of the batch (pure; no I/O)."""
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    h, W, m = cfg.horizon, cfg.n_windows, cfg.season
    prepared = [_prepare(inp, cfg) for inp in inputs]
    min_len = h * W + 4 * m
    cv_idx = [i for i, p in enumerate(prepared) if len(p.y) >= min_len and p.pattern.demand_class != classify.NO_DEMAND]
    results: dict[int, SeriesResult] = {i: _short_result(p, cfg) for i, p in enumerate(prepared) if i not in cv_idx}
    for i in results:
        if prepared[i].pattern.demand_class == classify.NO_DEMAND and len(prepared[i].y) >= min_len:
            results[i].note = "no demand observed in the last year: forecast 0"
            results[i].forecast = [0.0] * h
    if not cv_idx:
        return [results[i] for i in range(len(prepared))]

    cps = [prepared[i] for i in cv_idx]
    ns = [len(p.y) for p in cps]
    eff_cv = estimate_effects([p.data for p in cps], upto=[n - h * W for n in ns], use=cfg.drivers)
    eff_all = estimate_effects([p.data for p in cps], use=cfg.drivers)
    mult_cv = [e.multipliers(p.data, 0, n) for e, p, n in zip(eff_cv, cps, ns, strict=True)]
    adj_cv = [p.y / mu for p, mu in zip(cps, mult_cv, strict=True)]

    # --- cross-validation, one statsforecast call per candidate set ---------------------------
    preds: dict[int, dict[str, np.ndarray]] = {j: {} for j in range(len(cps))}  # j -> model -> (W, h)
    groups: dict[tuple[str, ...], list[int]] = {}
    for j, p in enumerate(cps):
        groups.setdefault(INTERMITTENT_MODELS if p.pattern.is_intermittent else SMOOTH_MODELS, []).append(j)
    for models, js in groups.items():
        df = _long_frame([_fit_tail(adj_cv[j], cfg, h * W) for j in js], js)
        cv = _statsforecast(list(models), m).cross_validation(df=df, h=h, n_windows=W, step_size=h)
        cv = cv.sort_values(["unique_id", "cutoff", "ds"])
        uids = cv["unique_id"].to_numpy()
        for name in models:
            vals = cv[name].to_numpy(dtype=float)
            for j in js:
                preds[j][name] = np.nan_to_num(vals[uids == j].reshape(W, h), nan=0.0)

    # --- scoring arrays -------------------------------------------------------------------------
    sel_w = list(range(W - 1)) if W > 1 else [0]
    scored: list[dict] = []
    for j, p in enumerate(cps):
        n = ns[j]
        lo = n - h * W
        actual = p.observed[lo:].reshape(W, h)
        cmask = p.censored[lo:].reshape(W, h)
        fut = eff_cv[j].multipliers(p.data, lo, n).reshape(W, h)
        yearly = np.ones((W, h))
        if "yearly" in cfg.drivers:
            for w in range(W):
                shape = yearly_shape(adj_cv[j], lo + w * h, h)
                if shape is not None:
                    yearly[w] = shape
        fut = fut * yearly
        scale = mase_scale(p.y[:lo], m, p.censored[:lo]) or max(float(p.y[:lo].mean()), 1e-6)
        fc = {name: np.maximum(v * fut, 0.0) for name, v in preds[j].items()}
        sel_err = {name: float(np.abs((actual - f)[sel_w][~cmask[sel_w]]).mean() / scale)
                   if (~cmask[sel_w]).any() else 0.0 for name, f in fc.items()}
        scored.append({"actual": actual, "cmask": cmask, "scale": scale, "fc": fc, "sel": sel_err, "lo": lo,
                       "yearly": yearly})

    # --- choice ---------------------------------------------------------------------------------
    champions: dict[str, str] = {}
    for cls in {p.pattern.demand_class for p in cps}:
        members = [j for j, p in enumerate(cps) if p.pattern.demand_class == cls]
        names = list(scored[members[0]]["sel"])
        champions[cls] = min(names, key=lambda nm: (np.mean([scored[j]["sel"][nm] for j in members]), nm))
    chosen: list[str] = []
    for j, p in enumerate(cps):
        sel = scored[j]["sel"]
        best = min(sel, key=lambda nm: (sel[nm], nm))
        if cfg.selection == "series":
            chosen.append(best)
        elif cfg.selection == "champion":
            champ = champions[p.pattern.demand_class]
            chosen.append(best if sel[best] < (1 - cfg.selection_margin) * sel[champ] else champ)
        else:
            chosen.append(cfg.selection if cfg.selection in sel else champions[p.pattern.demand_class])

    # --- final fit on the whole (cleaned) history -------------------------------------------------
    final: dict[int, np.ndarray] = {}
    by_model: dict[str, list[int]] = {}
    for j, name in enumerate(chosen):
        by_model.setdefault(name, []).append(j)
    for name, js in by_model.items():
        adj = [_fit_tail(cps[j].y / eff_all[j].multipliers(cps[j].data, 0, ns[j]), cfg) for j in js]
        fc = _statsforecast([name], m).forecast(df=_long_frame(adj, js), h=h).sort_values(["unique_id", "ds"])
        vals = fc[name].to_numpy(dtype=float).reshape(len(js), h)
        uids = fc["unique_id"].to_numpy().reshape(len(js), h)[:, 0]
        for row, j in zip(vals, uids, strict=True):
            final[int(j)] = np.nan_to_num(row, nan=0.0)

    for j, p in enumerate(cps):
        s, name, n = scored[j], chosen[j], ns[j]
        actual, cmask = s["actual"], s["cmask"]
        keep = ~cmask[-1]
        a_last = actual[-1][keep]
        f_last = s["fc"][name][-1][keep]
        sn_last = s["fc"]["SeasonalNaive"][-1][keep]
        tot = float(a_last.sum())
        ok_all = ~cmask
        err_all = (s["fc"][name] - actual)[ok_all]
        hold = {
            "actual": round(tot, 4), "abs_err": round(float(np.abs(a_last - f_last).sum()), 4),
            "err": round(float((f_last - a_last).sum()), 4),
            "snaive_abs_err": round(float(np.abs(a_last - sn_last).sum()), 4),
            "snaive_err": round(float((sn_last - a_last).sum()), 4),
            "days": int(keep.sum()), "scale": round(s["scale"], 6),
            "champion": champions[p.pattern.demand_class],
            "champion_abs_err": round(float(np.abs(a_last - s["fc"][champions[p.pattern.demand_class]][-1][keep]).sum()), 4),
            "best_in_selection": min(s["sel"], key=lambda nm: (s["sel"][nm], nm)),
        }
        hold["best_in_selection_abs_err"] = round(
            float(np.abs(a_last - s["fc"][hold["best_in_selection"]][-1][keep]).sum()), 4)
        # driver ablation on the scored window: the same base forecast without one driver's multiplier
        drv: dict = {"effects": eff_all[j].as_dict(), "ablation": {}}
        base_last = preds[j][name][-1]
        lo_last = n - h
        y_last = s["yearly"][-1]
        for group in eff_cv[j].groups():
            without = np.maximum(base_last * y_last * eff_cv[j].multipliers(p.data, lo_last, n, exclude=frozenset({group})), 0)
            active = not np.allclose(eff_cv[j].multipliers(p.data, lo_last, n),
                                     eff_cv[j].multipliers(p.data, lo_last, n, exclude=frozenset({group})))
            drv["ablation"][group] = {"active": bool(active),
                                      "abs_err_without": round(float(np.abs(a_last - without[keep]).sum()), 4)}
        if not np.allclose(y_last, 1.0):
            without = np.maximum(base_last * eff_cv[j].multipliers(p.data, lo_last, n), 0)
            drv["ablation"]["yearly"] = {"active": True,
                                         "abs_err_without": round(float(np.abs(a_last - without[keep]).sum()), 4)}
        if any(a["active"] for a in drv["ablation"].values()):
            none = np.maximum(base_last, 0)
            drv["ablation"]["all"] = {"active": True, "abs_err_without": round(float(np.abs(a_last - none[keep]).sum()), 4)}
        fmult = eff_all[j].multipliers(p.data, n, n + h)
        if "yearly" in cfg.drivers:
            shape = yearly_shape(p.y / eff_all[j].multipliers(p.data, 0, n), n, h)
            if shape is not None:
                fmult = fmult * shape
                drv["yearly_shape"] = [round(float(v), 4) for v in shape]
        forecast = np.maximum(final[j] * fmult, 0.0)
        sigma = float(np.sqrt(np.mean(err_all ** 2))) if len(err_all) else 0.0
        results[cv_idx[j]] = SeriesResult(
            key=p.inp.key, demand_class=p.pattern.demand_class, adi=p.pattern.adi, cv2=p.pattern.cv2,
            xyz=p.xyz[0], xyz_cv=p.xyz[1], model=name, forecast=[round(float(v), 4) for v in forecast],
            mase=_r(hold["abs_err"] / max(hold["days"], 1) / s["scale"]) if hold["days"] else None,
            wape=_r(hold["abs_err"] / tot) if tot > 0 else None,
            bias=_r(hold["err"] / tot) if tot > 0 else None,
            snaive_mase=_r(hold["snaive_abs_err"] / max(hold["days"], 1) / s["scale"]) if hold["days"] else None,
            snaive_wape=_r(hold["snaive_abs_err"] / tot) if tot > 0 else None,
            snaive_bias=_r(hold["snaive_err"] / tot) if tot > 0 else None,
            sigma=round(sigma, 4), mean_daily=round(_mean_daily(p), 4), history_days=n,
            censored_days=int(p.censored.sum()), holdout=hold,
            candidates={k: round(v, 4) for k, v in s["sel"].items()}, drivers=drv,
            note="" if W > 1 else "one CV window: the model was chosen and scored on the same window",
        )
    return [results[i] for i in range(len(prepared))]


def _fit_tail(y: np.ndarray, cfg: ForecastConfig, extra: int = 0) -> np.ndarray:
    """The part of a series the models are fitted on: the last ``fit_days`` (plus the CV windows)."""
    return y if cfg.fit_days is None else y[-(cfg.fit_days + extra):]


def _r(x: float) -> float:
    return round(float(x), 4)


def chunked(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def run_chunks(chunks: Iterable[list[SeriesInput]], cfg: ForecastConfig, *, n_jobs: int = 1,
               executor: Executor | None = None, max_pending: int | None = None,
               on_done: Callable[[list[SeriesResult]], None] | None = None) -> list[SeriesResult]:
    """Forecast chunks in parallel: in this process (``n_jobs=1``), on a local process pool
    (``n_jobs>1``; -1 = all cores), or on a given executor (Dask's ``client.get_executor()``, a Ray
    executor). ``on_done`` is called in this process as each chunk finishes (to save and report).

    For very large chains: Dask — ``run_chunks(chunks, cfg, executor=client.get_executor(), n_jobs=<workers>)``
    with ``client = dask.distributed.Client(address)``; Ray — ``executor=RayExecutor()``. Only
    ``forecast_batch`` and plain data cross the wire. Tested with a Dask ``LocalCluster`` of two worker
    processes, which gives exactly the in-process results (``planning/tests/test_dask_cluster.py``)."""
    out: list[SeriesResult] = []

    def done(res: list[SeriesResult]) -> None:
        out.extend(res)
        if on_done:
            on_done(res)

    if executor is None and n_jobs in (0, 1):
        for chunk in chunks:
            done(forecast_batch(chunk, cfg))
        return out
    own = executor is None
    if own:
        import multiprocessing

        workers = (os.cpu_count() or 1) if n_jobs < 0 else n_jobs
        executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    else:
        workers = max(1, n_jobs if n_jobs > 0 else (os.cpu_count() or 1))
    # at most ``max_pending`` chunks in flight: the next chunk is loaded (from the database, in a run)
    # only when one finishes, so memory stays bounded whatever the size of the chain
    max_pending = max_pending or 2 * workers
    try:
        pending: set = set()
        it = iter(chunks)
        exhausted = False
        while pending or not exhausted:
            while not exhausted and len(pending) < max_pending:
                try:
                    chunk = next(it)
                except StopIteration:
                    exhausted = True
                    break
                pending.add(executor.submit(forecast_batch, chunk, cfg))
            if not pending:
                break
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                done(fut.result())
    finally:
        if own:
            executor.shutdown()
    return out


class RayExecutor:
    """``submit`` on a Ray cluster (``ray.init(address=…)`` first): ``ObjectRef.future()`` is a
    ``concurrent.futures.Future``, which is all ``run_chunks`` needs. Not exercised in CI: Ray is not a
    dependency (see docs/benchmarks.md)."""

    def __init__(self) -> None:
        import ray  # noqa: F401  (optional dependency)

        self._remote = ray.remote(forecast_batch)

    def submit(self, fn: Callable, *args: object):
        assert fn is forecast_batch
        return self._remote.remote(*args).future()


def aggregate(results: list[SeriesResult]) -> dict:
    """Run-level accuracy on the scored windows: WAPE/bias over all series, MASE as the mean of series'."""
    hs = [r.holdout for r in results if r.holdout]
    actual = sum(h["actual"] for h in hs)
    out: dict = {"series": len(results), "scored_series": len(hs)}
    if actual > 0:
        out.update(
            wape=_r(sum(h["abs_err"] for h in hs) / actual),
            bias=_r(sum(h["err"] for h in hs) / actual),
            wape_snaive=_r(sum(h["snaive_abs_err"] for h in hs) / actual),
            bias_snaive=_r(sum(h["snaive_err"] for h in hs) / actual),
            wape_champion=_r(sum(h["champion_abs_err"] for h in hs) / actual),
            wape_best_in_selection=_r(sum(h["best_in_selection_abs_err"] for h in hs) / actual),
        )
    mases = [r.mase for r in results if r.mase is not None]
    smases = [r.snaive_mase for r in results if r.snaive_mase is not None]
    if mases:
        out["mase"] = _r(float(np.mean(mases)))
        out["mase_snaive"] = _r(float(np.mean(smases)))
    def driver_table(rows: list) -> dict:
        drivers: dict = {}
        for r in rows:
            abl = r.drivers.get("ablation", {}) if r.drivers else {}
            for group, a in abl.items():
                if not a.get("active"):
                    continue
                d = drivers.setdefault(group, {"series": 0, "actual": 0.0, "abs_err_with": 0.0, "abs_err_without": 0.0})
                d["series"] += 1
                d["actual"] += r.holdout["actual"]
                d["abs_err_with"] += r.holdout["abs_err"]
                d["abs_err_without"] += a["abs_err_without"]
        return {g: {"series": d["series"],
                    "wape_with": _r(d["abs_err_with"] / d["actual"]) if d["actual"] else None,
                    "wape_without": _r(d["abs_err_without"] / d["actual"]) if d["actual"] else None}
                for g, d in drivers.items()}

    out["drivers"] = driver_table(results)
    # split by demand pattern: on intermittent series the error measures reward forecasting less than
    # the mean (the median day sells nothing), so a correct lift can raise their WAPE
    out["drivers_by_pattern"] = {
        "smooth_erratic": driver_table([r for r in results if r.demand_class in (classify.SMOOTH, classify.ERRATIC)]),
        "intermittent_lumpy": driver_table([r for r in results if r.demand_class in (classify.INTERMITTENT,
                                                                                      classify.LUMPY)])}
    counts: dict[str, int] = {}
    for r in results:
        counts[r.model] = counts.get(r.model, 0) + 1
    out["models"] = dict(sorted(counts.items()))
    classes: dict[str, int] = {}
    for r in results:
        classes[r.demand_class] = classes.get(r.demand_class, 0) + 1
    out["classes"] = dict(sorted(classes.items()))
    return out


__all__ = ["ForecastConfig", "SeriesInput", "SeriesResult", "forecast_batch", "run_chunks", "aggregate",
           "chunked", "DriverEffects"]
