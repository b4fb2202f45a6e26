"""Periodic jobs, declared once and run either by the embedded worker loop or by Celery beat.

    @periodic("sales.expire_unpaid", every=timedelta(minutes=1))
    def expire_unpaid_orders(): ...

in ``<app>/jobs.py`` (autodiscovered by the worker and by the Celery app). Whoever runs a job —
``mendian worker`` processes, Celery beat, or both at once — first claims it with one conditional
``UPDATE`` of its ``PeriodicRun`` row, so several runners agree and a job runs once per interval.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: dt.timedelta
    fn: Callable[[], object]

    @property
    def slack(self) -> dt.timedelta:
        """A run that comes this much early still counts (beat and worker ticks jitter)."""
        return min(self.every / 10, dt.timedelta(seconds=2))


_JOBS: dict[str, PeriodicJob] = {}


def periodic(name: str, *, every: dt.timedelta) -> Callable[[Callable[[], object]], Callable[[], object]]:
    if every <= dt.timedelta(0):
        raise ValueError("a periodic job needs a positive interval")

    def register(fn: Callable[[], object]) -> Callable[[], object]:
        _JOBS[name] = PeriodicJob(name=name, every=every, fn=fn)
        return fn

    return register


def periodic_jobs() -> list[PeriodicJob]:
    return list(_JOBS.values())


def periodic_job(name: str) -> PeriodicJob:
    return _JOBS[name]


def job_claim(job: PeriodicJob, *, now: dt.datetime | None = None) -> bool:
    """Claim one run of ``job`` if it is due: True for exactly one of several concurrent callers."""
    from .models import PeriodicRun

    now = now or timezone.now()
    PeriodicRun.objects.bulk_create([PeriodicRun(name=job.name)], ignore_conflicts=True)
    due = Q(last_run_at__isnull=True) | Q(last_run_at__lte=now - job.every + job.slack)
    return PeriodicRun.objects.filter(due, name=job.name).update(last_run_at=now) == 1


def job_run_if_due(name: str, *, now: dt.datetime | None = None) -> bool:
    """Run the job named ``name`` if this caller claims it; True when it ran (even if it failed)."""
    job = periodic_job(name)
    if not job_claim(job, now=now):
        return False
    try:
        job.fn()
    except Exception:
        log.exception("periodic job %s failed", job.name)
    return True


def run_due_jobs(*, now: dt.datetime | None = None) -> list[str]:
    """Run every job whose interval has passed. Several workers agree through PeriodicRun rows."""
    return [job.name for job in periodic_jobs() if job_run_if_due(job.name, now=now)]


# --- the platform's own jobs -------------------------------------------------------------------

@periodic("platform.audit_seal", every=dt.timedelta(minutes=1))
def audit_seal_job() -> object:
    """Seal new audit entries into the hash chain."""
    from .audit import audit_seal

    return audit_seal()


@periodic("platform.purge", every=dt.timedelta(hours=1))
def purge_job() -> object:
    """Forget what is no longer needed: old sign-in attempts, idempotency records, expired refresh tokens."""
    from .models import IdempotencyRecord, LoginAttempt, RefreshToken

    now = timezone.now()
    LoginAttempt.objects.filter(at__lt=now - dt.timedelta(days=7)).delete()
    IdempotencyRecord.objects.filter(created_at__lt=now - dt.timedelta(days=7)).delete()
    RefreshToken.objects.filter(expires_at__lt=now - dt.timedelta(days=1)).delete()
    return None
