import datetime as dt
import threading

import pytest

from mendian.platform import jobs, outbox
from mendian.platform.jobs import periodic
from mendian.platform.models import OutboxEvent, PeriodicRun
from mendian.platform.outbox import outbox_publish, subscriber
from mendian.platform.worker import discover, worker_loop, worker_tick


@pytest.fixture
def isolated(monkeypatch):
    discover()
    monkeypatch.setattr(jobs, "_JOBS", {})
    monkeypatch.setattr(outbox, "_SUBSCRIBERS", [])


@pytest.mark.django_db
def test_a_worker_tick_delivers_events_and_runs_due_jobs(isolated):
    got, ran = [], []
    subscriber("test.", name="t")(got.append)
    periodic("test.tick", every=dt.timedelta(minutes=5))(lambda: ran.append(1))
    outbox_publish(topic="test.e", payload={"n": 1}, partition="KM001")
    tick = worker_tick()
    assert (tick.delivered, tick.failed, tick.jobs) == (1, 0, ["test.tick"])
    assert len(got) == 1 and ran == [1]
    assert worker_tick().jobs == []  # not due again for five minutes
    assert PeriodicRun.objects.filter(name="test.tick").exists()


@pytest.mark.django_db(transaction=True)
def test_the_worker_loop_runs_in_a_thread_until_stopped(isolated):
    got = []
    subscriber("test.", name="t")(got.append)
    outbox_publish(topic="test.e", payload={"n": 1})
    stop = threading.Event()
    thread = threading.Thread(target=worker_loop, kwargs={"interval": 0.05, "stop_event": stop})
    thread.start()  # not the main thread: no signal handlers, stopped by the event
    for _ in range(200):
        if got:
            break
        stop.wait(0.05)
    stop.set()
    thread.join(10)
    assert not thread.is_alive() and len(got) == 1
    assert OutboxEvent.objects.get().delivered_at is not None
