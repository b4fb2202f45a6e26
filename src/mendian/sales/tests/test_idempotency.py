"""Retries are safe: a retry with the same Idempotency-Key returns the first result; a different body
with the same key is a 422; keys are per user."""

from __future__ import annotations

import pytest

from mendian.inventory.tests.factories import totals
from mendian.sales.models import Order, Refund, Shift

pytestmark = pytest.mark.django_db

BODY = {"store": "KM001", "channel": "pos", "lines": [{"sku": "S001", "quantity": 2}],
        "tenders": [{"method": "cash", "amount": "30.00"}]}


@pytest.fixture
def cashier(chain, open_shift, api_client):
    open_shift(chain.users["cashier_km1"], chain.km1)
    return api_client(chain.users["cashier_km1"])


def test_a_retry_returns_the_first_result_and_sells_once(chain, cashier):
    first = cashier.post("/api/v1/orders", BODY, idempotency_key="till-7-0001")
    again = cashier.post("/api/v1/orders", BODY, idempotency_key="till-7-0001")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Order.objects.count() == 1 and totals(chain.km1, chain.skus[0]) == (98, 0)


def test_the_same_key_with_another_body_is_422_and_writes_nothing(chain, cashier):
    cashier.post("/api/v1/orders", BODY, idempotency_key="till-7-0002")
    other = {**BODY, "lines": [{"sku": "S001", "quantity": 3}]}
    r = cashier.post("/api/v1/orders", other, idempotency_key="till-7-0002")
    assert r.status_code == 422 and r.json()["error"]["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1 and totals(chain.km1, chain.skus[0]) == (98, 0)


def test_keys_are_per_user(chain, cashier, open_shift, api_client):
    manager = chain.users["manager_km1"]
    open_shift(manager, chain.km1)
    a = cashier.post("/api/v1/orders", BODY, idempotency_key="same")
    b = api_client(manager).post("/api/v1/orders", BODY, idempotency_key="same")
    assert a.status_code == b.status_code == 201 and a.json()["number"] != b.json()["number"]


def test_a_refused_request_does_not_burn_the_key(chain, api_client):
    c = api_client(chain.users["cashier_km1"])
    r = c.post("/api/v1/orders", BODY, idempotency_key="early")
    assert r.status_code == 409  # no open shift yet
    c.post("/api/v1/shifts", {"store": "KM001", "opening_float": "0.00"})
    assert c.post("/api/v1/orders", BODY, idempotency_key="early").status_code == 201


def test_other_document_posts_accept_a_key(chain, cashier):
    number = cashier.post("/api/v1/orders", BODY, idempotency_key="o").json()["number"]
    body = {"lines": [{"line": 1, "quantity": 1}]}
    r1 = cashier.post(f"/api/v1/orders/{number}/refund", body, idempotency_key="rf-1")
    r2 = cashier.post(f"/api/v1/orders/{number}/refund", body, idempotency_key="rf-1")
    assert r1.status_code == r2.status_code == 201 and r1.json() == r2.json()
    assert Refund.objects.count() == 1 and totals(chain.km1, chain.skus[0]) == (99, 0)
    s1 = cashier.post("/api/v1/shifts", {"store": "KM002", "opening_float": "5"}, idempotency_key="sh")
    assert s1.status_code == 404  # cashier of KM001 only
    c2 = cashier.post(f"/api/v1/orders/{number}/refund", {"lines": [{"line": 1, "quantity": 1}]},
                      idempotency_key="rf-1")
    assert c2.status_code == 201 and Refund.objects.count() == 1
    r3 = cashier.post(f"/api/v1/orders/{number}/refund", {"lines": [{"line": 1, "quantity": 1}]},
                      idempotency_key="rf-2")
    assert r3.status_code == 201 and Refund.objects.count() == 2
    assert Shift.objects.count() == 1
