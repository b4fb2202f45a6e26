"""Every sales endpoint for every role: HQ and the store's own people act; a region only its stores;
other stores' people get 404 (never a hint that the document exists); buyers read but cannot sell."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.db import transaction

from mendian.org.tests.factories import user_with_role
from mendian.sales import services
from mendian.sales.domain import LineRequest, TenderRequest
from mendian.sales.models import Order, Shift
from mendian.sales.selectors import sale_context_get

pytestmark = pytest.mark.django_db

ROLES = {
    "hq": "ok", "region_km": "ok", "manager_km1": "ok", "cashier_km1": "ok",
    "region_dl": "hidden", "manager_km2": "hidden", "cashier_km2": "hidden",
    "buyer": "read_only",
}


def _online(chain, actor, *, pay=False, fulfilment="delivery"):
    ctx = sale_context_get(store_code="KM001", user_id=actor.pk)
    with transaction.atomic():
        r = services.order_create(actor=actor, ctx=ctx, channel="online", fulfilment=fulfilment,
                                  lines=[LineRequest("S001", 1)],
                                  tenders=[TenderRequest("card", D("12.50"))] if pay else [])
    return r.order


@pytest.fixture
def docs(chain):
    hq = chain.users["hq"]
    pending_pay = _online(chain, hq)
    pending_cancel = _online(chain, hq)
    paid = _online(chain, hq, pay=True)
    fulfilled = _online(chain, hq, pay=True)
    services.order_fulfil(actor=hq, order_id=fulfilled.pk)
    refundable = _online(chain, hq, pay=True)
    services.order_fulfil(actor=hq, order_id=refundable.pk)
    pickup = Order.objects.get(pk=_online(chain, hq, pay=True, fulfilment="pickup").pk)
    other = user_with_role("cashier", username="cashier2.KM001", location=chain.km1)
    shift = services.shift_open(actor=other, store_id=chain.km1.pk, opening_float=D("100"))
    return {"pay": pending_pay, "cancel": pending_cancel, "fulfil": paid, "complete": fulfilled,
            "refund": refundable, "pickup": pickup, "shift": shift}


@pytest.mark.parametrize("role", list(ROLES))
def test_every_endpoint_for_role(chain, docs, api_client, role):
    kind = ROLES[role]
    c = api_client(chain.users[role])
    want_write = {"ok": None, "hidden": 404, "read_only": 403}[kind]
    want_read = 404 if kind == "hidden" else 200
    seen: dict[str, int] = {}

    def check(name, resp, ok_status):
        seen[name] = resp.status_code
        expected = ok_status if want_write is None else want_write
        assert resp.status_code == expected, f"{role} {name}: {resp.status_code} {resp.content[:300]!r}"

    check("create", c.post("/api/v1/orders", {"store": "KM001", "channel": "online",
                                              "lines": [{"sku": "S002", "quantity": 1}]}, idempotency_key="s"), 201)
    n = docs["pay"].number
    r = c.get(f"/api/v1/orders/{n}")
    assert r.status_code == want_read, f"{role} get"
    r = c.get("/api/v1/orders")
    numbers = {o["number"] for o in r.json()["items"]}
    assert (n in numbers) == (kind != "hidden"), f"{role} list"
    if kind == "hidden":
        assert r.json()["count"] == 0
        assert c.get("/api/v1/orders", store="KM001").status_code == 404
    else:
        assert c.get("/api/v1/orders", store="KM001").json()["count"] >= 6
    check("pay", c.post(f"/api/v1/orders/{n}/pay", {"tenders": [{"method": "cash", "amount": "12.50"}]}), 200)
    check("fulfil", c.post(f"/api/v1/orders/{docs['fulfil'].number}/fulfil"), 200)
    check("complete", c.post(f"/api/v1/orders/{docs['complete'].number}/complete"), 200)
    check("cancel", c.post(f"/api/v1/orders/{docs['cancel'].number}/cancel"), 200)
    check("refund", c.post(f"/api/v1/orders/{docs['refund'].number}/refund", {"lines": [{"line": 1, "quantity": 1}]}),
          201)
    check("verify", c.post("/api/v1/pickups/verify", {"store": "KM001", "code": docs["pickup"].pickup_code}), 200)
    r = c.post("/api/v1/shifts", {"store": "KM001", "opening_float": "100.00"})
    check("shift_open", r, 201)
    own_shift = r.json()["id"] if r.status_code == 201 else docs["shift"].pk
    check("shift_close", c.post(f"/api/v1/shifts/{own_shift}/close", {"counted_cash": "100.00"}), 200)
    r = c.get("/api/v1/shifts")
    assert (docs["shift"].pk in {s["id"] for s in r.json()["items"]}) == (kind != "hidden"), f"{role} shift list"
    if kind == "hidden":
        assert c.get("/api/v1/shifts", store="KM001").status_code == 404
    assert c.get(f"/api/v1/shifts/{docs['shift'].pk}").status_code == want_read, f"{role} shift get"

    # refused writes changed nothing
    if kind != "ok":
        states = dict(Order.objects.filter(pk__in=[d.pk for k, d in docs.items() if k != "shift"])
                      .values_list("pk", "status"))
        assert states == {docs["pay"].pk: "pending", docs["cancel"].pk: "pending", docs["fulfil"].pk: "paid",
                          docs["complete"].pk: "fulfilled", docs["refund"].pk: "fulfilled",
                          docs["pickup"].pk: "paid"}
        assert not Order.objects.filter(lines__sku__code="S002").exists()  # the refused create
        assert Shift.objects.get(pk=docs["shift"].pk).status == "open"
        assert Shift.objects.filter(status="open").count() == 1


def test_a_cashier_cannot_close_a_colleagues_shift_but_the_manager_can(chain, docs, api_client):
    shift = docs["shift"]
    r = api_client(chain.users["cashier_km1"]).post(f"/api/v1/shifts/{shift.pk}/close", {"counted_cash": "100"})
    assert r.status_code == 403 and Shift.objects.get(pk=shift.pk).status == "open"
    r = api_client(chain.users["manager_km1"]).post(f"/api/v1/shifts/{shift.pk}/close", {"counted_cash": "100"})
    assert r.status_code == 200 and r.json()["variance"] == "0.00"


def test_a_user_managing_two_stores_sells_at_both(chain, api_client):
    both = user_with_role("store_manager", username="manager.two", location=chain.km1)
    from mendian.org.models import RoleAssignment

    RoleAssignment.objects.create(user=both, role="store_manager", location=chain.dl1)
    c = api_client(both)
    for store in ("KM001", "DL001"):
        r = c.post("/api/v1/orders", {"store": store, "channel": "online", "lines": [{"sku": "S001", "quantity": 1}]},
                   idempotency_key=f"two-{store}")
        assert r.status_code == 201
    assert c.post("/api/v1/orders", {"store": "KM002", "channel": "online", "lines": [{"sku": "S001", "quantity": 1}]},
                  idempotency_key="two-KM002").status_code == 404
    assert c.get("/api/v1/orders").json()["count"] == 2
