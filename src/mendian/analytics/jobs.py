"""Background work of analytics, run by ``mendian worker`` (or Celery beat)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from mendian.core.timeutil import local_date
from mendian.platform.jobs import periodic
from mendian.platform.models import Job

from .rollups import rollups_rebuild, sku_window_refresh, window_end

REBUILD_KIND = "analytics.rollups_rebuild"


def rebuild_job_run(job: Job) -> None:
    """Run one queued rebuild, reporting progress on the Job row the console shows."""
    claimed = Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(status=Job.Status.RUNNING,
                                                                             started_at=timezone.now())
    if not claimed:
        return

    def progress(done: int, total: int) -> None:
        Job.objects.filter(pk=job.pk).update(progress_done=done, progress_total=total)

    params = job.params or {}
    try:
        result = rollups_rebuild(start=dt.date.fromisoformat(params["from"]) if params.get("from") else None,
                                 end=dt.date.fromisoformat(params["to"]) if params.get("to") else None,
                                 progress=progress)
    except Exception as exc:  # the job records the failure; the worker goes on
        Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error=repr(exc)[:2000],
                                             finished_at=timezone.now())
        raise
    Job.objects.filter(pk=job.pk).update(status=Job.Status.DONE, finished_at=timezone.now(),
                                         result={"orders": result.orders, "history_rows": result.history_rows,
                                                 "rows": result.rows})


@periodic("analytics.queued_jobs", every=dt.timedelta(seconds=5))
def run_queued_jobs() -> None:
    for job in Job.objects.filter(kind=REBUILD_KIND, status=Job.Status.QUEUED).order_by("id")[:1]:
        rebuild_job_run(job)


@periodic("analytics.sku_window", every=dt.timedelta(minutes=5))
def sku_window_roll() -> None:
    """When the local day rolls over (or the window was never counted), recount the purchasing
    dashboard's trailing store × SKU window so it ends today."""
    today = local_date()
    if window_end() != today:
        sku_window_refresh(end=today)
