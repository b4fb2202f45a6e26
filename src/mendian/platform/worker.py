"""The embedded job runner: delivers outbox events and runs due periodic jobs in a loop.

In production the same functions run as Celery tasks (``mendian.platform.celery``). Several worker
processes may run at once: periodic jobs are claimed through ``PeriodicRun`` rows and outbox events
through row locks (PostgreSQL) or the database's single writer (SQLite).
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass

from django.db import close_old_connections, connections
from django.utils.module_loading import autodiscover_modules

from .jobs import run_due_jobs
from .outbox import outbox_deliver

log = logging.getLogger(__name__)
_discovered = False


def discover() -> None:
    """Import every app's ``jobs`` and ``subscribers`` modules so that their registrations run."""
    global _discovered
    if not _discovered:
        autodiscover_modules("jobs", "subscribers")
        _discovered = True


@dataclass
class TickResult:
    delivered: int
    failed: int
    jobs: list[str]


def worker_tick() -> TickResult:
    discover()
    result = outbox_deliver()
    ran = run_due_jobs()
    return TickResult(delivered=result.delivered, failed=result.failed, jobs=ran)


def worker_loop(*, interval: float = 1.0, max_ticks: int | None = None,
                stop_event: threading.Event | None = None) -> None:
    """Tick until SIGTERM/SIGINT (in the main thread), ``stop_event`` is set, or ``max_ticks`` ticks."""
    stop = stop_event or threading.Event()
    if threading.current_thread() is threading.main_thread():
        def _stop(*_args: object) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    ticks = 0
    while not stop.is_set() and (max_ticks is None or ticks < max_ticks):
        close_old_connections()
        try:
            tick = worker_tick()
            if tick.delivered or tick.failed or tick.jobs:
                log.info("worker: delivered %s, failed %s, jobs %s", tick.delivered, tick.failed, tick.jobs)
            idle = not tick.delivered
        except Exception:
            log.exception("worker tick failed")
            idle = True
        ticks += 1
        if idle and (max_ticks is None or ticks < max_ticks):
            stop.wait(interval)
    if threading.current_thread() is not threading.main_thread():
        connections.close_all()  # this thread's own connections; a process's close when it exits

