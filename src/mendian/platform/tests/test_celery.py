"""The same periodic jobs and outbox delivery under Celery, sent and executed through real brokers.

Marked ``redis`` / ``rabbitmq``: outside CI they skip when the broker is not running; with CI=true an
unreachable broker is a failure, not a skip.
"""

import datetime as dt
import os
import socket
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections
from django.utils import timezone

from mendian.platform import jobs, outbox
from mendian.platform.celery import JOB_TASK, OUTBOX_TASK, beat_schedule, make_celery_app
from mendian.platform.jobs import periodic, periodic_jobs
from mendian.platform.models import Job, OutboxEvent, PeriodicRun
from mendian.platform.outbox import outbox_publish, subscriber
from mendian.platform.worker import discover


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _need(host: str, port: int, what: str) -> None:
    if _reachable(host, port):
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI: {what} at {host}:{port} is unreachable")
    pytest.skip(f"{what} is not running at {host}:{port} (start it, or run in CI where this test must pass)")


def _close_connections(**_kwargs):
    connections.close_all()  # runs in the worker thread after each task: leave no connection behind


def test_the_beat_schedule_is_built_from_the_job_registry_plus_outbox_delivery():
    schedule = beat_schedule()
    expected = {f"job:{j.name}" for j in periodic_jobs()} | {"outbox:deliver"}
    assert set(schedule) == expected
    seal = schedule["job:platform.audit_seal"]
    assert (seal["task"], seal["schedule"], seal["args"]) == (JOB_TASK, 60.0, ("platform.audit_seal",))
    assert schedule["outbox:deliver"]["task"] == OUTBOX_TASK


def test_the_app_takes_its_broker_from_settings(settings):
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"
    app = make_celery_app()
    assert app.conf.broker_url == "amqp://guest:guest@127.0.0.1:5672//" and not app.conf.task_always_eager
    assert {JOB_TASK, OUTBOX_TASK} <= set(app.tasks)


def _round_trip(broker_url: str, result_backend: str, monkeypatch) -> None:
    discover()  # register every app's jobs and subscribers before the registries are swapped for the test
    monkeypatch.setattr(outbox, "_SUBSCRIBERS", [])
    monkeypatch.setattr(jobs, "_JOBS", dict(jobs._JOBS))
    got = []
    subscriber("test.celery.", name="test-celery")(lambda e: got.append(e.payload["n"]))
    periodic("test.celery_job", every=dt.timedelta(hours=1))(lambda: Job.objects.create(kind="celery-job"))
    event = outbox_publish(topic="test.celery.hello", payload={"n": 7}, partition="KM001")

    app = make_celery_app(broker_url, result_backend=result_backend, queue=f"mendian-test-{uuid.uuid4().hex}")
    # no broadcast (remote control) consumer and no heartbeats: the test worker starts and stops in seconds
    app.conf.worker_enable_remote_control = False
    app.conf.broker_heartbeat = 0
    task_postrun.connect(_close_connections, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            delivered = app.send_task(OUTBOX_TASK, queue=app.conf.task_default_queue).get(timeout=30)
            ran = app.send_task(JOB_TASK, args=("test.celery_job",),
                                queue=app.conf.task_default_queue).get(timeout=30)
            ran_again = app.send_task(JOB_TASK, args=("test.celery_job",),
                                      queue=app.conf.task_default_queue).get(timeout=30)
    finally:
        task_postrun.disconnect(_close_connections)
    assert delivered == {"delivered": 1, "failed": 0}
    assert got == [7]
    assert OutboxEvent.objects.get(pk=event.pk).delivered_at is not None
    assert (ran, ran_again) == (True, False)  # claimed through PeriodicRun: once per interval
    assert Job.objects.filter(kind="celery-job").count() == 1
    assert PeriodicRun.objects.get(name="test.celery_job").last_run_at <= timezone.now()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_tasks_run_through_redis(monkeypatch):
    _need("127.0.0.1", 6379, "Redis")
    _round_trip("redis://127.0.0.1:6379/14", "redis://127.0.0.1:6379/14", monkeypatch)


@pytest.mark.rabbitmq
@pytest.mark.django_db(transaction=True)
def test_tasks_run_through_rabbitmq(monkeypatch):
    _need("127.0.0.1", 5672, "RabbitMQ")
    _round_trip("amqp://guest:guest@127.0.0.1:5672//", "rpc://", monkeypatch)


def test_an_unreachable_broker_fails_in_ci_and_skips_outside(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        _need("127.0.0.1", 1, "nothing")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception):
        _need("127.0.0.1", 1, "nothing")
