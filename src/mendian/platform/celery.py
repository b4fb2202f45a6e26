"""Celery in production: the same periodic jobs and outbox delivery as ``mendian worker``.

    MENDIAN_BROKER_URL=redis://127.0.0.1:6379/0 celery -A mendian.platform.celery worker -B -l info
    MENDIAN_BROKER_URL=amqp://guest:guest@127.0.0.1:5672// celery -A mendian.platform.celery worker -B

The beat schedule is built from the periodic-job registry (``mendian.platform.jobs.periodic_jobs()``,
every app's ``jobs.py``) plus one outbox-delivery task, so nothing is declared twice. A beat tick
does not run a job blindly: the task claims the job's ``PeriodicRun`` row first, so Celery and any
embedded ``mendian worker`` running beside it still run each job once per interval.
"""

from __future__ import annotations

import datetime as dt
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mendian.settings")

import django  # noqa: E402
from celery import Celery  # noqa: E402
from django.apps import apps  # noqa: E402

if not apps.ready:  # the celery CLI imports this module before Django is set up
    django.setup()

from django.conf import settings  # noqa: E402

from .jobs import job_run_if_due, periodic_jobs  # noqa: E402
from .outbox import outbox_deliver  # noqa: E402
from .worker import discover  # noqa: E402

OUTBOX_TASK = "mendian.platform.deliver_outbox"
JOB_TASK = "mendian.platform.run_periodic_job"
OUTBOX_EVERY = dt.timedelta(seconds=2)


def beat_schedule() -> dict[str, dict]:
    """Celery beat entries: one per registered periodic job, plus outbox delivery."""
    discover()
    schedule: dict[str, dict] = {
        f"job:{job.name}": {"task": JOB_TASK, "schedule": job.every.total_seconds(), "args": (job.name,)}
        for job in periodic_jobs()
    }
    schedule["outbox:deliver"] = {"task": OUTBOX_TASK, "schedule": OUTBOX_EVERY.total_seconds()}
    return schedule


def make_celery_app(broker_url: str | None = None, *, result_backend: str | None = None,
                    queue: str = "mendian", main: str = "mendian") -> Celery:
    """A Celery app configured from settings (``MENDIAN_BROKER_URL``), with mendian's tasks and beat schedule."""
    app = Celery(main)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    url = broker_url or settings.CELERY_BROKER_URL
    app.conf.update(
        broker_url=url or "memory://",
        task_always_eager=not url,
        result_backend=result_backend,
        task_default_queue=queue,
        timezone=settings.TIME_ZONE,
        task_acks_late=True,  # a worker that dies mid-task leaves it to another: tasks are idempotent
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        task_ignore_result=result_backend is None,
        beat_schedule=beat_schedule(),
    )

    @app.task(name=OUTBOX_TASK, shared=False)
    def deliver_outbox() -> dict[str, int]:
        discover()
        r = outbox_deliver()
        return {"delivered": r.delivered, "failed": r.failed}

    @app.task(name=JOB_TASK, shared=False)
    def run_periodic_job(name: str) -> bool:
        """Run the job if it is due (claimed through its PeriodicRun row); True when it ran."""
        discover()
        return job_run_if_due(name)

    return app


app = make_celery_app()
