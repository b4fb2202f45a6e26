import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from mendian.platform import jobs
from mendian.platform.jobs import job_claim, periodic, periodic_job, periodic_jobs, run_due_jobs
from mendian.platform.models import PeriodicRun
from mendian.platform.worker import discover


@pytest.fixture
def registry(monkeypatch):
    """An empty job registry for the test (the real one is restored afterwards)."""
    discover()  # the real registrations happen once, into the real registry
    monkeypatch.setattr(jobs, "_JOBS", {})
    return jobs._JOBS


@pytest.mark.django_db
def test_a_job_runs_when_due_and_not_before(registry):
    calls = []
    periodic("test.every10", every=dt.timedelta(minutes=10))(lambda: calls.append(1))
    t0 = timezone.now()
    assert run_due_jobs(now=t0) == ["test.every10"]
    assert run_due_jobs(now=t0 + dt.timedelta(minutes=5)) == []
    assert run_due_jobs(now=t0 + dt.timedelta(minutes=9, seconds=50)) == []
    assert run_due_jobs(now=t0 + dt.timedelta(minutes=10)) == ["test.every10"]
    assert len(calls) == 2
    assert PeriodicRun.objects.get(name="test.every10").last_run_at == t0 + dt.timedelta(minutes=10)


@pytest.mark.django_db
def test_a_failing_job_is_logged_and_waits_for_its_next_interval(registry):
    def boom():
        raise RuntimeError("boom")

    periodic("test.boom", every=dt.timedelta(minutes=1))(boom)
    t0 = timezone.now()
    assert run_due_jobs(now=t0) == ["test.boom"]
    assert run_due_jobs(now=t0 + dt.timedelta(seconds=30)) == []


@pytest.mark.django_db
def test_two_workers_agree_on_who_runs_a_job(registry):
    periodic("test.once", every=dt.timedelta(minutes=1))(lambda: None)
    job = periodic_job("test.once")
    now = timezone.now()
    assert [job_claim(job, now=now), job_claim(job, now=now)] == [True, False]


def test_the_platform_registers_its_audit_seal_job():
    names = {j.name for j in periodic_jobs()}
    assert "platform.audit_seal" in names
    assert periodic_job("platform.audit_seal").every == dt.timedelta(minutes=1)


def test_a_job_needs_a_positive_interval():
    with pytest.raises(ValueError):
        periodic("test.bad", every=dt.timedelta(0))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_claim_a_due_job_exactly_once(registry):
    periodic("test.race", every=dt.timedelta(minutes=1))(lambda: None)
    job = periodic_job("test.race")
    now = timezone.now()
    barrier = threading.Barrier(10)
    results = []

    def worker():
        try:
            barrier.wait()
            results.append(job_claim(job, now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 9 + [True]
