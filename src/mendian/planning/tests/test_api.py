"""Planning API per role: HQ, buyer, regional director, store manager, cashier."""

from __future__ import annotations

import pytest
from django.test import Client

from mendian.org.tests.factories import user_with_role
from mendian.planning import services
from mendian.planning.models import ExternalFactor, ForecastRun

from .factories import AS_OF, small_chain

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    c = small_chain(skus=3)
    run = services.forecast_run_create(horizon=7)
    services.forecast_run_execute(run_id=run.pk)
    c.run = run
    return c


def test_hq_starts_a_run_and_a_retry_returns_the_same_run(api_client, chain):
    hq = api_client(user_with_role("hq"))
    body = {"locations": ["KM001"], "skus": ["GR000"], "horizon": 14}
    r = hq.post("/api/v1/forecast-runs", body, idempotency_key="run-1")
    assert r.status_code == 202, r.content
    run = r.json()
    assert (run["status"], run["horizon"], run["as_of"]) == ("queued", 14, AS_OF.isoformat())
    again = hq.post("/api/v1/forecast-runs", body, idempotency_key="run-1")
    assert again.status_code == 202 and again.json()["id"] == run["id"]
    assert ForecastRun.objects.count() == 2  # the fixture's and this one
    assert hq.post("/api/v1/forecast-runs", body).status_code == 400  # no Idempotency-Key
    r = hq.post("/api/v1/forecast-runs", {"locations": ["XX999"]}, idempotency_key="run-2")
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_code"
    r = hq.post("/api/v1/forecast-runs", {"horizon": 0}, idempotency_key="run-3")
    assert r.status_code == 422
    assert ForecastRun.objects.count() == 2
    # the worker executes it; progress and summary are visible
    services.forecast_run_next()
    got = hq.get(f"/api/v1/forecast-runs/{run['id']}").json()
    assert (got["status"], got["progress_done"], got["progress_total"]) == ("done", 1, 1)
    assert got["summary"]["series"] == 1 and "wape_snaive" in got["summary"]


def test_store_manager_runs_and_reads_only_their_store(api_client, chain):
    sm = api_client(user_with_role("store_manager", location=chain.km))
    r = sm.post("/api/v1/forecast-runs", {}, idempotency_key="sm-1")
    assert r.status_code == 202
    assert r.json()["params"]["location_ids"] == [chain.km.pk]
    r = sm.post("/api/v1/forecast-runs", {"locations": ["DL001"]}, idempotency_key="sm-2")
    assert r.status_code == 404
    assert sm.get(f"/api/v1/forecast-runs/{chain.run.pk}").status_code == 404  # a chain-wide run
    items = sm.get("/api/v1/forecasts").json()
    assert items["count"] == 3 and {i["location"] for i in items["items"]} == {"KM001"}
    assert sm.get("/api/v1/forecasts", location="DL001").status_code == 404
    assert sm.get("/api/v1/safety-stock", location="DL001").status_code == 404
    assert sm.get("/api/v1/slow-movers", location="DL001").status_code == 404


def test_forecast_shows_class_model_metrics_and_the_daily_forecast(api_client, chain):
    buyer = api_client(user_with_role("buyer"))
    r = buyer.get("/api/v1/forecasts", location="KM001", sku="GR000")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 1
    f = body["items"][0]
    assert (f["location"], f["sku"], f["run"]) == ("KM001", "GR000", chain.run.pk)
    assert f["demand_class"] in {"smooth", "erratic", "intermittent", "lumpy"}
    assert f["abc"] in {"A", "B", "C"} and f["model"] in f["candidates"]
    assert len(f["forecast"]) == 7 and f["censored_days"] == 5
    # the scored window (the last 7 days) has 5 censored days: accuracy only on the 2 observed ones
    assert set(f["metrics"]) == {"mase", "wape", "bias"}
    g = buyer.get("/api/v1/forecasts", location="DL001", sku="GR001").json()["items"][0]
    assert g["seasonal_naive"]["wape"] is not None and g["metrics"]["mase"] is not None
    assert buyer.get("/api/v1/forecasts", location="KM001", sku="NOPE").status_code == 404
    assert buyer.get("/api/v1/forecasts").json()["count"] == 6


