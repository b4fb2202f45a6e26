"""Planning use-cases: start and execute forecast runs (a job with progress, resumable, parallel),
recompute stock policies from a run, import external factors."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import math
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from mendian.core.errors import Conflict, InvalidInput, NotFound
from mendian.platform.audit import audit_record
from mendian.platform.models import Job
from mendian.platform.outbox import outbox_publish

from . import selectors
from .domain import stock_policy
from .forecasting.engine import ALL_DRIVERS, ForecastConfig, SeriesResult, aggregate, run_chunks
from .models import ExternalFactor, ForecastRun, SeriesForecast, StockPolicy

log = logging.getLogger(__name__)

DEFAULT_HISTORY_DAYS = 730
DEFAULT_CHUNK = 250
STALE_AFTER = dt.timedelta(minutes=10)
MAX_HORIZON = 120


def forecast_run_create(*, user: Any = None, location_ids: list[int] | None = None, sku_ids: list[int] | None = None,
                        horizon: int = 28, n_windows: int = 2, n_jobs: int = 1, as_of: dt.date | None = None,
                        history_days: int = DEFAULT_HISTORY_DAYS, drivers: list[str] | None = None) -> ForecastRun:
    """Create a queued run (and its Job). ``location_ids``/``sku_ids`` None = all."""
    if not 1 <= horizon <= MAX_HORIZON:
        raise InvalidInput(f"horizon must be between 1 and {MAX_HORIZON} days", code="invalid_horizon")
    if not 1 <= n_windows <= 6:
        raise InvalidInput("n_windows must be between 1 and 6", code="invalid_n_windows")
    if not 56 <= history_days <= 3 * 365:
        raise InvalidInput("history_days must be between 56 and 1095", code="invalid_history_days")
    drivers = sorted(set(drivers if drivers is not None else ["holidays", "promotions", "factors"]))
    if set(drivers) - ALL_DRIVERS:
        raise InvalidInput(f"drivers are {', '.join(sorted(ALL_DRIVERS))}", code="invalid_drivers")
    as_of = as_of or selectors.default_as_of()
    params = {"location_ids": location_ids, "sku_ids": sku_ids, "horizon": horizon, "n_windows": n_windows,
              "n_jobs": n_jobs, "history_days": history_days, "drivers": drivers, "as_of": as_of.isoformat()}
    with transaction.atomic():
        job = Job.objects.create(kind="planning.forecast", params=params, created_by=user if user and user.pk else None)
        run = ForecastRun.objects.create(job=job, params=params, as_of=as_of, horizon=horizon,
                                         created_by=user if user and user.pk else None)
    return run


def forecast_run_claim(*, run_id: int, now: dt.datetime | None = None) -> bool:
    """Take a queued run, or a running one whose worker stopped beating (resume). One statement, so two
    workers never both take it."""
    now = now or timezone.now()
    n = (ForecastRun.objects.filter(pk=run_id)
         .filter(Q(status=ForecastRun.Status.QUEUED)
                 | Q(status=ForecastRun.Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER))
         .update(status=ForecastRun.Status.RUNNING, heartbeat_at=now, started_at=now, error=""))
    if n:
        job_id = ForecastRun.objects.filter(pk=run_id).values_list("job_id", flat=True).first()
        Job.objects.filter(pk=job_id).update(status=Job.Status.RUNNING, started_at=now)
    return bool(n)


def forecast_run_requeue(*, run_id: int) -> ForecastRun:
    """Put a failed (or stale) run back in the queue; executing it again skips the series it finished."""
    n = ForecastRun.objects.filter(pk=run_id, status__in=[ForecastRun.Status.FAILED, ForecastRun.Status.RUNNING]).update(
        status=ForecastRun.Status.QUEUED, heartbeat_at=None)
    if not n and not ForecastRun.objects.filter(pk=run_id).exists():
        raise NotFound(f"forecast run {run_id} not found")
    return ForecastRun.objects.get(pk=run_id)


@dataclass
class _RunContext:
    run: ForecastRun
    abc: dict
    params: selectors.ParamLookup
    levels: dict[str, float]
    start: dt.date
    total: int = 0
    done: int = 0
    progress: Callable[[int, int], None] | None = None


def _save_chunk(ctx: _RunContext, results: list[SeriesResult]) -> None:
    now = timezone.now()
    rows, policies = [], []
    for r in results:
        loc, sku = r.key
        abc = ctx.abc.get(r.key, "C")
        rows.append(SeriesForecast(
            run=ctx.run, location_id=loc, sku_id=sku, demand_class=r.demand_class, adi=r.adi, cv2=r.cv2, abc=abc,
            xyz=r.xyz, xyz_cv=r.xyz_cv, model=r.model, mase=r.mase, wape=r.wape, bias=r.bias,
            snaive_mase=r.snaive_mase, snaive_wape=r.snaive_wape, snaive_bias=r.snaive_bias, sigma=r.sigma,
            mean_daily=r.mean_daily, history_days=r.history_days, censored_days=r.censored_days, start=ctx.start,
            forecast=r.forecast, detail={"holdout": r.holdout, "candidates": r.candidates, "drivers": r.drivers,
                                         "note": r.note}))
        pol = stock_policy(forecast=r.forecast, sigma_daily=r.sigma, abc=abc, params=ctx.params.get(loc, sku),
                           service_levels=ctx.levels)
        expl = dict(pol.explanation)
        expl["forecast"] = {"run": ctx.run.pk, "model": r.model, "demand_class": r.demand_class,
                            "first_day": ctx.start.isoformat()}
        policies.append(StockPolicy(location_id=loc, sku_id=sku, run=ctx.run, abc=abc, service_level=pol.service_level,
                                    safety_stock=pol.safety_stock, reorder_point=pol.reorder_point,
                                    order_up_to=pol.order_up_to, explanation=expl, computed_at=now))
    with transaction.atomic():
        SeriesForecast.objects.bulk_create(rows, batch_size=500)
        StockPolicy.objects.bulk_create(
            policies, batch_size=500, update_conflicts=True, unique_fields=["location", "sku"],
            update_fields=["run", "abc", "service_level", "safety_stock", "reorder_point", "order_up_to",
                           "explanation", "computed_at"])
        ForecastRun.objects.filter(pk=ctx.run.pk).update(progress_done=F("progress_done") + len(rows), heartbeat_at=now)
        Job.objects.filter(pk=ctx.run.job_id).update(progress_done=F("progress_done") + len(rows))
    ctx.done += len(rows)
    if ctx.progress:
        ctx.progress(ctx.done, ctx.total)


def _chunks(pairs: list[tuple[int, int]], run: ForecastRun, size: int) -> Iterator[list]:
    p = run.params
    for i in range(0, len(pairs), size):
        yield selectors.load_series(pairs[i:i + size], as_of=run.as_of, history_days=p["history_days"],
                                    horizon=run.horizon)


def run_summary(run: ForecastRun) -> dict:
    rows = SeriesForecast.objects.filter(run=run).values_list("detail", "mase", "snaive_mase", "model",
                                                              "demand_class", "abc")
    items = [SimpleNamespace(holdout=d.get("holdout") or {}, drivers=d.get("drivers") or {}, mase=m, snaive_mase=sm,
                             model=model, demand_class=dc) for d, m, sm, model, dc, _ in rows]
    out = aggregate(items)  # type: ignore[arg-type]
    abc: dict[str, int] = {}
    for *_, a in rows:
        abc[a] = abc.get(a, 0) + 1
    out["abc"] = dict(sorted(abc.items()))
    return out


def forecast_run_execute(*, run_id: int, n_jobs: int | None = None, executor: Executor | None = None,
                         chunk_size: int = DEFAULT_CHUNK, claimed: bool = False,
                         progress: Callable[[int, int], None] | None = None) -> ForecastRun:
    """Execute a run: claim it, forecast every series not yet done in it (chunk by chunk, each chunk
    saved with its stock policies in one transaction), then store the run's accuracy summary."""
    if not claimed and not forecast_run_claim(run_id=run_id):
        if not ForecastRun.objects.filter(pk=run_id).exists():
            raise NotFound(f"forecast run {run_id} not found")
        raise Conflict("the forecast run is not queued (done, failed or running elsewhere)", code="run_not_queued")
    run = ForecastRun.objects.get(pk=run_id)
    p = run.params
    started = timezone.now()
    try:
        pairs = selectors.series_pairs(as_of=run.as_of, history_days=p["history_days"],
                                       location_ids=p.get("location_ids"), sku_ids=p.get("sku_ids"))
        done = set(SeriesForecast.objects.filter(run=run).values_list("location_id", "sku_id"))
        todo = [x for x in pairs if x not in done]
        ForecastRun.objects.filter(pk=run.pk).update(progress_total=len(pairs), progress_done=len(done))
        Job.objects.filter(pk=run.job_id).update(progress_total=len(pairs), progress_done=len(done))
        ctx = _RunContext(run=run, abc=selectors.abc_by_location(pairs, as_of=run.as_of),
                          params=selectors.ParamLookup(), levels=selectors.service_levels(),
                          start=run.as_of + dt.timedelta(days=1), total=len(pairs), done=len(done),
                          progress=progress)
        cfg = ForecastConfig(horizon=run.horizon, n_windows=p.get("n_windows", 2),
                             drivers=frozenset(p.get("drivers", ["holidays", "promotions", "factors"])))
        run_chunks(_chunks(todo, run, chunk_size), cfg, n_jobs=n_jobs if n_jobs is not None else p.get("n_jobs", 1),
                   executor=executor, on_done=lambda res: _save_chunk(ctx, res))
        summary = run_summary(run)
        summary["seconds"] = round((timezone.now() - started).total_seconds(), 2)
        summary["resumed_from"] = len(done)
        now = timezone.now()
        with transaction.atomic():
            ForecastRun.objects.filter(pk=run.pk).update(status=ForecastRun.Status.DONE, summary=summary,
                                                         finished_at=now, heartbeat_at=now)
            Job.objects.filter(pk=run.job_id).update(status=Job.Status.DONE, result=summary, finished_at=now)
            outbox_publish(topic="planning.forecast_run.done",
                           payload={"run": run.pk, "as_of": run.as_of.isoformat(), "series": summary.get("series", 0),
                                    "wape": summary.get("wape"), "wape_snaive": summary.get("wape_snaive")})
    except Exception as exc:
        log.exception("forecast run %s failed", run.pk)
        now = timezone.now()
        ForecastRun.objects.filter(pk=run.pk).update(status=ForecastRun.Status.FAILED, error=repr(exc)[:2000],
                                                     finished_at=now)
        Job.objects.filter(pk=run.job_id).update(status=Job.Status.FAILED, error=repr(exc)[:2000], finished_at=now)
        raise
    run.refresh_from_db()
    return run


