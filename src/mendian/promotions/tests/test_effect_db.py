"""Effect monitoring against a real database: orders through the real checkout (a 20%-off snacks
promotion in the Kunming region), rollups delivered as the worker does, then the selector, the API
and the self-pause job.

Baseline week 28 Sep–4 Oct (the promotion is not yet on), covered = snacks in KM stores:
  KM001 S001×2 = 25.00 (28 Sep), KM001 S002×4 = 12.00 (1 Oct), KM002 S001×1 = 12.50 (3 Oct)  → 49.50
  not covered: DL001 S001×10 (region DL), KM001 S003×3 (a drink)
Promotion week 5–11 Oct (S001 12.50 → 10.00, S002 3.00 → 2.40):
  KM001 S001×2 = 20.00 (discount 5.00, 5 Oct), KM001 S002×5 = 12.00 (3.00) + S003×1 (7 Oct),
  KM002 S001×4 = 40.00 (10.00, 9 Oct)                                                      → 72.00
  not covered: DL001 S001×1 (6 Oct, no promotion there)
One week against one week: expected 49.50, incremental 22.50, uplift 0.4545, discount 18.00,
cost per incremental yuan 18.00 / 22.50 = 0.8000; 3 orders, 11 units on covered lines.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from mendian.analytics.tests.chain import deliver, make_chain, pos_sale
from mendian.org.tests.factories import user_with_role
from mendian.platform.jobs import periodic_job
from mendian.platform.models import AuditEntry
from mendian.promotions import effect, services
from mendian.promotions.effect import EffectWindow, promotion_default_window, promotion_effect_get
from mendian.promotions.jobs import effect_watch
from mendian.promotions.models import Promotion, PromotionUsage

TZ = ZoneInfo("Asia/Shanghai")
WEEK = EffectWindow(start=dt.date(2026, 10, 5), end=dt.date(2026, 10, 11))


def local(m, d, h=12):
    return dt.datetime(2026, m, d, h, 0, tzinfo=TZ)


@pytest.fixture
def promo_week(db):
    c = make_chain()
    cashier, mgr2 = c.users["cashier_km1"], c.users["manager_km2"]
    dl = user_with_role("store_manager", username="m.dl", location=c.dl1)
    services.promotion_create(actor="test", code="SNK", name="零食八折", kind="special_price",
                              condition={"scope": {"categories": ["SNACK"]}, "regions": ["KM"]},
                              benefit={"rate": "0.8"}, starts_at=local(10, 5, 0), budget=D("1000.00"))
    # no end: the checkout asks "is any promotion active?" at the real clock
    services.promotion_set_status(actor="test", code="SNK", status="active")
    for who, store, lines, at in [
        (cashier, c.km1, [("S001", 2)], local(9, 28)), (cashier, c.km1, [("S002", 4)], local(10, 1)),
        (mgr2, c.km2, [("S001", 1)], local(10, 3)), (dl, c.dl1, [("S001", 10)], local(10, 1)),
        (cashier, c.km1, [("S003", 3)], local(10, 2)),
        (cashier, c.km1, [("S001", 2)], local(10, 5)), (cashier, c.km1, [("S002", 5), ("S003", 1)], local(10, 7)),
        (mgr2, c.km2, [("S001", 4)], local(10, 9)), (dl, c.dl1, [("S001", 1)], local(10, 6)),
    ]:
        pos_sale(c, who, store, lines, at=at, method="cash")
    deliver()
    return c


def test_the_effect_of_a_week_against_the_week_before(promo_week):
    p = Promotion.objects.get(code="SNK")
    assert promotion_default_window(p, today=dt.date(2026, 10, 11)) == WEEK
    e = promotion_effect_get(promotion=p, window=WEEK, today=dt.date(2026, 11, 25))
    f = e.figures
    assert (f.window.baseline_start, f.window.baseline_end) == (dt.date(2026, 9, 28), dt.date(2026, 10, 4))
    assert (f.orders, f.units, f.discount) == (3, 11, D("18.00"))
    assert (f.sales, f.baseline_sales, f.expected_sales) == (D("72.00"), D("49.50"), D("49.50"))
    assert (f.incremental_sales, f.uplift, f.cost_per_incremental) == (D("22.50"), D("0.4545"), D("0.8000"))
    assert f.quantity == 11
    assert (p.budget_used, e.budget_left) == (D("18.00"), D("982.00"))
    by_day = {d.day: d for d in f.series}
    assert (by_day[dt.date(2026, 10, 5)].sales, by_day[dt.date(2026, 10, 5)].baseline) == (D("20.00"), D("25.00"))
    assert (by_day[dt.date(2026, 10, 9)].orders, by_day[dt.date(2026, 10, 9)].discount) == (1, D("10.00"))
    assert e.coverage.description == {"categories": ["SNACK"], "regions": ["KM"]}
    assert e.verdict.code == "no_threshold"
    # the usage rows are those of the orders
    assert PromotionUsage.objects.filter(promotion=p).count() == 3


def test_api_effect_figures_series_and_errors(promo_week, api_client):
    hq = api_client(promo_week.users["hq"])
    r = hq.get("/api/v1/promotions/SNK/effect", **{"from": "2026-10-05", "to": "2026-10-11"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert {k: body[k] for k in ("from", "to", "days", "weeks", "baseline_from", "baseline_to", "orders", "units",
                                 "discount", "budget", "budget_used", "budget_left", "sales", "expected_sales",
                                 "incremental_sales", "uplift", "cost_per_incremental", "no_incremental")} == {
        "from": "2026-10-05", "to": "2026-10-11", "days": 7, "weeks": 1, "baseline_from": "2026-09-28",
        "baseline_to": "2026-10-04", "orders": 3, "units": 11, "discount": "18.00", "budget": "1000.00",
        "budget_used": "18.00", "budget_left": "982.00", "sales": "72.00", "expected_sales": "49.50",
        "incremental_sales": "22.50", "uplift": "0.4545", "cost_per_incremental": "0.8000", "no_incremental": False}
    assert body["series"][0] == {"offset": 0, "day": "2026-10-05", "sales": "20.00", "baseline": "25.00",
                                 "orders": 1, "discount": "5.00"}
    assert len(body["series"]) == 7
    # a shorter period: only 5 Oct against 28 Sep
    one = hq.get("/api/v1/promotions/SNK/effect", **{"from": "2026-10-05", "to": "2026-10-05"}).json()
    assert (one["sales"], one["expected_sales"], one["cost_per_incremental"]) == ("20.00", "25.00", None)
    assert one["no_incremental"] is True
    # errors: unknown code, bad dates, back to front, too long, not HQ
    r = hq.get("/api/v1/promotions/NOPE/effect")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert hq.get("/api/v1/promotions/SNK/effect", **{"from": "2026-13-01"}).status_code == 422
    r = hq.get("/api/v1/promotions/SNK/effect", **{"from": "2026-10-11", "to": "2026-10-05"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_period"
    assert hq.get("/api/v1/promotions/SNK/effect", **{"from": "2025-01-01", "to": "2026-10-05"}).status_code == 422
    cashier = api_client(promo_week.users["cashier_km1"])
    assert cashier.get("/api/v1/promotions/SNK/effect").status_code == 403


def test_api_sets_the_threshold_at_create_and_later(promo_week, api_client):
    hq = api_client(promo_week.users["hq"])
    r = hq.post("/api/v1/promotions", {"code": "T1", "name": "x", "kind": "amount_off",
                                       "benefit": {"tiers": [{"threshold": "100", "amount": "10"}]},
                                       "max_cost_per_incremental": "0.35", "pause_min_days": 5}, idempotency_key="t1")
    assert r.status_code == 201, r.content
    assert (r.json()["max_cost_per_incremental"], r.json()["pause_min_days"], r.json()["pause_min_orders"]) == \
        ("0.3500", 5, 20)

    def put(code, body):
        return hq.client.put(f"/api/v1/promotions/{code}/auto-pause", json.dumps(body),
                             content_type="application/json", **hq._headers(None))

    r = put("T1", {"max_cost_per_incremental": "0.5", "pause_min_days": 2, "pause_min_orders": 10})
    assert r.status_code == 200 and r.json()["max_cost_per_incremental"] == "0.5000"
    assert put("T1", {"max_cost_per_incremental": "-1"}).status_code == 422
    assert put("NOPE", {"max_cost_per_incremental": None}).status_code == 404
    assert put("T1", {"max_cost_per_incremental": None}).json()["max_cost_per_incremental"] is None
    assert list(AuditEntry.objects.filter(object_ref="T1").values_list("action", flat=True).order_by("id")) == \
        ["promotion.create", "promotion.auto_pause", "promotion.auto_pause"]


def _judge_from_the_start():
    # activated before the start: the minimums count from the start (5 Oct 00:00)
    Promotion.objects.filter(code="SNK").update(activated_at=local(10, 1))


def test_the_job_pauses_a_promotion_past_its_threshold_and_leaves_one_under_it(promo_week):
    _judge_from_the_start()
    now = local(10, 11, 9)  # judged on 5–10 Oct: 72.00 against 49.50 (Mon–Sat of the week before), 0.8000
    services.promotion_auto_pause_set(actor="test", code="SNK", max_cost_per_incremental=D("0.8"),
                                      pause_min_days=3, pause_min_orders=3)
    assert effect.promotions_effect_watch(now=now) == []  # 0.8000 is not past 0.8
    assert Promotion.objects.get(code="SNK").status == "active"
    services.promotion_auto_pause_set(actor="test", code="SNK", max_cost_per_incremental=D("0.8"),
                                      pause_min_days=3, pause_min_orders=4)
    assert effect.promotions_effect_watch(now=now) == []  # three orders: too early to judge
    services.promotion_auto_pause_set(actor="test", code="SNK", max_cost_per_incremental=D("0.75"),
                                      pause_min_days=3, pause_min_orders=3)
    assert effect.promotions_effect_watch(now=now) == ["SNK"]
    p = Promotion.objects.get(code="SNK")
    assert p.status == "paused" and "0.8000" in p.paused_reason and "0.7500" in p.paused_reason
    entry = AuditEntry.objects.filter(object_ref="SNK", action="promotion.paused").get()
    assert entry.actor == effect.MONITOR and entry.after["reason"] == p.paused_reason
    assert effect.promotions_effect_watch(now=now) == []  # paused: nothing more to do
    # re-activated by a person: the reason goes, the minimums count again from now
    services.promotion_set_status(actor="test", code="SNK", status="active")
    p.refresh_from_db()
    assert p.paused_reason == "" and p.activated_at is not None


def test_the_registered_job_runs_the_watch(promo_week):
    assert periodic_job("promotions.effect_watch").fn is effect_watch
    assert effect_watch() == 0  # no threshold: nothing to judge
