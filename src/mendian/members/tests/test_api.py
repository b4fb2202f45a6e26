from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from mendian.members import services
from mendian.members.models import Coupon, CouponBatch, CouponTemplate, Member
from mendian.org.tests.factories import LocationFactory, user_with_role
from mendian.platform.models import AuditEntry

from .factories import CouponTemplateFactory, MemberFactory, standard_tiers

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    standard_tiers()
    store = LocationFactory(code="KM001")
    other = LocationFactory(code="KM002")
    users = {
        "hq": user_with_role("hq", username="hq"),
        "store_manager": user_with_role("store_manager", username="sm", location=store),
        "cashier": user_with_role("cashier", username="cashier", location=store),
        "buyer": user_with_role("buyer", username="buyer"),
    }
    pii = user_with_role("hq", username="hq_pii")
    pii.user_permissions.add(Permission.objects.get(codename="view_pii"))
    users["hq_pii"] = pii
    return {"store": store, "other": other, "users": users}


def _register(client, mobile="13812341234", key="k1", **extra):
    return client.post("/api/v1/members", {"mobile": mobile, "name": "李四", **extra}, idempotency_key=key)


@pytest.mark.parametrize("role,status", [("hq", 201), ("store_manager", 201), ("cashier", 201), ("buyer", 403)])
def test_register_per_role(api_client, world, role, status):
    resp = _register(api_client(world["users"][role]), store="KM001")
    assert resp.status_code == status, resp.content
    assert Member.objects.count() == (1 if status == 201 else 0)
    if status == 201:
        body = resp.json()
        assert body["mobile"] == "138****1234" and body["store"] == "KM001" and body["tier"]["code"] == "NORMAL"


def test_cashier_registers_at_own_store_by_default_and_not_at_others(api_client, world):
    c = api_client(world["users"]["cashier"])
    assert _register(c, store="KM002").status_code == 403
    resp = _register(c, key="k2")
    assert resp.status_code == 201 and resp.json()["store"] == "KM001"


def test_register_is_idempotent_and_duplicates_answer_409_with_the_code(api_client, world):
    c = api_client(world["users"]["cashier"])
    first = _register(c)
    again = _register(c)
    assert again.status_code == 201 and again.json() == first.json()
    dup = _register(c, mobile="+86 13812341234", key="k3")
    assert dup.status_code == 409
    assert dup.json()["error"]["code"] == "member_exists"
    assert dup.json()["error"]["details"] == {"member": first.json()["code"]}
    assert Member.objects.count() == 1
    assert _register(c, mobile="12345", key="k5").status_code == 422
    assert _register(c, mobile="12345678901", key="k6").json()["error"]["code"] == "invalid_mobile"


def test_register_needs_idempotency_key(api_client, world):
    resp = api_client(world["users"]["hq"]).post("/api/v1/members", {"mobile": "13812341234"})
    assert resp.status_code == 400 and Member.objects.count() == 0


def test_mobile_lookup_masks_without_pii_and_is_audited(api_client, world):
    m = MemberFactory(mobile="13812341234")
    for role, shown in [("cashier", "138****1234"), ("store_manager", "138****1234"), ("hq", "138****1234"),
                        ("hq_pii", "13812341234")]:
        resp = api_client(world["users"][role]).get("/api/v1/members", mobile="138 1234 1234")
        assert resp.status_code == 200
        assert resp.json()["count"] == 1
        assert resp.json()["items"][0]["code"] == m.code and resp.json()["items"][0]["mobile"] == shown
    assert AuditEntry.objects.filter(action="member.lookup", object_ref=m.code).count() == 4
    assert api_client(world["users"]["buyer"]).get("/api/v1/members", mobile="13812341234").status_code == 403
    miss = api_client(world["users"]["cashier"]).get("/api/v1/members", mobile="13900000000")
    assert miss.json() == {"items": [], "count": 0}


def test_listing_without_mobile_is_hq_only(api_client, world):
    MemberFactory()
    assert api_client(world["users"]["cashier"]).get("/api/v1/members").status_code == 422
    assert api_client(world["users"]["hq"]).get("/api/v1/members").json()["count"] == 1


def test_member_get_per_role(api_client, world):
    m = MemberFactory(mobile="13812341234")
    for role, status in [("hq", 200), ("store_manager", 200), ("cashier", 200), ("buyer", 403)]:
        assert api_client(world["users"][role]).get(f"/api/v1/members/{m.code}").status_code == status
    assert api_client(world["users"]["hq_pii"]).get(f"/api/v1/members/{m.code}").json()["mobile"] == "13812341234"
    assert api_client(world["users"]["cashier"]).get("/api/v1/members/M404").status_code == 404


def test_wallet_and_points(api_client, world):
    m = MemberFactory()
    CouponTemplateFactory(code="W")
    c = services.coupon_claim(member=m, template_code="W")
    services.points_adjust(actor="t", member=m, points=1234, note="x")
    cl = api_client(world["users"]["cashier"])
    w = cl.get(f"/api/v1/members/{m.code}/wallet").json()
    assert w["count"] == 1 and w["items"][0]["code"] == c.code and w["items"][0]["state"] == "available"
    assert w["items"][0]["amount"] == "10.00" and w["items"][0]["threshold"] == "100.00"
    p = cl.get(f"/api/v1/members/{m.code}/points").json()
    assert (p["balance"], p["value"], p["count"]) == (1234, "12.34", 1)
    assert api_client(world["users"]["buyer"]).get(f"/api/v1/members/{m.code}/points").status_code == 403