def forecast_run_next(*, n_jobs: int | None = None) -> ForecastRun | None:
    """Execute the oldest queued (or abandoned) run, if any: the worker's periodic job."""
    now = timezone.now()
    candidates = (ForecastRun.objects.filter(Q(status=ForecastRun.Status.QUEUED)
                                             | Q(status=ForecastRun.Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER))
                  .order_by("id").values_list("id", flat=True)[:5])
    for run_id in candidates:
        if forecast_run_claim(run_id=run_id, now=now):
            return forecast_run_execute(run_id=run_id, n_jobs=n_jobs, claimed=True)
    return None


# --- external factors ------------------------------------------------------------------------------

@dataclass(frozen=True)
class FactorImportResult:
    rows: int
    names: list[str]
    first_day: str | None
    last_day: str | None


MAX_FACTOR_ROWS = 200_000


def external_factors_import(*, source: str | bytes, actor: Any = None) -> FactorImportResult:
    """Import daily factors from CSV ``date,name,value[,city]`` (header row, any column order). Every
    row is validated first; any bad row refuses the whole file (nothing is written) with the first 20
    errors by line. Existing (name, city, day) values are replaced."""
    text = source.decode("utf-8-sig") if isinstance(source, bytes) else source.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    fields = {f.strip().lower() for f in (reader.fieldnames or [])}
    missing = {"date", "name", "value"} - fields
    if missing:
        raise InvalidInput(f"missing columns: {', '.join(sorted(missing))}", code="invalid_csv",
                           details={"missing": sorted(missing)})
    errors: list[dict] = []
    seen: dict[tuple[str, str, dt.date], int] = {}
    objs: list[ExternalFactor] = []
    for lineno, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        try:
            day = dt.date.fromisoformat(row["date"])
        except ValueError:
            errors.append({"line": lineno, "message": f"bad date {row.get('date')!r}"})
            continue
        name, city = row["name"], row.get("city", "")
        if not name or len(name) > 32 or len(city) > 50:
            errors.append({"line": lineno, "message": "name must be 1–32 characters, city at most 50"})
            continue
        try:
            value = float(row["value"])
            if not math.isfinite(value):
                raise ValueError
        except ValueError:
            errors.append({"line": lineno, "message": f"bad value {row.get('value')!r}"})
            continue
        key = (name, city, day)
        if key in seen:
            errors.append({"line": lineno, "message": f"duplicate of line {seen[key]}"})
            continue
        seen[key] = lineno
        objs.append(ExternalFactor(name=name, city=city, day=day, value=value))
        if len(objs) > MAX_FACTOR_ROWS:
            raise InvalidInput(f"at most {MAX_FACTOR_ROWS} rows per import", code="too_many_rows")
    if errors:
        raise InvalidInput(f"{len(errors)} bad rows: nothing imported", code="invalid_csv", details={"errors": errors[:20]})
    if not objs:
        raise InvalidInput("no rows", code="invalid_csv")
    names = sorted({o.name for o in objs})
    days = sorted(o.day for o in objs)
    with transaction.atomic():
        ExternalFactor.objects.bulk_create(objs, batch_size=1000, update_conflicts=True,
                                           unique_fields=["name", "city", "day"], update_fields=["value", "imported_at"])
        audit_record(actor=actor, action="external_factor.import", object_type="external_factor",
                     object_ref=",".join(names)[:64], after={"rows": len(objs), "first_day": days[0].isoformat(),
                                                             "last_day": days[-1].isoformat()})
    return FactorImportResult(rows=len(objs), names=names, first_day=days[0].isoformat(), last_day=days[-1].isoformat())
