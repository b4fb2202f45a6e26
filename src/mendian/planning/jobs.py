"""Periodic planning jobs (autodiscovered by ``mendian worker`` and the Celery beat schedule)."""

from __future__ import annotations

import datetime as dt
import os

from mendian.platform.jobs import periodic

from . import services
from .models import ForecastRun


@periodic("planning.forecast_runs", every=dt.timedelta(minutes=1))
def execute_queued_forecast_runs() -> object:
    """Execute the oldest queued run (started through the API) or resume an abandoned one."""
    run = services.forecast_run_next(n_jobs=int(os.environ.get("MENDIAN_FORECAST_N_JOBS", "1")))
    return run.pk if run else None


@periodic("planning.nightly_forecast", every=dt.timedelta(hours=24))
def nightly_forecast() -> object:
    """Queue a chain-wide forecast once a day (unless one is already queued or running); the job above
    executes it, and its stock policies replace yesterday's."""
    if ForecastRun.objects.filter(status__in=[ForecastRun.Status.QUEUED, ForecastRun.Status.RUNNING]).exists():
        return None
    return services.forecast_run_create(n_jobs=int(os.environ.get("MENDIAN_FORECAST_N_JOBS", "1"))).pk