def test_points_adjust_is_hq_only(api_client, world):
    m = MemberFactory()
    resp = api_client(world["users"]["cashier"]).post(f"/api/v1/members/{m.code}/points/adjust",
                                                       {"points": 100, "note": "x"})
    assert resp.status_code == 403
    m.refresh_from_db()
    assert m.points_balance == 0
    ok = api_client(world["users"]["hq"]).post(f"/api/v1/members/{m.code}/points/adjust",
                                               {"points": 100, "note": "goodwill"})
    assert ok.status_code == 200 and ok.json()["balance"] == 100


TEMPLATE = {"code": "SPRING10", "name": "春季满100减10", "kind": "threshold", "amount": "10.00",
            "threshold": "100.00", "valid_days": 14, "total_quota": 1000, "claimable": True,
            "categories": ["FOOD"], "regions": ["YN"]}


@pytest.mark.parametrize("role,status", [("hq", 201), ("store_manager", 403), ("cashier", 403), ("buyer", 403)])
def test_template_create_per_role(api_client, world, role, status):
    resp = api_client(world["users"][role]).post("/api/v1/coupon-templates", TEMPLATE, idempotency_key="t1")
    assert resp.status_code == status, resp.content
    assert CouponTemplate.objects.count() == (1 if status == 201 else 0)
    if status == 201:
        assert resp.json()["amount"] == "10.00" and resp.json()["regions"] == ["YN"]


def test_template_validation(api_client, world):
    hq = api_client(world["users"]["hq"])
    bad = hq.post("/api/v1/coupon-templates", {**TEMPLATE, "amount": "150.00"}, idempotency_key="t2")
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "amount"
    nodate = hq.post("/api/v1/coupon-templates", {**TEMPLATE, "valid_days": None}, idempotency_key="t3")
    assert nodate.status_code == 422
    pct = hq.post("/api/v1/coupon-templates", {**TEMPLATE, "code": "P", "kind": "percent", "rate": "0.85",
                                                "cap": "30.00", "threshold": "0"}, idempotency_key="t4")
    assert pct.status_code == 201 and pct.json()["rate"] == "0.8500"
    assert CouponTemplate.objects.count() == 1


def test_claim_and_quota_409(api_client, world):
    m = MemberFactory()
    CouponTemplateFactory(code="C1", per_member_limit=1)
    cl = api_client(world["users"]["cashier"])
    ok = cl.post("/api/v1/coupons/claim", {"member": m.code, "template": "C1"}, idempotency_key="c1")
    assert ok.status_code == 201 and ok.json()["state"] == "available"
    assert cl.post("/api/v1/coupons/claim", {"member": m.code, "template": "C1"},
                   idempotency_key="c1").json() == ok.json()
    again = cl.post("/api/v1/coupons/claim", {"member": m.code, "template": "C1"}, idempotency_key="c2")
    assert again.status_code == 409 and again.json()["error"]["code"] == "coupon_member_limit"
    assert cl.post("/api/v1/coupons/claim", {"member": "NOPE", "template": "C1"},
                   idempotency_key="c3").status_code == 422
    assert Coupon.objects.count() == 1


def test_batch_per_role_and_progress(api_client, world):
    members = [MemberFactory() for _ in range(3)]
    CouponTemplateFactory(code="B1", claimable=False)
    body = {"template": "B1", "member_codes": [m.code for m in members]}
    assert api_client(world["users"]["store_manager"]).post("/api/v1/coupon-batches", body,
                                                            idempotency_key="b1").status_code == 403
    hq = api_client(world["users"]["hq"])
    resp = hq.post("/api/v1/coupon-batches", body, idempotency_key="b1")
    assert resp.status_code == 201 and resp.json()["issued"] == 3 and resp.json()["status"] == "done"
    number = resp.json()["number"]
    assert hq.get(f"/api/v1/coupon-batches/{number}").json()["processed"] == 3
    assert CouponBatch.objects.count() == 1 and Coupon.objects.filter(source="batch").count() == 3
    bad = hq.post("/api/v1/coupon-batches", {"template": "B1", "segment": {"shoe_size": 42}}, idempotency_key="b2")
    assert bad.status_code == 422


def test_store_offers(api_client, world):
    LocationFactory(code="NEAR", latitude=Decimal("30.000000"), longitude=Decimal("100.000000"))
    CouponTemplateFactory(code="NEARONLY", stores=["NEAR"])
    resp = api_client(world["users"]["cashier"]).get("/api/v1/store-offers", lat=30.01, lon=100.0, limit=1)
    assert resp.status_code == 200
    body = resp.json()
    assert body["count"] == 1 and body["items"][0]["code"] == "NEAR"
    assert body["items"][0]["distance_km"] == pytest.approx(1.112, abs=0.001)
    assert [t["code"] for t in body["items"][0]["coupon_templates"]] == ["NEARONLY"]
    assert api_client(world["users"]["cashier"]).get("/api/v1/store-offers", lat=95, lon=0).status_code == 422
