import datetime as dt
from decimal import Decimal

import pytest

from mendian.core.errors import Conflict, InvalidInput
from mendian.org.models import Location, Region, RoleAssignment
from mendian.org.services import (
    location_create,
    location_update,
    region_create,
    region_update,
    user_grant_role,
    user_revoke_role,
)
from mendian.org.tests.factories import UserFactory
from mendian.platform.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_creating_and_updating_a_location_is_audited(chain):
    loc = location_create(actor=chain.users["hq"], code="KM002", name="昆明二店", region=chain.km,
                          latitude=Decimal("25.1"), longitude=Decimal("102.7"), area_m2=Decimal("300"),
                          opens_at=dt.time(8), closes_at=dt.time(22))
    assert Location.objects.get(code="KM002").region == chain.km
    location_update(actor=chain.users["hq"], location=loc, name="昆明二店(新)", status="closed")
    entries = list(AuditEntry.objects.filter(object_ref="KM002").order_by("id"))
    assert [(e.actor, e.action) for e in entries] == [("hq", "location.create"), ("hq", "location.update")]
    assert entries[0].after["name"] == "昆明二店" and entries[0].after["opens_at"] == "08:00:00"
    assert entries[1].before == {"name": "昆明二店", "status": "active"}
    assert entries[1].after == {"name": "昆明二店(新)", "status": "closed"}


def test_an_update_that_changes_nothing_writes_no_entry(chain):
    location_update(actor="hq", location=chain.km001, name=chain.km001.name)
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(("fields", "field"), [
    ({"code": "km002"}, "code"),
    ({"kind": "shop"}, "kind"),
    ({"latitude": Decimal("91")}, "latitude"),
    ({"area_m2": Decimal("-1")}, "area_m2"),
])
def test_invalid_locations_are_refused_and_nothing_is_written(chain, fields, field):
    args = {"code": "KM002", "name": "x", "region": chain.km, **fields}
    with pytest.raises(InvalidInput) as exc:
        location_create(actor="hq", **args)
    assert exc.value.details["field"] == field
    assert not Location.objects.filter(code__iexact="KM002").exists() and not AuditEntry.objects.exists()


def test_a_duplicate_location_code_is_a_conflict(chain):
    with pytest.raises(Conflict):
        location_create(actor="hq", code="KM001", name="again", region=chain.km)
    assert not AuditEntry.objects.exists()


def test_regions_are_created_audited_and_cannot_loop(chain):
    qj = region_create(actor="hq", code="QJ", name="曲靖", parent=chain.hq_region)
    assert AuditEntry.objects.get(action="region.create").object_ref == "QJ"
    with pytest.raises(InvalidInput):
        region_update(actor="hq", region=chain.km, parent=chain.kmn)
    with pytest.raises(InvalidInput):
        region_create(actor="hq", code="qj2", name="bad")
    region_update(actor="hq", region=qj, name="曲靖区域")
    assert Region.objects.get(code="QJ").name == "曲靖区域"
    assert AuditEntry.objects.filter(action="region.update").count() == 1


def test_granting_hq_makes_staff_and_revoking_takes_it_away(chain):
    user = UserFactory(username="ops")
    a = user_grant_role(actor="root", user=user, role="hq")
    user.refresh_from_db()
    assert user.is_staff and user.groups.filter(name="hq").exists()
    assert user.has_perm("catalog.change_sku") and not user.has_perm("org.view_pii")
    user_revoke_role(actor="root", assignment=a)
    user.refresh_from_db()
    assert not user.is_staff and not user.groups.exists()
    assert list(AuditEntry.objects.filter(object_ref="ops").values_list("action", flat=True).order_by("id")) == [
        "user.grant_role", "user.revoke_role"]


def test_store_roles_do_not_make_staff(chain):
    user = UserFactory(username="mgr")
    user_grant_role(actor="root", user=user, role="store_manager", location=chain.km001)
    user.refresh_from_db()
    assert not user.is_staff


@pytest.mark.parametrize(("role", "where"), [
    ("store_manager", {}), ("cashier", {"region": "km"}), ("region", {"location": "km001"}),
    ("hq", {"location": "km001"}), ("boss", {}),
])
def test_a_role_must_sit_at_its_kind_of_scope(chain, role, where):
    kwargs = {k: getattr(chain, v) for k, v in where.items()}
    with pytest.raises(InvalidInput):
        user_grant_role(actor="root", user=UserFactory(), role=role, **kwargs)
    assert RoleAssignment.objects.count() == len(chain.users) - 1  # only the fixture's
