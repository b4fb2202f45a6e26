"""The transfers pages of the console: shortages, plan, accept, ship, receive with damage, routes, scope."""

from __future__ import annotations

import re

import pytest

from mendian.core.timeutil import local_date
from mendian.inventory.selectors import stock_totals
from mendian.inventory.services import stock_ledger_check
from mendian.transfers.models import TransferOrder, TransferPlan
from mendian.transfers.tests.conftest import Chain

pytestmark = pytest.mark.django_db


@pytest.fixture
def tchain(db) -> Chain:
    c = Chain()
    # KM001 holds plenty of A and B; KM002 has none and lost online orders; KM003 a little of A
    c.receive(c.km001, c.sku_a, 40)
    c.receive(c.km001, c.sku_b, 40)
    c.receive(c.km003, c.sku_a, 12)
    c.lost(c.km002, c.sku_a, 5)
    c.lost(c.km002, c.sku_b, 3)
    return c


def _text(resp) -> str:
    return resp.content.decode()


def _messages(resp) -> list[str]:
    return [str(m) for m in resp.context["messages"]] if resp.context and "messages" in resp.context else []


def test_the_done_when_flow_through_the_pages(tchain, signed_in):
    c = tchain
    m2 = signed_in(c.m2)
    r = m2.get("/transfers/shortages/")
    assert r.status_code == 200
    rows = {row["sku"].code: (row["available"], row["need"]) for row in r.context["rows"]}
    assert rows == {"A001": (0, 7), "B001": (0, 5)}  # min stock 2 + lost demand
    assert m2.get("/transfers/plans/").status_code == 404  # a store manager does not plan

    hq = signed_in(c.hq)
    r = hq.post("/transfers/plans/", {"region": "KM", "lane_fixed_cost": "30", "max_distance_km": "150",
                                      "time_limit": "2", "mip_seconds": "5"})
    assert r.status_code == 302, _text(r)
    plan = TransferPlan.objects.get()
    page = hq.get(r["Location"])
    assert page.status_code == 200
    moves = {(m.from_location.code, m.to_location.code, m.sku.code, m.quantity) for m in page.context["moves"]}
    assert moves == {("KM001", "KM002", "A001", 7), ("KM001", "KM002", "B001", 5)}
    f = page.context["f"]
    assert f["need_units"] == 12 and f["met_units"] == 12 and f["objective"]["lane_count"] == 1
    assert "mip_gap_pct" in f and f["mip_gap_pct"] >= 0
    assert 'id="accept-plan"' in _text(page)
    r = hq.post(f"/transfers/plans/{plan.pk}/", follow=True)
    assert "Plan accepted: 1 transfers approved." in _messages(r)
    order = TransferOrder.objects.get()
    assert (order.status, order.from_location.code, order.to_location.code) == ("approved", "KM001", "KM002")

    # the receiver may not ship: refused, nothing changed
    r = m2.post(f"/transfers/{order.number}/ship/", follow=True)
    assert any("may not ship" in m for m in _messages(r))
    order.refresh_from_db()
    assert order.status == "approved" and stock_totals(location_id=c.km001.pk, sku_id=c.sku_a.pk)[0] == 40

    m1 = signed_in(c.m1)
    page = m1.get(f"/transfers/{order.number}/")
    assert page.context["actions"] == {"approve": False, "ship": True, "receive": False, "cancel": True}
    r = m1.post(f"/transfers/{order.number}/ship/", follow=True)
    assert f"Transfer {order.number} shipped." in _messages(r)
    order.refresh_from_db()
    assert order.status == "shipped"
    assert stock_totals(location_id=c.km001.pk, sku_id=c.sku_a.pk)[0] == 33

    # over-receipt refused, nothing changed
    r = m2.post(f"/transfers/{order.number}/receive/",
                {f"received_{c.sku_a.pk}": "7", f"damaged_{c.sku_a.pk}": "1"}, follow=True)
    assert any("between 0 and what was shipped" in m for m in _messages(r))
    order.refresh_from_db()
    assert order.status == "shipped"
    page = m2.get(f"/transfers/{order.number}/")
    assert f'name="damaged_{c.sku_a.pk}"' in _text(page)
    r = m2.post(f"/transfers/{order.number}/receive/",
                {f"received_{c.sku_a.pk}": "6", f"damaged_{c.sku_a.pk}": "1",
                 f"received_{c.sku_b.pk}": "5", f"damaged_{c.sku_b.pk}": "0"}, follow=True)
    assert f"Transfer {order.number} received." in _messages(r)
    lines = {ln.sku.code: (ln.shipped, ln.received, ln.damaged, ln.short) for ln in order.lines.all()}
    assert lines == {"A001": (7, 6, 1, 0), "B001": (5, 5, 0, 0)}
    assert stock_totals(location_id=c.km002.pk, sku_id=c.sku_a.pk)[0] == 6
    assert stock_ledger_check() == []

    r = hq.get("/transfers/routes/", {"day": local_date().isoformat()})
    assert r.status_code == 200
    v = r.context["vehicles"]
    assert len(v) == 1
    assert [(s["code"], s["action"]) for s in v[0]["stops"]] == [
        ("WH01", "start"), ("KM001", "pickup"), ("KM002", "delivery"), ("WH01", "end")]
    chart = r.context["chart"]
    assert {s["name"]: s["depot"] for s in chart["sites"]} == {"KM001": False, "KM002": False, "WH01": True}
    assert len(chart["routes"]) == 1 and len(chart["routes"][0]["coords"]) == 4
    assert 'id="route-map"' in _text(r)


def test_a_store_manager_sees_only_transfers_touching_their_store(tchain, signed_in, api_client):
    c = tchain
    api = api_client(c.m1)
    r = api.post("/api/v1/transfers", {"from_location": "KM001", "to_location": "KM002",
                                       "lines": [{"sku": "A001", "quantity": 3}]}, idempotency_key="t1")
    assert r.status_code == 201, r.content
    number = r.json()["number"]
    m3 = signed_in(c.m3)
    assert m3.get(f"/transfers/{number}/").status_code == 404
    assert m3.post(f"/transfers/{number}/cancel/").status_code == 404
    assert number not in _text(m3.get("/transfers/"))
    assert TransferOrder.objects.get(number=number).status == "proposed"
    m2 = signed_in(c.m2)
    listing = m2.get("/transfers/")
    assert [o.number for o in listing.context["rows"]] == [number]
    assert re.search(rf'data-number="{number}"', _text(listing))
    # the store dashboard lists the transfers waiting for the sender
    from mendian.console.views.transfers import _store_tasks

    tasks = {str(t.label): t.count for t in _store_tasks(c.km001)}
    assert tasks == {"Transfers to receive": 0, "Transfers to send": 1}
    m1 = signed_in(c.m1)
    r = m1.post(f"/transfers/{number}/approve/", follow=True)
    assert f"Transfer {number} approved." in _messages(r)
    r = m2.post(f"/transfers/{number}/cancel/", follow=True)
    assert f"Transfer {number} cancelled." in _messages(r)
    assert TransferOrder.objects.get(number=number).status == "cancelled"
    assert m1.post(f"/transfers/{number}/explode/").status_code == 404
