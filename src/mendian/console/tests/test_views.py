from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.test import Client
from openpyxl import load_workbook

from mendian.analytics.models import SalesDayLocation, SalesTarget
from mendian.analytics.rollups import rollups_rebuild
from mendian.analytics.tests.chain import deliver, ensure_shift, online_order, pos_sale
from mendian.platform.models import Job, LoginAttempt
from mendian.sales.models import Order


def test_pages_need_a_sign_in(db, client):
    resp = client.get("/dashboards/sales/")
    assert resp.status_code == 302 and resp["Location"].startswith("/login/?next=")


def test_sign_in_uses_the_api_users_and_throttling(chain, client):
    resp = client.post("/login/", {"username": "hq", "password": "wrong"})
    assert resp.status_code == 401 and "/dashboards/" not in resp.get("Location", "")
    for _ in range(4):
        client.post("/login/", {"username": "hq", "password": "wrong"})
    assert LoginAttempt.objects.filter(username="hq", success=False).count() == 5
    resp = client.post("/login/", {"username": "hq", "password": "demo"})
    assert resp.status_code == 429  # locked even with the right password
    assert "_auth_user_id" not in client.session


def test_roles_land_on_their_dashboard_and_sign_out(chain, signed_in):
    for user, target in (("hq", "/dashboards/sales/"), ("region_km", "/dashboards/sales/"),
                         ("manager_km1", "/dashboards/store/"), ("buyer", "/dashboards/purchasing/")):
        c = Client()
        c.post("/login/", {"username": chain.users[user].username, "password": "demo"})
        resp = c.get("/")
        assert resp.status_code == 302 and resp["Location"] == target, user
        assert c.get(target).status_code == 200
        assert c.post("/logout/").status_code == 302
        assert c.get(target).status_code == 302


def test_a_store_manager_cannot_reach_another_stores_pages(chain, signed_in):
    other = online_order(chain.users["hq"], chain.dl1, [("S001", 1)])
    mine = online_order(chain.users["hq"], chain.km1, [("S001", 1)])
    c = signed_in(chain.users["manager_km1"])
    for path in ("/locations/DL001/", "/locations/DL001/stock/S001/", f"/orders/{other.order.number}/",
                 "/dashboards/store/?store=DL001", "/explore/?store=DL001", "/explore/?region=DL",
                 "/pos/?store=DL001", "/pickups/?store=DL001", "/shifts/?store=DL001", "/counts/?store=DL001"):
        assert c.get(path).status_code == 404, path
    for path in ("/locations/KM001/", "/locations/KM001/stock/S001/", f"/orders/{mine.order.number}/",
                 "/dashboards/store/?store=KM001", "/explore/?store=KM001"):
        assert c.get(path).status_code == 200, path
    listing = c.get("/orders/").content.decode()
    assert mine.order.number in listing and other.order.number not in listing
    assert b"DL001" not in c.get("/locations/").content
    # a POST to another store's till changes nothing
    assert c.post("/pickups/", {"store": "DL001", "code": other.order.pickup_code}).status_code == 404
    assert Order.objects.get(pk=other.order.pk).status == "paid"


def test_the_drill_down_goes_from_chain_to_sku_with_the_path_in_the_url(chain, signed_in):
    pos_sale(chain, chain.users["cashier_km1"], chain.km1, [("S001", 2)],
             at=dt.datetime(2026, 3, 10, 9, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    deliver()
    c = signed_in(chain.users["hq"])
    steps = ["/explore/?year=2026", "/explore/?region=KM&year=2026", "/explore/?region=KM&store=KM001&year=2026",
             "/explore/?region=KM&store=KM001&category=FOOD&year=2026",
             "/explore/?region=KM&store=KM001&category=SNACK&year=2026",
             "/explore/?region=KM&store=KM001&category=SNACK&sku=S001&year=2026",
             "/explore/?region=KM&store=KM001&category=SNACK&sku=S001&year=2026&month=3",
             "/explore/?region=KM&store=KM001&category=SNACK&sku=S001&year=2026&month=3&day=10"]
    for here, there in zip(steps, steps[1:], strict=False):
        html = c.get(here).content.decode()
        assert there.replace("&", "&amp;") in html, (here, there)
    assert "25.00" in c.get(steps[-1]).content.decode()
    html = c.get("/explore/?region=KM&store=KM001&year=2026&month=3&day=10").content.decode()
    assert "09:00" in html and "25.00" in html


def test_every_table_exports_to_excel_and_csv(chain, signed_in):
    pos_sale(chain, chain.users["cashier_km1"], chain.km1, [("S001", 2), ("S003", 1)])
    deliver()
    c = signed_in(chain.users["hq"])
    resp = c.get("/explore/", {"region": "KM", "export": "xlsx", "table": "by-store"})
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(resp.content)).active
    rows = list(ws.values)
    assert rows[0][:2] == ("Store", "Sales")
    assert [(r[0], r[1]) for r in rows[1:]] == [("KM001 Store KM001", 34.9), ("KM002 Store KM002", 0)]
    assert ws["B2"].number_format == "#,##0.00"
    resp = c.get("/dashboards/sales/", {"export": "csv", "table": "sales-by-region"})
    text = resp.content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:2] == ["Region", "Sales"]
    assert table[1][:2] == ["KM Kunming", "34.90"] and table[-1][:2] == ["Total", "34.90"]
    resp = c.get("/pivot/", {"rows": "store", "cols": "channel", "export": "csv", "table": "pivot"})
    assert "KM001 Store KM001,34.90,34.90" in resp.content.decode("utf-8-sig")


