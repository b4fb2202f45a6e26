import threading

import pytest
from django.db import connection

from mendian.core.errors import InvalidInput
from mendian.org.tests.factories import UserFactory
from mendian.platform.idempotency import MissingIdempotencyKey, idempotent_create
from mendian.platform.models import IdempotencyRecord, Job


def _create(kind="x"):
    def create():
        job = Job.objects.create(kind=kind)
        return 201, {"id": job.id, "kind": kind}

    return create


@pytest.mark.django_db
def test_a_retry_with_the_same_key_and_body_replays_the_first_result():
    user = UserFactory()
    first = idempotent_create(user_id=user.id, scope="test.create", key="k1", payload={"a": 1}, create=_create())
    again = idempotent_create(user_id=user.id, scope="test.create", key="k1", payload={"a": 1}, create=_create())
    assert (first.status, first.replayed) == (201, False)
    assert (again.status, again.body, again.replayed) == (201, first.body, True)
    assert Job.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_a_different_body_is_a_422_and_creates_nothing():
    user = UserFactory()
    idempotent_create(user_id=user.id, scope="test.create", key="k1", payload={"a": 1}, create=_create())
    with pytest.raises(InvalidInput) as exc:
        idempotent_create(user_id=user.id, scope="test.create", key="k1", payload={"a": 2}, create=_create())
    assert exc.value.status == 422 and exc.value.code == "idempotency_key_reused"
    assert Job.objects.count() == 1


@pytest.mark.django_db
def test_a_missing_key_is_a_400_when_required_and_fine_otherwise():
    user = UserFactory()
    with pytest.raises(MissingIdempotencyKey) as exc:
        idempotent_create(user_id=user.id, scope="test.create", key=None, payload={}, create=_create())
    assert exc.value.status == 400 and exc.value.code == "idempotency_key_required"
    assert Job.objects.count() == 0
    r = idempotent_create(user_id=user.id, scope="test.create", key="", payload={}, create=_create(), required=False)
    assert r.status == 201 and Job.objects.count() == 1 and not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_keys_are_scoped_per_user():
    a, b = UserFactory(), UserFactory()
    idempotent_create(user_id=a.id, scope="test.create", key="k", payload={}, create=_create())
    r = idempotent_create(user_id=b.id, scope="test.create", key="k", payload={}, create=_create())
    assert not r.replayed and Job.objects.count() == 2


@pytest.mark.django_db
def test_a_failed_create_leaves_no_record_so_a_retry_runs_again():
    user = UserFactory()

    def failing():
        Job.objects.create(kind="half")
        raise InvalidInput("no")

    with pytest.raises(InvalidInput):
        idempotent_create(user_id=user.id, scope="test.create", key="k", payload={}, create=failing)
    assert not IdempotencyRecord.objects.exists() and not Job.objects.exists()
    assert not idempotent_create(user_id=user.id, scope="test.create", key="k", payload={}, create=_create()).replayed


@pytest.mark.django_db
def test_an_overlong_key_is_refused():
    user = UserFactory()
    with pytest.raises(InvalidInput):
        idempotent_create(user_id=user.id, scope="t", key="k" * 201, payload={}, create=_create())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_retries_of_one_key_create_exactly_one_row():
    user = UserFactory()
    barrier = threading.Barrier(20)
    results, errors = [], []

    def create():
        job = Job.objects.create(kind="race")
        # hold the transaction open a little so the others really wait on the key
        with connection.cursor() as cur:
            cur.execute("SELECT pg_sleep(0.2)")
        return 201, {"id": job.id}

    def client():
        try:
            barrier.wait()
            r = idempotent_create(user_id=user.id, scope="test.race", key="same", payload={"a": 1}, create=create)
            results.append(r)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Job.objects.filter(kind="race").count() == 1
    job_id = Job.objects.get(kind="race").id
    assert [r.body for r in results] == [{"id": job_id}] * 20
    assert sum(not r.replayed for r in results) == 1
