"""Periodic jobs, declared once and run either by the embedded worker loop or by Celery beat."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: dt.timedelta
    fn: Callable[[], object]


_JOBS: dict[str, PeriodicJob] = {}


def periodic(name: str, *, every: dt.timedelta) -> Callable[[Callable[[], object]], Callable[[], object]]:
    def register(fn: Callable[[], object]) -> Callable[[], object]:
        _JOBS[name] = PeriodicJob(name=name, every=every, fn=fn)
        return fn

    return register


def periodic_jobs() -> list[PeriodicJob]:
    return list(_JOBS.values())


def run_due_jobs(*, now: dt.datetime | None = None) -> list[str]:
    """Run every job whose interval has passed. Several workers agree through PeriodicRun rows."""
    from .models import PeriodicRun

    now = now or timezone.now()
    ran: list[str] = []
    for job in periodic_jobs():
        with transaction.atomic():
            run, _ = PeriodicRun.objects.get_or_create(name=job.name)
            run = PeriodicRun.objects.select_for_update().get(pk=run.pk)
            if run.last_run_at and now - run.last_run_at < job.every:
                continue
            run.last_run_at = now
            run.save(update_fields=["last_run_at"])
        try:
            job.fn()
            ran.append(job.name)
        except Exception:
            log.exception("periodic job %s failed", job.name)
    return ran
