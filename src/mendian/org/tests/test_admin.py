import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from mendian.org.models import Location
from mendian.org.services import user_grant_role
from mendian.org.tests.factories import UserFactory
from mendian.platform.models import AuditEntry

pytestmark = pytest.mark.django_db


def _admin(user):
    c = Client()
    c.force_login(user)
    return c


def test_the_admin_is_for_hq_users_and_superusers(chain):
    ops = UserFactory(username="ops")
    user_grant_role(actor="root", user=ops, role="hq")
    assert _admin(ops).get("/admin/").status_code == 200
    root = get_user_model().objects.create_superuser("root", password="x")
    assert _admin(root).get("/admin/").status_code == 200
    # a store manager made staff by hand still cannot get in
    mgr = chain.users["manager.KM001"]
    mgr.is_staff = True
    mgr.save()
    assert _admin(mgr).get("/admin/").status_code == 302
    assert _admin(chain.users["cashier.KM001"]).get("/admin/").status_code == 302


def test_editing_a_location_in_the_admin_goes_through_the_audited_service(chain):
    ops = UserFactory(username="ops")
    user_grant_role(actor="root", user=ops, role="hq")
    c = _admin(ops)
    loc = chain.km001
    form = {"name": "昆明一店(改)", "kind": "store", "region": loc.region_id, "city": "昆明", "address": "",
            "latitude": "25.040600", "longitude": "102.712300", "area_m2": "150.00", "opens_at": "",
            "closes_at": "", "status": "active"}
    resp = c.post(f"/admin/org/location/{loc.pk}/change/", form)
    assert resp.status_code == 302, resp.content[:2000]
    assert Location.objects.get(pk=loc.pk).name == "昆明一店(改)"
    e = AuditEntry.objects.get(action="location.update")
    assert (e.actor, e.object_ref) == ("ops", "KM001")
    assert e.before == {"name": "昆明一店", "area_m2": "120.00"} and e.after == {"name": "昆明一店(改)", "area_m2": "150.00"}


def test_adding_a_role_inline_on_a_user_grants_it(chain):
    ops = UserFactory(username="ops")
    user_grant_role(actor="root", user=ops, role="hq")
    target = UserFactory(username="new.hq")
    c = _admin(ops)
    page = c.get(f"/admin/auth/user/{target.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in {"groups", "user_permissions",
                                                                                  "last_login", "date_joined"}}
    data.update({"username": "new.hq", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
                 "role_assignments-TOTAL_FORMS": "1", "role_assignments-INITIAL_FORMS": "0",
                 "role_assignments-0-role": "hq", "role_assignments-0-region": "",
                 "role_assignments-0-location": ""})
    data["is_active"] = "on"
    resp = c.post(f"/admin/auth/user/{target.pk}/change/", data)
    assert resp.status_code == 302, resp.content[:3000]
    target.refresh_from_db()
    assert target.is_staff and target.role_assignments.get().role == "hq"
    assert AuditEntry.objects.filter(action="user.grant_role", object_ref="new.hq").count() == 1


def test_the_admin_sign_in_is_throttled_like_the_api(chain):
    from mendian.platform.models import LoginAttempt

    ops = UserFactory(username="ops")
    user_grant_role(actor="root", user=ops, role="hq")
    c = Client()
    for _ in range(5):
        resp = c.post("/admin/login/", {"username": "ops", "password": "wrong"})
        assert resp.status_code == 200  # the form again, with an error
    resp = c.post("/admin/login/", {"username": "ops", "password": "demo"})
    assert resp.status_code == 429
    assert c.get("/admin/").status_code == 302  # not signed in
    assert LoginAttempt.objects.filter(username="ops", success=False).count() == 5
    assert not LoginAttempt.objects.filter(success=True).exists()