def test_safety_stock_explains_itself(api_client, chain):
    region = api_client(user_with_role("region", region=chain.km.region))
    r = region.get("/api/v1/safety-stock", location="KM001", sku="GR001")
    assert r.status_code == 200
    p = r.json()["items"][0]
    e = p["explanation"]
    assert e["inputs"]["service_level"] == p["service_level"]
    assert e["formulas"]["safety_stock"].endswith(f"= {p['safety_stock']}")
    assert e["formulas"]["reorder_point"].endswith(f"= {p['reorder_point']}")
    assert p["order_up_to"] >= p["reorder_point"] >= p["safety_stock"]
    assert region.get("/api/v1/safety-stock").json()["count"] == 3  # the region's one store
    assert region.get("/api/v1/safety-stock", location="DL001").status_code == 404


def test_cashier_may_not_use_planning(api_client, chain):
    cashier = api_client(user_with_role("cashier", location=chain.km))
    assert cashier.get("/api/v1/forecasts", location="KM001").status_code == 403
    assert cashier.get("/api/v1/safety-stock", location="KM001").status_code == 403
    assert cashier.post("/api/v1/forecast-runs", {}, idempotency_key="c-1").status_code == 403
    assert ForecastRun.objects.count() == 1
    assert api_client().get("/api/v1/forecasts").status_code == 401


def _csv_post(user, body: bytes, content_type: str = "text/csv"):
    from conftest import ApiClient

    token = ApiClient(user).token
    return Client().post("/api/v1/external-factors/import", body, content_type=content_type,
                         HTTP_AUTHORIZATION=f"Bearer {token}")


def test_external_factor_import_by_csv_body_and_upload(chain):
    hq = user_with_role("hq")
    r = _csv_post(hq, b"date,name,city,value\n2026-09-01,temperature,Kunming,22.5\n2026-09-02,temperature,Kunming,23\n")
    assert r.status_code == 200, r.content
    assert r.json() == {"rows": 2, "names": ["temperature"], "first_day": "2026-09-01", "last_day": "2026-09-02"}
    from django.core.files.uploadedfile import SimpleUploadedFile

    from conftest import ApiClient

    token = ApiClient(hq).token
    up = Client().post("/api/v1/external-factors/import",
                       {"file": SimpleUploadedFile("w.csv", b"date,name,value\n2026-09-03,visitors,1200\n")},
                       HTTP_AUTHORIZATION=f"Bearer {token}")
    assert up.status_code == 200 and up.json()["rows"] == 1
    bad = _csv_post(hq, b"date,name,value\n2026-09-04,temperature,hot\n")
    assert bad.status_code == 422 and bad.json()["error"]["details"]["errors"][0]["line"] == 2
    sm = user_with_role("store_manager", location=chain.km)
    assert _csv_post(sm, b"date,name,value\n2026-09-05,temperature,1\n").status_code == 403
    assert ExternalFactor.objects.count() == 3


def test_slow_movers_flag_the_overstocked_sku_with_a_markdown_and_transfer_out(api_client, chain):
    sm = api_client(user_with_role("store_manager", location=chain.km))
    r = sm.get("/api/v1/slow-movers", location="KM001")
    assert r.status_code == 200
    body = r.json()
    assert body["location"] == "KM001"
    items = {i["sku"]: i for i in body["items"]}
    assert "GR002" in items  # 900 on hand
    it = items["GR002"]
    assert "overstock" in it["flags"] or "severe_overstock" in it["flags"]
    assert it["transfer_out_qty"] > 0 and it["transfer_out_qty"] < 900
    from decimal import Decimal

    assert it["list_price"] == "12.50"
    assert Decimal(it["proposed_price"]) == (Decimal("12.50") * (1 - Decimal(it["markdown_pct"]))).quantize(Decimal("0.01"))
    assert Decimal(it["markdown_pct"]) >= Decimal("0.10")
    assert body["as_of"] == AS_OF.isoformat()
    assert it["explanation"]["demand_source"] == f"forecast run {chain.run.pk}"