def test_a_pos_sale_in_the_console_reaches_the_dashboard(chain, signed_in):
    cashier = chain.users["cashier_km1"]
    c = signed_in(cashier)
    assert b"no-shift" in c.get("/pos/").content
    c.post("/shifts/", {"store": "KM001", "action": "open", "opening_float": "100.00"})
    assert b"no-shift" not in c.get("/pos/").content
    c.post("/pos/", {"store": "KM001", "action": "add", "code": "S001", "quantity": "2"})
    resp = c.post("/pos/", {"store": "KM001", "action": "add", "code": "NOPE", "quantity": "1"},
                  HTTP_HX_REQUEST="true")
    assert b"cart-total" in resp.content and b"<html" not in resp.content and "25.00" in resp.content.decode()
    resp = c.post("/pos/checkout/", {"store": "KM001", "method": "cash", "amount": "30.00"})
    order = Order.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/orders/{order.number}/"
    assert (order.channel, order.status, order.total, order.change) == ("pos", "completed", D("25.00"), D("5.00"))
    assert SalesDayLocation.objects.count() == 0
    deliver()
    page = c.get("/dashboards/store/?period=today").content.decode()
    assert "¥25.00" in page
    # an empty cart sells nothing
    assert c.post("/pos/checkout/", {"store": "KM001", "method": "cash"}).status_code == 409
    assert Order.objects.count() == 1


def test_pickup_verification_in_the_console(chain, signed_in):
    order = online_order(chain.users["hq"], chain.km1, [("S002", 1)]).order
    c = signed_in(chain.users["cashier_km1"])
    assert order.number in c.get("/pickups/").content.decode()
    resp = c.post("/pickups/", {"store": "KM001", "code": "000000" if order.pickup_code != "000000" else "111111"})
    assert resp.status_code == 409
    assert Order.objects.get(pk=order.pk).status == "paid"
    resp = c.post("/pickups/", {"store": "KM001", "code": order.pickup_code})
    assert resp.status_code == 200 and b"pickup-ok" in resp.content
    assert Order.objects.get(pk=order.pk).status == "completed"
    assert c.post("/pickups/", {"store": "KM001", "code": order.pickup_code}).status_code == 409


def test_language_switch_and_browser_default(chain, signed_in):
    c = signed_in(chain.users["hq"])
    assert "销售看板" in c.get("/dashboards/sales/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert "Sales dashboard" in c.get("/dashboards/sales/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    resp = c.post("/i18n/setlang/", {"language": "en", "next": "/dashboards/sales/"})
    assert resp.status_code == 302
    assert "Sales dashboard" in c.get("/dashboards/sales/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()


def test_targets_form_and_import(chain, signed_in):
    c = signed_in(chain.users["region_km"])
    page = c.get("/targets/?month=2026-03").content.decode()
    assert "KM001" in page and "DL001" not in page
    c.post("/targets/", {"month": "2026-03", "t_KM001": "5000", "t_KM002": ""})
    assert list(SalesTarget.objects.values_list("location__code", "amount")) == [("KM001", D("5000.00"))]
    upload = io.BytesIO(b"location,day,visitors\nKM002,2026-03-10,77\n")
    upload.name = "traffic.csv"
    c.post("/targets/", {"kind": "foot_traffic", "file": upload})
    job = Job.objects.get()
    assert (job.kind, job.status, job.progress_done) == ("analytics.import.foot_traffic", "done", 1)
    m = signed_in(chain.users["manager_km1"])
    m.post("/targets/", {"month": "2026-03", "t_KM001": "1"})
    assert SalesTarget.objects.get().amount == D("5000.00")


def test_the_rebuild_job_reports_progress(chain, signed_in):
    from mendian.analytics.jobs import run_queued_jobs

    pos_sale(chain, chain.users["cashier_km1"], chain.km1, [("S001", 1)])
    c = signed_in(chain.users["hq"])
    c.post("/jobs/rollups-rebuild/")
    job = Job.objects.get()
    assert job.status == "queued"
    assert b'hx-trigger="every 2s"' in c.get("/jobs/").content
    run_queued_jobs()
    job.refresh_from_db()
    assert (job.status, job.progress_done, job.progress_total, job.result["orders"]) == ("done", 1, 1, 1)
    assert SalesDayLocation.objects.get().amount == D("12.50")
    m = signed_in(chain.users["manager_km1"])
    assert m.post("/jobs/rollups-rebuild/").status_code == 404


@pytest.mark.parametrize("path", ["/dashboards/purchasing/", "/pivot/?rows=hour&cols=sku", "/pivot/?rows=month",
                                  "/explore/?year=2001", "/locations/?sku=S001", "/counts/", "/shifts/"])
def test_pages_render_for_hq(chain, signed_in, path):
    ensure_shift(chain, chain.users["hq"], chain.km1)
    rollups_rebuild()
    assert signed_in(chain.users["hq"]).get(path).status_code == 200


def test_bad_path_values_are_404_not_500(chain, signed_in):
    c = signed_in(chain.users["hq"])
    for path in ("/explore/?year=abc", "/explore/?year=2026&month=13", "/explore/?sku=NOPE", "/explore/?region=XX",
                 "/locations/NOPE/", "/orders/NOPE/", "/dashboards/sales/?date=2026-02-30"):
        assert c.get(path).status_code == 404, path
