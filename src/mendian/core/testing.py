"""Helpers for tests that race real threads against PostgreSQL (each thread has its own connection)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import close_old_connections, connection


def run_threads(n: int, work: Callable[[int], object]) -> list[object]:
    """Start ``n`` threads at once (barrier); return each thread's result or exception."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    close_old_connections()
    return results


def run_benchmark_in_test_database(run: Callable[[], dict]) -> dict:
    """Set up Django, run ``run`` in a fresh test database (created and dropped around it) and return its
    figures with the database vendor added: what the in-process benchmarks share."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mendian.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        result = run()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    result["database"] = "postgresql" if settings.IS_POSTGRES else "sqlite"
    return result
